/*
 * cleanup-session - one message through cleanup(8): "begin" creates the
 * queue file (its ID goes back to the client at once), each "rcpt" is
 * rewritten (canonical, virtual alias expansion), the content streams
 * through the header pass (and the content checks, unless the client asks
 * for none) into the file with message_size_limit enforced, and at the end
 * the file is committed durably before the client hears "ok". What the
 * checks decided is carried out here: REJECT refuses the message (a local
 * submission is queued to bounce to its sender instead, through the error
 * transport, as Postfix bounces it), DISCARD answers "ok" and keeps
 * nothing, HOLD commits into hold/, FILTER and REDIRECT are written into
 * the file for qmgr, BCC adds recipients. Anything short of that is a reject or defer reply and the file is
 * removed. A connection carries one message after another. Logs "ID: message-id=<...>" and tells qmgr about new mail.
 */
import type { Socket } from 'node:net';
import type { CleanupFailure, CleanupReply, CleanupRequest } from '../global/cleanup-clnt.js';
import { isTemporary, PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import { QMGR_TRIGGER, triggerQmgr } from '../global/trigger-clnt.js';
import { QueueFileWriter } from '../global/queue/queue-file-write.js';
import { REC } from '../global/queue/queue-records.js';
import { FRAME, FramedConnection, type Frame } from '../util/ipc-frame.js';
import { msg } from '../util/msg.js';
import { MessageInspector, type ContentChecks, type Disposition } from './cleanup-content-checks.js';
import { HeaderPass } from './cleanup-headers.js';
import { ExpansionError, type CleanupRewriter } from './cleanup-rewrite.js';

/** The client closed the connection mid-message (an SMTP client that quit after RCPT): not worth a warning. */
class ClientGone extends Error {}

type Failure = CleanupFailure;

function defer(text: string): Failure {
  return { status: 'defer', dsn: '4.3.0', text };
}

/**
 * Serves one client connection: one message after another, for as long as
 * the client keeps the connection (cleanup-clnt.ts reuses it) and this
 * process is not retiring.
 */
export async function cleanupSession(socket: Socket, params: Params, rewriter: CleanupRewriter, checks: ContentChecks, retiring: () => boolean): Promise<void> {
  const conn = new FramedConnection(socket);
  const timeout = params.ipc_timeout * 1000;
  const dropHeaders: ReadonlySet<string> = new Set(params.message_drop_headers.map((name) => name.toLowerCase()));
  for (;;) {
    let first: Frame | undefined;
    try {
      first = await conn.next(timeout);
    } catch {
      return;
    }
    if (first === undefined) return;
    const begin = (first.kind === FRAME.json ? JSON.parse(first.payload.toString('utf8')) : {}) as CleanupRequest;
    if (begin.op !== 'begin') throw new Error(`expected begin, got ${begin.op ?? `frame kind ${first.kind}`}`);
    const reusable = await cleanupMessage(conn, begin, params, rewriter, checks, dropHeaders);
    if (!reusable || retiring()) return;
  }
}

/** Reads and drops the client's frames up to its end frame; false when the client went away first. */
async function skipToEnd(conn: FramedConnection, timeout: number): Promise<boolean> {
  for (;;) {
    const frame = await conn.next(timeout).catch(() => undefined);
    if (frame === undefined) return false;
    if (frame.kind === FRAME.end) return true;
  }
}

/**
 * Carries out what the content checks decided, once the content is
 * written; returns the failure a REJECT of network mail is, else undefined.
 */
function carryOut(d: Disposition, writer: QueueFileWriter, params: Params, local: boolean): Failure | undefined {
  if (d.reject !== undefined && !local) return { status: 'reject', ...d.reject };
  if (d.discard) return undefined;
  for (const address of d.bcc) writer.recipient({ address, original: address, notify: 'NEVER', orcpt: '' });
  // A rejected local submission bounces to its sender: the error transport fails every recipient with the reason.
  const filter = d.reject !== undefined ? `error:${d.reject.dsn} ${d.reject.text}` : d.redirect === undefined ? d.filter : undefined;
  if (filter !== undefined) writer.route(REC.filter, filter);
  if (d.redirect !== undefined && d.reject === undefined) writer.route(REC.redirect, d.redirect);
  if (d.hold && d.reject === undefined) writer.publishIn('hold', params.queue_directory);
  return undefined;
}

/**
 * What becomes of the message: what content checks decided, with what
 * smtpd's access tables asked of the whole message. Either may discard or
 * hold it; smtpd's FILTER came first (at RCPT), so a content check's wins,
 * as the last one does in Postfix; the receiving service's content_filter
 * comes after both, and a REDIRECT from either overrides every FILTER
 * (carryOut).
 */
function messageDisposition(checked: Disposition | undefined, smtpd: Extract<CleanupRequest, { op: 'actions' }> | undefined, contentFilter: string | undefined): Disposition {
  const d: Disposition = checked ?? { discard: false, hold: false, bcc: [] };
  const filter = d.filter ?? smtpd?.filter ?? contentFilter;
  return {
    ...d,
    discard: d.discard || smtpd?.discard === true,
    hold: d.hold || smtpd?.hold === true,
    redirect: d.redirect ?? smtpd?.redirect,
    ...(filter === undefined ? {} : { filter }),
  };
}

/** One message; resolves true when the connection may carry another. */
async function cleanupMessage(
  conn: FramedConnection,
  begin: Extract<CleanupRequest, { op: 'begin' }>,
  params: Params,
  rewriter: CleanupRewriter,
  checks: ContentChecks,
  dropHeaders: ReadonlySet<string>,
): Promise<boolean> {
  const socket = conn.socket;
  const timeout = params.ipc_timeout * 1000;
  let writer: QueueFileWriter;
  try {
    writer = await QueueFileWriter.create(params.queue_directory);
  } catch (err) {
    msg.warn(`cannot create a queue file: ${(err as Error).message}`);
    await conn.sendJson(defer('Error: queue file write error'));
    return false;
  }
  let committed = false;
  let endSeen = false;
  try {
    await conn.sendJson({ status: 'ok', id: writer.id } satisfies CleanupReply);
    const mappings = begin.noAddressMappings !== true;
    const sender = mappings ? await rewriter.sender(begin.sender) : rewriter.rewriteOnly(begin.sender);
    writer.envelope({ arrival: begin.arrival, sender, attrs: begin.attrs, probe: begin.probe === true });
    // always_bcc, sender_bcc_maps and recipient_bcc_maps copy mail from outside; no_address_mappings turns them off, as in Postfix.
    const copies = mappings && begin.fromOutside === true;
    const blindCopies = new Set(copies ? await rewriter.senderBcc(sender) : []);
    if (copies && params.always_bcc !== '') blindCopies.add(params.always_bcc);
    let firstRecipient = '';
    const inspector =
      checks.any && begin.noHeaderBodyChecks !== true
        ? new MessageInspector(checks, { queueId: writer.id, attrs: begin.attrs, sender, recipient: () => firstRecipient })
        : undefined;
    const headers = new HeaderPass({
      addMissing: begin.local || params.always_add_missing_headers,
      dropHeaders,
      sender,
      myhostname: params.myhostname,
      queueId: writer.id,
      undisclosedHeader: params.undisclosed_recipients_header === '' ? 'To: undisclosed-recipients:;' : params.undisclosed_recipients_header,
      headerSizeLimit: params.header_size_limit,
      extractRecipients: begin.extractRecipients === true,
      fullName: begin.fullName ?? '',
      ...(mappings ? { rewriteAddress: (address: string, addressClass: string) => rewriter.masquerade(address, addressClass) } : {}),
      ...(inspector === undefined
        ? {}
        : { inspection: { inspector, mime: { mime: !params.disable_mime_input_processing, nestingLimit: params.mime_nesting_limit, bodyLimit: params.body_checks_size_limit } } }),
    });
    let failure: Failure | undefined;
    let recipients = 0;
    /** smtpd's message actions, and recipients (BCC) sent while the content was being written. */
    let actions: Extract<CleanupRequest, { op: 'actions' }> | undefined;
    const lateRecipients: Extract<CleanupRequest, { op: 'rcpt' }>[] = [];
    const startContent = (): void => {
      if (!writer.contentStarted) writer.beginContent();
    };
    for (;;) {
      const frame = await conn.next(timeout);
      if (frame === undefined) throw new ClientGone('the client went away before the end of the message');
      if (frame.kind === FRAME.json) {
        const request = JSON.parse(frame.payload.toString('utf8')) as CleanupRequest;
        if (request.op === 'actions') actions = request;
        if (request.op !== 'rcpt' || failure !== undefined) continue;
        if (writer.contentStarted) {
          lateRecipients.push(request);
          continue;
        }
        try {
          if (firstRecipient === '') firstRecipient = request.address;
          for (const address of mappings ? await rewriter.recipients(request.address) : [rewriter.rewriteOnly(request.address)]) {
            writer.recipient({ address, original: request.original, notify: request.notify, orcpt: request.orcpt });
            recipients++;
          }
          if (copies) for (const bcc of await rewriter.recipientBcc(request.address)) blindCopies.add(bcc);
        } catch (err) {
          if (err instanceof ExpansionError) failure = { status: 'reject', dsn: err.dsn, text: err.message };
          else if (isTemporary(err)) failure = defer('Error: temporary failure in address lookup');
          else failure = { status: 'reject', dsn: '5.1.0', text: 'Error: address lookup failed' };
          msg.warn(`${writer.id}: recipient ${request.address}: ${(err as Error).message}`);
        }
      } else if (frame.kind === FRAME.data) {
        if (failure !== undefined) continue;
        startContent();
        await writer.writeContent(await headers.write(frame.payload));
        if (params.message_size_limit > 0 && writer.contentSize > params.message_size_limit) {
          failure = { status: 'reject', dsn: '5.3.4', text: 'Message size exceeds fixed limit' };
        }
      } else if (frame.kind === FRAME.end) {
        endSeen = true;
        break;
      }
    }
    if (failure === undefined) {
      startContent();
      await writer.writeContent(await headers.finish());
      await writer.endContent();
      for (const late of lateRecipients) {
        for (const address of await rewriter.recipients(late.address)) {
          writer.recipient({ address, original: late.original, notify: late.notify, orcpt: late.orcpt });
          recipients++;
        }
      }
      for (const address of headers.result.extracted) {
        for (const rewritten of mappings ? await rewriter.recipients(address) : [rewriter.rewriteOnly(address)]) {
          writer.recipient({ address: rewritten, original: address, notify: '', orcpt: '' });
          recipients++;
        }
        if (copies) for (const bcc of await rewriter.recipientBcc(address)) blindCopies.add(bcc);
      }
      // Blind copies ask for no delivery reports (NOTIFY=NEVER) and go through virtual aliases like any recipient.
      for (const bcc of blindCopies) {
        for (const address of await rewriter.recipients(bcc)) writer.recipient({ address, original: bcc, notify: 'NEVER', orcpt: '' });
      }
      const disposition = messageDisposition(inspector?.disposition, actions, begin.contentFilter);
      const verdict = carryOut(disposition, writer, params, begin.local);
      if (verdict !== undefined) failure = verdict;
      else if (disposition.discard) {
        await writer.abort();
        await conn.sendJson({ status: 'ok', id: writer.id } satisfies CleanupReply);
        return true;
      } else if (headers.result.hops > params.hopcount_limit) {
        failure = { status: 'reject', dsn: '5.4.6', text: 'Too many hops' };
      } else if (recipients === 0) {
        failure = { status: 'reject', dsn: '5.1.3', text: 'No recipients specified' };
      }
    }
    if (failure !== undefined) {
      // A content check's REJECT was logged in Postfix's words already.
      if (inspector?.disposition.reject === undefined) msg.info(`${writer.id}: ${failure.status}: ${failure.text}`);
      await writer.abort();
      await conn.sendJson(failure);
      return true;
    }
    await writer.commit();
    committed = true;
    if (headers.result.messageId !== '') msg.info(`${writer.id}: message-id=${headers.result.messageId}`);
    await conn.sendJson({ status: 'ok', id: writer.id } satisfies CleanupReply);
    if (writer.destination === 'hold') return true;
    void triggerQmgr(params.queue_directory, QMGR_TRIGGER.scanIncoming);
    return true;
  } catch (err) {
    if (!committed) {
      await writer.abort();
      if (!(err instanceof ClientGone)) msg.warn(`${writer.id}: ${(err as Error).message}`);
      // A failed write (a full disk, an I/O error) is said as Postfix says it; anything else is an internal error.
      const written = err instanceof PetrelError ? err.code === 'io' : typeof (err as NodeJS.ErrnoException).code === 'string';
      // The client may still be sending content: it hears the reply after its end frame, not a closed connection.
      const listening = !(err instanceof ClientGone) && (endSeen || (await skipToEnd(conn, timeout)));
      if (listening && !socket.destroyed) await conn.sendJson(defer(written ? 'Error: queue file write error' : 'Error: internal error')).catch(() => undefined);
    }
    if (committed) throw err;
    return false;
  }
}

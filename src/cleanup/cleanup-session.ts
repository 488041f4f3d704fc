/*
 * cleanup-session - one message through cleanup(8): "begin" creates the
 * queue file (its ID goes back to the client at once), each "rcpt" is
 * rewritten (canonical, virtual alias expansion), the content streams
 * through the header pass into the file with message_size_limit enforced,
 * and at the end the file is committed durably before the client hears
 * "ok". Anything short of that is a reject or defer reply and the file is
 * removed. A connection carries one message after another. Logs "ID: message-id=<...>" and tells qmgr about new mail.
 */
import type { Socket } from 'node:net';
import type { CleanupFailure, CleanupReply, CleanupRequest } from '../global/cleanup-clnt.js';
import { isTemporary, PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import { QMGR_TRIGGER, triggerQmgr } from '../global/trigger-clnt.js';
import { QueueFileWriter } from '../global/queue/queue-file-write.js';
import { FRAME, FramedConnection, type Frame } from '../util/ipc-frame.js';
import { msg } from '../util/msg.js';
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
export async function cleanupSession(socket: Socket, params: Params, rewriter: CleanupRewriter, retiring: () => boolean): Promise<void> {
  const conn = new FramedConnection(socket);
  const timeout = params.ipc_timeout * 1000;
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
    const reusable = await cleanupMessage(conn, begin, params, rewriter);
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

/** One message; resolves true when the connection may carry another. */
async function cleanupMessage(conn: FramedConnection, begin: Extract<CleanupRequest, { op: 'begin' }>, params: Params, rewriter: CleanupRewriter): Promise<boolean> {
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
    const sender = await rewriter.sender(begin.sender);
    writer.envelope({ arrival: begin.arrival, sender, attrs: begin.attrs });
    const headers = new HeaderPass({
      addMissing: begin.local || params.always_add_missing_headers,
      removeBcc: begin.local,
      sender,
      myhostname: params.myhostname,
      queueId: writer.id,
      undisclosedHeader: params.undisclosed_recipients_header === '' ? 'To: undisclosed-recipients:;' : params.undisclosed_recipients_header,
      headerSizeLimit: params.header_size_limit,
      extractRecipients: begin.extractRecipients === true,
      fullName: begin.fullName ?? '',
      rewriteAddress: (address, addressClass) => rewriter.masquerade(address, addressClass),
    });
    let failure: Failure | undefined;
    let recipients = 0;
    /** smtpd's message actions, and recipients (BCC) sent while the content was being written. */
    let actions: Extract<CleanupRequest, { op: 'actions' }> | undefined;
    const lateRecipients: Extract<CleanupRequest, { op: 'rcpt' }>[] = [];
    const startContent = (): void => {
      if (writer.contentStarted) return;
      if (params.always_bcc !== '') {
        writer.recipient({ address: params.always_bcc, original: params.always_bcc, notify: 'NEVER', orcpt: '' });
        recipients++;
      }
      writer.beginContent();
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
          for (const address of await rewriter.recipients(request.address)) {
            writer.recipient({ address, original: request.original, notify: request.notify, orcpt: request.orcpt });
            recipients++;
          }
        } catch (err) {
          if (err instanceof ExpansionError) failure = { status: 'reject', dsn: err.dsn, text: err.message };
          else if (isTemporary(err)) failure = defer('Error: temporary failure in address lookup');
          else failure = { status: 'reject', dsn: '5.1.0', text: 'Error: address lookup failed' };
          msg.warn(`${writer.id}: recipient ${request.address}: ${(err as Error).message}`);
        }
      } else if (frame.kind === FRAME.data) {
        if (failure !== undefined) continue;
        startContent();
        await writer.writeContent(headers.write(frame.payload));
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
      await writer.writeContent(headers.finish());
      await writer.endContent();
      for (const late of lateRecipients) {
        for (const address of await rewriter.recipients(late.address)) {
          writer.recipient({ address, original: late.original, notify: late.notify, orcpt: late.orcpt });
          recipients++;
        }
      }
      if (actions?.redirect !== undefined) writer.attribute('redirect', actions.redirect);
      if (actions?.filter !== undefined) writer.attribute('filter', actions.filter);
      for (const address of headers.result.extracted) {
        for (const rewritten of await rewriter.recipients(address)) {
          writer.recipient({ address: rewritten, original: address, notify: '', orcpt: '' });
          recipients++;
        }
      }
      if (headers.result.hops > params.hopcount_limit) {
        failure = { status: 'reject', dsn: '5.4.6', text: 'Too many hops' };
      } else if (recipients === 0) {
        failure = { status: 'reject', dsn: '5.1.3', text: 'No recipients specified' };
      }
    }
    if (failure !== undefined) {
      msg.info(`${writer.id}: ${failure.status}: ${failure.text}`);
      await writer.abort();
      await conn.sendJson(failure);
      return true;
    }
    if (actions?.discard === true) {
      // DISCARD: the client hears "queued", the message goes nowhere (smtpd logged why).
      await writer.abort();
      await conn.sendJson({ status: 'ok', id: writer.id } satisfies CleanupReply);
      return true;
    }
    await writer.commit(actions?.hold === true ? 'hold' : undefined);
    committed = true;
    if (headers.result.messageId !== '') msg.info(`${writer.id}: message-id=${headers.result.messageId}`);
    await conn.sendJson({ status: 'ok', id: writer.id } satisfies CleanupReply);
    if (actions?.hold === true) return true;
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

/*
 * cleanup-clnt - how smtpd and pickup hand a message to cleanup (DESIGN §1):
 * connect to $queue_directory/public/cleanup, "begin" with the envelope (the
 * reply carries the queue ID), one "rcpt" per recipient, the content as data
 * frames (LF line endings), an end frame, then cleanup's verdict: the queue
 * ID once the file is durable, or a reject/defer status with its text. The
 * request and reply shapes are shared with the cleanup daemon. A connection
 * that finished a message is kept for the next one (ipc-pool.ts); one that
 * cleanup closed meanwhile is replaced by a new one.
 */
import { join } from 'node:path';
import { FRAME, type FramedConnection } from '../util/ipc-frame.js';
import { keepConnection, openPooled } from '../util/ipc-pool.js';
import type { Params } from './params/param-registry.js';

/** The cleanup service socket, relative to the queue directory. */
export const CLEANUP_SOCKET = join('public', 'cleanup');

/** Client → cleanup requests. */
export type CleanupRequest =
  | {
      readonly op: 'begin';
      readonly sender: string;
      readonly arrival: number;
      readonly attrs: Readonly<Record<string, string>>;
      /** True for local submissions (sendmail, pickup): missing headers are added, Bcc removed. */
      readonly local: boolean;
      /** Add the To:, Cc: and Bcc: addresses as recipients (sendmail -t). */
      readonly extractRecipients?: boolean;
      /** The sender's full name for an added From: header (sendmail -F). */
      readonly fullName?: string;
      /** Skip header_checks, mime_header_checks, nested_header_checks and body_checks (receive_override_options, Petrel's own notices). */
      readonly noHeaderBodyChecks?: boolean;
      /** Skip canonical, masquerading and virtual alias mapping (receive_override_options no_address_mappings). */
      readonly noAddressMappings?: boolean;
      /** The receiving service's content_filter: the message's FILTER unless a FILTER or REDIRECT action gives another. */
      readonly contentFilter?: string;
      /** Mail from outside (smtpd, pickup), not Petrel's own notices or forwarding: always_bcc and the BCC maps apply (Postfix's BCC_OK). */
      readonly fromOutside?: boolean;
      /** An address verification probe from the verify service: flagged in the queue file so that nothing is delivered. */
      readonly probe?: boolean;
    }
  | { readonly op: 'rcpt'; readonly address: string; readonly original: string; readonly notify: string; readonly orcpt: string }
  /** What smtpd's access tables asked of the whole message (sent before the end): hold it, discard it, send it to one address or through a content filter. */
  | { readonly op: 'actions'; readonly hold: boolean; readonly discard: boolean; readonly redirect?: string; readonly filter?: string };

/** Cleanup → client replies. */
export type CleanupReply =
  | { readonly status: 'ok'; readonly id: string }
  | { readonly status: 'reject' | 'defer'; readonly dsn: string; readonly text: string };

/** A cleanup reply that is not "ok". */
export type CleanupFailure = Exclude<CleanupReply, { readonly status: 'ok' }>;

/** What a receiving service (smtpd, pickup) asks of cleanup for each message: its receive_override_options and content_filter, and the blind copies mail from outside gets. */
export function receivingOptions(params: Pick<Params, 'receive_override_options' | 'content_filter'>): { noHeaderBodyChecks: boolean; noAddressMappings: boolean; contentFilter?: string; fromOutside: true } {
  const options = params.receive_override_options;
  const filter = params.content_filter.trim();
  return { noHeaderBodyChecks: options.includes('no_header_body_checks'), noAddressMappings: options.includes('no_address_mappings'), ...(filter === '' ? {} : { contentFilter: filter }), fromOutside: true };
}

/** What a client needs of the configuration. */
export type CleanupClientParams = Pick<Params, 'queue_directory' | 'ipc_timeout' | 'ipc_idle'>;

/** One message being handed to cleanup. */
export class CleanupClient {
  private constructor(
    private readonly conn: FramedConnection,
    private readonly params: CleanupClientParams,
    private readonly path: string,
    readonly id: string,
  ) {}

  /** Begins a message on a kept or a new connection; the reply names its queue ID. */
  static async begin(params: CleanupClientParams, request: Extract<CleanupRequest, { op: 'begin' }>): Promise<CleanupClient | CleanupFailure> {
    const path = join(params.queue_directory, CLEANUP_SOCKET);
    const timeoutMs = params.ipc_timeout * 1000;
    const { conn, result: reply } = await openPooled(path, timeoutMs, async (c) => {
      await c.sendJson(request);
      return c.nextJson<CleanupReply>(timeoutMs);
    });
    if (reply.status !== 'ok') {
      conn.close();
      return reply;
    }
    return new CleanupClient(conn, params, path, reply.id);
  }

  /** Adds a recipient. Recipients and content are held and leave together (cleanup answers only at the end). */
  recipient(rcpt: Omit<Extract<CleanupRequest, { op: 'rcpt' }>, 'op'>): Promise<void> {
    this.conn.hold();
    return this.conn.sendJson({ op: 'rcpt', ...rcpt } satisfies CleanupRequest);
  }

  /** Passes on the message actions of smtpd's access tables. */
  actions(actions: Omit<Extract<CleanupRequest, { op: 'actions' }>, 'op'>): Promise<void> {
    this.conn.hold();
    return this.conn.sendJson({ op: 'actions', ...actions } satisfies CleanupRequest);
  }

  /** Sends a chunk of content (LF line endings). */
  content(chunk: Buffer): Promise<void> {
    this.conn.hold();
    return this.conn.send(FRAME.data, chunk);
  }

  /** Ends the content and waits for cleanup's verdict. */
  async finish(): Promise<CleanupReply> {
    await this.conn.send(FRAME.end, Buffer.alloc(0));
    this.conn.release();
    let reply: CleanupReply;
    try {
      reply = await this.conn.nextJson<CleanupReply>(this.params.ipc_timeout * 1000);
    } catch (err) {
      this.conn.close();
      throw err;
    }
    keepConnection(this.path, this.conn, this.params.ipc_idle);
    return reply;
  }

  /** Abandons the message (the client went away); cleanup discards the file. */
  abort(): void {
    this.conn.socket.destroy();
  }
}

/**
 * Queues a notice Petrel writes itself: from sender to one recipient, as a
 * local submission (missing headers added), the content as given; returns
 * its queue ID, or throws when cleanup refuses it. probe: the message is
 * an address verification probe (verify(8)).
 */
export async function postNotice(params: CleanupClientParams, sender: string, recipient: string, content: Iterable<Buffer>, probe = false): Promise<string> {
  // As Postfix's internal mail, a notice is not inspected by header or body checks.
  const opened = await CleanupClient.begin(params, { op: 'begin', sender, arrival: Date.now(), attrs: { rewrite_context: 'local' }, local: true, noHeaderBodyChecks: true, probe });
  if (!(opened instanceof CleanupClient)) throw new Error(`cleanup refused the notice: ${opened.text}`);
  await opened.recipient({ address: recipient, original: recipient, notify: '', orcpt: '' });
  for (const chunk of content) await opened.content(chunk);
  const reply = await opened.finish();
  if (reply.status !== 'ok') throw new Error(`cleanup refused the notice: ${reply.text}`);
  return reply.id;
}

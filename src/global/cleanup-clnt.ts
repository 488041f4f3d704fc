/*
 * cleanup-clnt - how smtpd and pickup hand a message to cleanup (DESIGN §1):
 * connect to $queue_directory/public/cleanup, "begin" with the envelope (the
 * reply carries the queue ID), one "rcpt" per recipient, the content as data
 * frames (LF line endings), an end frame, then cleanup's verdict: the queue
 * ID once the file is durable, or a reject/defer status with its text. The
 * request and reply shapes are shared with the cleanup daemon.
 */
import { join } from 'node:path';
import { FRAME, FramedConnection } from '../util/ipc-frame.js';

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
    }
  | { readonly op: 'rcpt'; readonly address: string; readonly original: string; readonly notify: string; readonly orcpt: string };

/** Cleanup → client replies. */
export type CleanupReply =
  | { readonly status: 'ok'; readonly id: string }
  | { readonly status: 'reject' | 'defer'; readonly dsn: string; readonly text: string };

/** A cleanup reply that is not "ok". */
export type CleanupFailure = Exclude<CleanupReply, { readonly status: 'ok' }>;

/** One message being handed to cleanup. */
export class CleanupClient {
  private constructor(
    private readonly conn: FramedConnection,
    private readonly timeoutMs: number,
    readonly id: string,
  ) {}

  /** Connects and begins a message; the reply names its queue ID. */
  static async begin(queueDirectory: string, request: Extract<CleanupRequest, { op: 'begin' }>, timeoutMs: number): Promise<CleanupClient | CleanupFailure> {
    const conn = await FramedConnection.connect(join(queueDirectory, CLEANUP_SOCKET), timeoutMs);
    await conn.sendJson(request);
    const reply = await conn.nextJson<CleanupReply>(timeoutMs);
    if (reply.status !== 'ok') {
      conn.close();
      return reply;
    }
    return new CleanupClient(conn, timeoutMs, reply.id);
  }

  /** Adds a recipient. */
  recipient(rcpt: Omit<Extract<CleanupRequest, { op: 'rcpt' }>, 'op'>): Promise<void> {
    return this.conn.sendJson({ op: 'rcpt', ...rcpt } satisfies CleanupRequest);
  }

  /** Sends a chunk of content (LF line endings). */
  content(chunk: Buffer): Promise<void> {
    return this.conn.send(FRAME.data, chunk);
  }

  /** Ends the content and waits for cleanup's verdict. */
  async finish(): Promise<CleanupReply> {
    await this.conn.send(FRAME.end, Buffer.alloc(0));
    try {
      return await this.conn.nextJson<CleanupReply>(this.timeoutMs);
    } finally {
      this.conn.close();
    }
  }

  /** Abandons the message (the client went away); cleanup discards the file. */
  abort(): void {
    this.conn.socket.destroy();
  }
}

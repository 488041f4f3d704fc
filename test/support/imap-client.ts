/*
 * imap-client - a small IMAP4rev1 client for tests that read mailboxes
 * through a real IMAP server (Dovecot): STARTTLS, LOGIN, SELECT, STATUS,
 * FETCH of header fields, GETQUOTAROOT, LOGOUT. Each command is tagged,
 * its untagged responses are collected (literals {n} read by their byte
 * count) until the tagged completion. Not used by Petrel itself.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** What a command returned: the untagged responses and the tagged completion line. */
export interface ImapResult {
  readonly untagged: readonly string[];
  readonly status: string;
}

/** An open IMAP connection. */
export class ImapClient {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private closed = false;
  private tag = 0;

  private constructor(private socket: Socket) {
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  /** Connects to 127.0.0.1:port and reads the greeting. */
  static async open(port: number): Promise<{ client: ImapClient; greeting: string }> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new ImapClient(socket);
    return { client, greeting: await client.response() };
  }

  /** Waits until the buffer holds a complete response (a line, with its literals), and takes it. */
  private async response(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const taken = this.take();
      if (taken !== undefined) return taken;
      if (this.closed) throw new Error('IMAP connection closed');
      if (Date.now() > deadline) throw new Error('timed out waiting for an IMAP response');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  /** One response from the buffer, literals inlined; undefined while it is incomplete. */
  private take(): string | undefined {
    let text = '';
    let offset = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\r\n', offset);
      if (nl < 0) return undefined;
      const line = this.buffer.subarray(offset, nl).toString('utf8');
      const literal = /\{(\d+)\}$/.exec(line);
      if (literal === null) {
        this.buffer = this.buffer.subarray(nl + 2);
        return text + line;
      }
      const size = Number(literal[1]);
      if (this.buffer.length < nl + 2 + size) return undefined;
      text += `${line}\r\n${this.buffer.subarray(nl + 2, nl + 2 + size).toString('utf8')}`;
      offset = nl + 2 + size;
    }
  }

  /** Sends a tagged command; resolves with its responses once it completes (OK, NO or BAD alike). */
  async command(line: string): Promise<ImapResult> {
    const tag = `a${++this.tag}`;
    this.socket.write(`${tag} ${line}\r\n`);
    const untagged: string[] = [];
    for (;;) {
      const response = await this.response();
      if (response.startsWith(`${tag} `)) return { untagged, status: response.slice(tag.length + 1) };
      untagged.push(response);
    }
  }

  /** STARTTLS, then the handshake on the same connection (the server's certificate is not checked). */
  async startTls(): Promise<void> {
    const { status } = await this.command('STARTTLS');
    if (!status.startsWith('OK')) throw new Error(`STARTTLS refused: ${status}`);
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
  }

  /** LOGIN with a quoted user name and password; the tagged status. */
  async login(user: string, password: string): Promise<string> {
    const quote = (text: string): string => `"${text.replace(/["\\]/g, '\\$&')}"`;
    return (await this.command(`LOGIN ${quote(user)} ${quote(password)}`)).status;
  }

  /** The Subject of every message of a mailbox, in mailbox order (SELECT, then FETCH). */
  async subjects(mailbox = 'INBOX'): Promise<string[]> {
    const selected = await this.command(`SELECT ${mailbox}`);
    if (!selected.status.startsWith('OK')) throw new Error(`SELECT ${mailbox}: ${selected.status}`);
    const exists = Number(selected.untagged.map((line) => /^\* (\d+) EXISTS/.exec(line)?.[1]).find((n) => n !== undefined));
    if (exists === 0) return [];
    const fetched = await this.command('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    if (!fetched.status.startsWith('OK')) throw new Error(`FETCH: ${fetched.status}`);
    return fetched.untagged
      .filter((line) => /^\* \d+ FETCH /.test(line))
      .map((line) => /^Subject: ?(.*)$/im.exec(line)?.[1]?.trim() ?? '');
  }

  /** STATUS counts of a mailbox: MESSAGES, UNSEEN ... as asked. */
  async status(mailbox: string, items: readonly string[]): Promise<Record<string, number>> {
    const result = await this.command(`STATUS ${mailbox} (${items.join(' ')})`);
    const line = result.untagged.find((l) => l.startsWith('* STATUS ')) ?? '';
    const counts: Record<string, number> = {};
    for (const [, name, value] of line.matchAll(/([A-Z]+) (\d+)/g)) counts[name as string] = Number(value);
    return counts;
  }

  /** GETQUOTAROOT: each resource of the mailbox's quota root as [used, limit] (STORAGE in KiB). */
  async quota(mailbox = 'INBOX'): Promise<Record<string, [number, number]>> {
    const result = await this.command(`GETQUOTAROOT ${mailbox}`);
    if (!result.status.startsWith('OK')) throw new Error(`GETQUOTAROOT: ${result.status}`);
    const line = result.untagged.find((l) => l.startsWith('* QUOTA ')) ?? '';
    const resources: Record<string, [number, number]> = {};
    for (const [, name, used, limit] of line.matchAll(/([A-Z]+) (\d+) (\d+)/g)) resources[name as string] = [Number(used), Number(limit)];
    return resources;
  }

  /** LOGOUT and close. */
  async logout(): Promise<void> {
    await this.command('LOGOUT').catch(() => undefined);
    this.socket.destroy();
  }
}

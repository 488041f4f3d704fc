/*
 * smtp-client - a small SMTP client for tests: speaks to a server on
 * loopback line by line (with or without pipelining) and records every
 * reply, so a test can check exact codes. Not used by Petrel itself.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { waitFor } from './wait.js';

/** An open SMTP conversation. */
export class SmtpClient {
  private buffer = '';
  private readonly replies: string[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;

  private constructor(private socket: Socket) {
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text;
      for (let nl = this.buffer.indexOf('\r\n'); nl >= 0; nl = this.buffer.indexOf('\r\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 2);
        this.partial.push(line);
        if (/^\d{3} /.test(line)) {
          this.replies.push(this.partial.join('\n'));
          this.partial = [];
        }
      }
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  private partial: string[] = [];

  /** Connects and reads the greeting. */
  static async open(port: number, host = '127.0.0.1'): Promise<{ client: SmtpClient; greeting: string }> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new SmtpClient(socket);
    return { client, greeting: await client.reply() };
  }

  /** Connects once something listens on port (a server still starting, a listener added by a reload) and reads the greeting. */
  static openWhenListening(port: number, host = '127.0.0.1'): Promise<{ client: SmtpClient; greeting: string }> {
    return waitFor(() => SmtpClient.open(port, host).catch(() => undefined), `a listener on ${host}:${port}`);
  }

  /** Connects with TLS from the first byte (port 465) and reads the greeting. */
  static async openTls(port: number, options: ConnectionOptions = {}): Promise<{ client: SmtpClient; greeting: string; socket: TLSSocket }> {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const client = new SmtpClient(socket);
    return { client, greeting: await client.reply(), socket };
  }

  /** STARTTLS: sends the command and, after its 220, runs the handshake on the same connection. */
  async startTls(options: ConnectionOptions = {}): Promise<TLSSocket> {
    const reply = await this.command('STARTTLS');
    if (!reply.startsWith('220')) throw new Error(`STARTTLS refused: ${reply}`);
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, ...options });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
    return secure;
  }

  /** True once the server has closed the connection. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The next complete reply (multi-line replies joined with newlines). */
  async reply(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('timed out waiting for a reply');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.replies.shift() as string;
  }

  /** Sends raw text. */
  write(text: string): void {
    this.socket.write(text);
  }

  /** Sends a command line and returns its reply. */
  async command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** A whole transaction; returns the final reply to the message. */
  async send(from: string, to: readonly string[], body: string): Promise<string> {
    const mail = await this.command(`MAIL FROM:<${from}>`);
    if (!mail.startsWith('250')) return mail;
    let accepted = 0;
    for (const rcpt of to) if ((await this.command(`RCPT TO:<${rcpt}>`)).startsWith('250')) accepted++;
    if (accepted === 0) {
      await this.command('RSET');
      return 'no recipient accepted';
    }
    const data = await this.command('DATA');
    if (!data.startsWith('354')) return data;
    const stuffed = body.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    return this.command(`${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.`);
  }

  /** QUIT and close. */
  async quit(): Promise<void> {
    await this.command('QUIT').catch(() => undefined);
    this.socket.destroy();
  }
}

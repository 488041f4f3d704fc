/*
 * smtp-bench-client - the load smtp-bench puts on a server: N sessions in
 * parallel send M messages, each on a new connection (connect, banner,
 * EHLO, MAIL, RCPT, DATA, QUIT, as an MX sees mail from the Internet; the
 * recipients taken in turn) or,
 * with reuse, all over one connection per session (MAIL, RCPT, DATA again
 * and again, QUIT at the end). A raw socket, no pipelining, and no parsing
 * beyond what finds the end of a reply (its last line has a space after the
 * code) and its code: the message is one Buffer built once, so the client
 * costs little CPU next to the server it measures. Each message's latency
 * runs from the connect (or the MAIL command with reuse) to the 250 after
 * its DATA. runSmtpSource drives Debian's smtp-source(1) with the same
 * figures instead (no latencies then). Used by smtp-bench.ts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

const SMTP_SOURCE = '/usr/sbin/smtp-source';
const SENDER = 'bench@example.org';
const HELO = 'bench.example';
/** A server silent this long fails the message. */
const REPLY_TIMEOUT_MS = 120_000;

/** What to send and where. */
export interface LoadPlan {
  readonly port: number;
  readonly sessions: number;
  readonly messages: number;
  /** Payload bytes of each message, headers not included (as smtp-source -l). */
  readonly bytes: number;
  /** Message n goes to recipients[n % recipients.length]. */
  readonly recipients: readonly string[];
  /** true: all of a session's messages on one connection; false: a connection per message. */
  readonly reuse: boolean;
}

/** What a load run saw. */
export interface LoadOutcome {
  /** When the last 250 after DATA came (performance.now()). */
  readonly acceptedAt: number;
  /** Latency of each accepted message in ms, sorted (empty when the client gives none). */
  readonly latencies: readonly number[];
  /** The messages refused or lost, with what the server said. */
  readonly failures: readonly string[];
}

/** A message: a few headers and bytes of payload in lines of 74 characters, ending in CRLF. */
export function messageBody(bytes: number, recipient: string): string {
  const line = 'The quick brown fox jumps over the lazy dog, again and again. 0123456789\r\n';
  const payload = line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
  return `From: <${SENDER}>\r\nTo: <${recipient}>\r\nSubject: bench\r\n\r\n${payload}${payload.endsWith('\r\n') ? '' : '\r\n'}`;
}

/** A connection's replies, one at a time: resolves next() with each complete reply's text. */
class ReplyReader {
  private partial = '';
  private waiting: { resolve: (reply: string) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(socket: Socket) {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.setTimeout(REPLY_TIMEOUT_MS, () => socket.destroy(new Error('timed out waiting for a reply')));
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  private onData(chunk: string): void {
    const text = this.partial === '' ? chunk : this.partial + chunk;
    // Complete when it ends a line and that last line is "ddd text" (a space after the code), not "ddd-text".
    const lastLine = text.lastIndexOf('\n', text.length - 2) + 1;
    if (!text.endsWith('\n') || text.charCodeAt(lastLine + 3) !== 32) {
      this.partial = text;
      return;
    }
    this.partial = '';
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(text);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }

  /** The next reply; rejects when it is not code. */
  async expect(code: string, command: string): Promise<void> {
    if (this.failure !== undefined) throw new Error(`${command}: ${this.failure.message}`);
    const reply = await new Promise<string>((resolve, reject) => (this.waiting = { resolve, reject })).catch((err: Error) => {
      throw new Error(`${command}: ${err.message}`);
    });
    if (!reply.startsWith(code)) throw new Error(`${command}: ${reply.trimEnd().replace(/\r?\n/g, ' | ')}`);
  }
}

async function open(port: number): Promise<{ socket: Socket; replies: ReplyReader }> {
  const socket = connect(port, '127.0.0.1');
  const replies = new ReplyReader(socket);
  await replies.expect('220', 'banner');
  socket.write(`EHLO ${HELO}\r\n`);
  await replies.expect('250', 'EHLO');
  return { socket, replies };
}

/** One transaction on an open connection; resolves when the 250 after DATA has come. */
async function transaction(socket: Socket, replies: ReplyReader, envelope: { mail: string; rcpt: string }, text: Buffer): Promise<void> {
  socket.write(envelope.mail);
  await replies.expect('250', 'MAIL');
  socket.write(envelope.rcpt);
  await replies.expect('250', 'RCPT');
  socket.write('DATA\r\n');
  await replies.expect('354', 'DATA');
  socket.write(text);
  await replies.expect('250', 'end of data');
}

async function quit(socket: Socket, replies: ReplyReader): Promise<void> {
  socket.write('QUIT\r\n');
  await replies.expect('221', 'QUIT');
  socket.end();
}

/** Sends the plan's load with the lean client; never rejects (a lost message is a failure in the outcome). */
export async function runLoad(plan: LoadPlan): Promise<LoadOutcome> {
  const text = Buffer.from(`${messageBody(plan.bytes, plan.recipients[0] as string)}.\r\n`, 'latin1');
  const envelopes = plan.recipients.map((recipient) => ({ mail: `MAIL FROM:<${SENDER}>\r\n`, rcpt: `RCPT TO:<${recipient}>\r\n` }));
  const envelope = (n: number): { mail: string; rcpt: string } => envelopes[n % envelopes.length] as { mail: string; rcpt: string };
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  let acceptedAt = performance.now();
  const accepted = (t0: number): void => {
    acceptedAt = performance.now();
    latencies.push(acceptedAt - t0);
  };
  const perConnection = async (): Promise<void> => {
    for (let n = next++; n < plan.messages; n = next++) {
      const t0 = performance.now();
      let connection: { socket: Socket; replies: ReplyReader } | undefined;
      try {
        connection = await open(plan.port);
        await transaction(connection.socket, connection.replies, envelope(n), text);
        accepted(t0);
        await quit(connection.socket, connection.replies);
      } catch (err) {
        failures.push(`message ${n}: ${(err as Error).message}`);
        connection?.socket.destroy();
      }
    }
  };
  const reused = async (): Promise<void> => {
    let connection: { socket: Socket; replies: ReplyReader } | undefined;
    try {
      connection = await open(plan.port);
      for (let n = next++; n < plan.messages; n = next++) {
        const t0 = performance.now();
        await transaction(connection.socket, connection.replies, envelope(n), text).catch((err: Error) => {
          throw new Error(`message ${n}: ${err.message}`);
        });
        accepted(t0);
      }
      await quit(connection.socket, connection.replies);
    } catch (err) {
      failures.push((err as Error).message);
      connection?.socket.destroy();
    }
  };
  await Promise.all(Array.from({ length: plan.sessions }, () => (plan.reuse ? reused() : perConnection())));
  latencies.sort((a, b) => a - b);
  return { acceptedAt, latencies, failures };
}

/** Sends the plan's load with Debian's smtp-source: no latencies; its exit marks the last acceptance. */
export async function runSmtpSource(plan: LoadPlan): Promise<LoadOutcome> {
  if (plan.recipients.length !== 1) throw new Error('smtp-source sends to one recipient: this mode needs --client node');
  const args = ['-4', '-s', String(plan.sessions), '-m', String(plan.messages), '-l', String(plan.bytes), '-f', SENDER, '-t', plan.recipients[0] as string, '-M', HELO];
  const child = spawn(SMTP_SOURCE, [...args, ...(plan.reuse ? ['-d'] : []), `127.0.0.1:${plan.port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { acceptedAt: performance.now(), latencies: [], failures: code === 0 ? [] : [`smtp-source exit status ${code}: ${stderr.trim()}`] };
}

/** The latency at quantile q of sorted latencies (undefined without any). */
export function quantile(latencies: readonly number[], q: number): number | undefined {
  if (latencies.length === 0) return undefined;
  return latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
}

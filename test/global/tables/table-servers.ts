/*
 * table-servers - small real servers on loopback for the network table
 * tests: a socketmap server (netstrings), a tcp_table server (lines), a
 * TCP forwarder placed in front of Redis or MariaDB, and one that counts
 * the MySQL queries passing through it. Each can be stopped (listener
 * closed, open connections cut) and started again on the same port, as a
 * restarted server would be. Also the set-up these tests share.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { PetrelError } from '../../../src/global/errors.js';
import { openTable } from '../../../src/global/tables/table-registry.js';
import type { LookupTable, TableOpenContext } from '../../../src/global/tables/table.js';
import { encodeNetstring, NetstringDecoder } from '../../../src/util/netstring.js';

/** Servers listening now: stopped after the file's tests, so that a failed test leaves nothing that keeps its process alive. */
const live = new Set<TestServer>();
after(() => Promise.all([...live].map((server) => server.stop())));

/** A restartable server on a fixed port (or Unix socket path). */
export class TestServer {
  /** Connections accepted since the start of the test. */
  connections = 0;

  /** Connections open now. */
  get open(): number {
    return this.sockets.size;
  }

  /** Bytes the open connections handed to the kernel: what their clients can have received. */
  get sent(): number {
    let bytes = 0;
    for (const socket of this.sockets) bytes += socket.bytesWritten - socket.writableLength;
    return bytes;
  }
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private address: number | string = 0;

  constructor(private readonly onConnection: (socket: Socket) => void) {
    this.server = this.make();
  }

  /** The TCP port (after listen on a port). */
  get port(): number {
    return this.address as number;
  }

  /** Listens on a loopback port (a new one the first time, the same one after a stop) or on path. */
  async listen(path?: string): Promise<this> {
    if (path !== undefined) this.address = path;
    const where = this.address;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      if (typeof where === 'string') this.server.listen(where, resolve);
      else this.server.listen(where, '127.0.0.1', resolve);
    });
    live.add(this);
    const bound = this.server.address();
    if (typeof where === 'number' && bound !== null && typeof bound === 'object') this.address = bound.port;
    return this;
  }

  /** Closes the listener and cuts every open connection (nothing when not listening). */
  async stop(): Promise<void> {
    if (!live.delete(this)) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server = this.make();
  }

  /** Cuts the open connections but keeps listening (a server's idle timeout). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private make(): Server {
    return createServer((socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      this.onConnection(socket);
    });
  }
}

/** A socketmap server: answer(request) is the reply payload, or raw bytes written as they are, or undefined for no reply. */
export function socketmapServer(answer: (request: string) => string | Buffer | undefined): TestServer {
  return new TestServer((socket) => {
    const decoder = new NetstringDecoder(100_000);
    socket.on('data', (chunk: Buffer) => {
      for (const request of decoder.push(chunk)) {
        const reply = answer(request.toString('utf8'));
        if (typeof reply === 'string') socket.write(encodeNetstring(reply));
        else if (reply !== undefined) socket.write(reply);
      }
    });
  });
}

/** A tcp_table server: answer(request line) is the reply line without its newline, or raw bytes, or undefined for no reply. */
export function tcpTableServer(answer: (request: string) => string | Buffer | undefined): TestServer {
  return new TestServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const reply = answer(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (typeof reply === 'string') socket.write(`${reply}\n`, 'latin1');
        else if (reply !== undefined) socket.write(reply);
      }
    });
  });
}

/** A forwarder of every connection to port on 127.0.0.1; while gate.open is false the server's bytes are dropped (a hung server). */
export function forwarder(port: number, gate: { open: boolean } = { open: true }): TestServer {
  return new TestServer((socket) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (gate.open) socket.write(chunk);
    });
  });
}

/** MySQL's command byte of a text query. */
const COM_QUERY = 0x03;

/** A forwarder to the MySQL server on port that counts the text queries (COM_QUERY packets) containing needle. */
export function queryCountingForwarder(port: number, needle: string): { server: TestServer; queries(): number } {
  let queries = 0;
  const server = new TestServer((socket) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    upstream.pipe(socket);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      // Each client packet: a 3-byte little-endian length, a sequence byte, the payload.
      while (pending.length >= 4 && pending.length >= 4 + pending.readUIntLE(0, 3)) {
        const payload = pending.subarray(4, 4 + pending.readUIntLE(0, 3));
        if (payload[0] === COM_QUERY && payload.subarray(1).toString('utf8').includes(needle)) queries++;
        pending = pending.subarray(4 + payload.length);
      }
    });
  });
  return { server, queries: () => queries };
}

/** What a finished command left behind. */
export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs program without blocking the event loop (the servers above live in this process). */
export function runAsync(program: string, args: readonly string[], input = ''): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...process.env, MAIL_CONFIG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** True when something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** The real Redis of this machine. */
export const REDIS_PORT = 6379;

/** The skip option for tests of the real Redis: false when it answers, else the reason (under CI=true, a failure instead). */
export async function needRedis(why: string): Promise<false | string> {
  if (await listening(REDIS_PORT)) return false;
  const reason = `no Redis on 127.0.0.1:${REDIS_PORT} (${why})`;
  if (process.env.CI === 'true') throw new Error(`CI must not skip: ${reason}`);
  process.stderr.write(`SKIP: ${reason}\n`);
  return reason;
}

/** A temporary folder with an empty main.cf, removed after the file's tests, and the table context for it. */
export function tableTestDir(prefix: string): { dir: string; ctx: { configDir: string } } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'main.cf'), '');
  after(() => rmSync(dir, { recursive: true }));
  return { dir, ctx: { configDir: dir } };
}

/** An assert.rejects check: a temporary PetrelError whose message matches pattern. */
export function temporary(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof PetrelError && err.temporary && pattern.test(err.message);
}

/** Runs use on the table spec opened with ctx, closing it after. */
export async function withTable<T>(spec: string, ctx: TableOpenContext, use: (table: LookupTable) => Promise<T>): Promise<T> {
  const table = await openTable(spec, ctx);
  try {
    return await use(table);
  } finally {
    await table.close();
  }
}

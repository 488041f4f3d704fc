/*
 * sql-test-support - what the SQL table tests share: asking for a running
 * database server (skipped loudly when absent, a failure under CI=true), a
 * port nothing listens on, a table configuration file written to a
 * temporary directory, and better-sqlite3 (optional) to make SQLite
 * databases with. The forwarder that stands between a table and the real
 * server is table-servers.ts's.
 */
import { writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

/** True when something accepts connections on 127.0.0.1:port. */
export function serverUp(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** The skip option for a test that needs a server on 127.0.0.1:port. */
export async function needServer(port: number, what: string): Promise<false | string> {
  const up = await serverUp(port);
  if (up) return false;
  const reason = `${what} is not running on 127.0.0.1:${port}`;
  if (process.env.CI === 'true') throw new Error(`CI must not skip: ${reason}`);
  process.stderr.write(`SKIP: ${reason}\n`);
  return reason;
}

/** What the tests use of a better-sqlite3 database. */
export interface SqliteDatabase {
  exec(sql: string): void;
  close(): void;
}

/** better-sqlite3's Database constructor. */
export type SqliteOpen = new (path: string) => SqliteDatabase;

/** The module's name in a variable, so that TypeScript does not look for its types. */
const SQLITE_MODULE = 'better-sqlite3';

/** better-sqlite3, or the reason to skip the tests that need it (a failure under CI=true). */
export async function loadSqlite(what: string): Promise<SqliteOpen | string> {
  try {
    const open = ((await import(SQLITE_MODULE)) as { default: SqliteOpen }).default;
    new open(':memory:').close();
    return open;
  } catch (err) {
    const reason = `better-sqlite3 cannot be loaded (${what}): ${(err as Error).message.split('\n')[0]}`;
    if (process.env.CI === 'true') throw new Error(`CI must not skip: ${reason}`);
    process.stderr.write(`SKIP: ${reason}\n`);
    return reason;
  }
}

/** A loopback port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Writes a table configuration file of name = value lines into dir and returns its path. */
export function writeTableFile(dir: string, name: string, settings: Record<string, string>): string {
  const path = join(dir, name);
  writeFileSync(path, Object.entries(settings).map(([key, value]) => `${key} = ${value}\n`).join(''));
  return path;
}

/*
 * ipc-pool - connections to a daemon kept for the next request: a client
 * that finished a request puts its connection here for a short idle time
 * (ipc_idle), and the next request to the same socket takes it instead of
 * connecting again, which spares a connect and the master's hand-over of
 * the socket to a worker. A connection the peer closed meanwhile is
 * dropped. Idle connections keep no process alive. Used by cleanup-clnt.ts
 * and deliver-clnt.ts through openPooled.
 */
import { FramedConnection, IpcError } from './ipc-frame.js';

/** Kept connections by socket path, newest last. */
const idle = new Map<string, FramedConnection[]>();

/** A kept, still open connection to path, or undefined. */
export function takeConnection(path: string): FramedConnection | undefined {
  const list = idle.get(path) ?? [];
  for (let conn = list.pop(); conn !== undefined; conn = list.pop()) {
    if (conn.open) {
      conn.socket.ref();
      return conn;
    }
  }
  return undefined;
}

/** Each kept connection's idle timer: one a connection, re-armed each time it is kept again. */
const idleTimers = new WeakMap<FramedConnection, { timer: NodeJS.Timeout; seconds: number }>();

/** Keeps conn for idleSeconds (0: closes it now). */
export function keepConnection(path: string, conn: FramedConnection, idleSeconds: number): void {
  if (!conn.open || idleSeconds <= 0) {
    conn.close();
    return;
  }
  const list = idle.get(path) ?? [];
  idle.set(path, list);
  list.push(conn);
  conn.socket.unref();
  // A timer a keep would leave one pending for every request of the last ipc_idle seconds (thousands under load),
  // and an old one would close the connection before it had been idle that long.
  const armed = idleTimers.get(conn);
  if (armed !== undefined && armed.seconds === idleSeconds) {
    armed.timer.refresh();
    return;
  }
  if (armed !== undefined) clearTimeout(armed.timer);
  const timer = setTimeout(() => {
    const kept = idle.get(path) ?? [];
    const at = kept.indexOf(conn);
    if (at < 0) return;
    kept.splice(at, 1);
    conn.close();
  }, idleSeconds * 1000);
  timer.unref();
  idleTimers.set(conn, { timer, seconds: idleSeconds });
}

/**
 * A kept or a new connection to path with its opening exchange done
 * (fresh: the connection is new). A kept connection the peer closed
 * meanwhile (it retired) fails the exchange with an IpcError: it is dropped
 * and the exchange runs again on a new one.
 */
export async function openPooled<T>(path: string, connectTimeoutMs: number, opening: (conn: FramedConnection, fresh: boolean) => Promise<T>): Promise<{ conn: FramedConnection; result: T }> {
  for (;;) {
    const kept = takeConnection(path);
    const conn = kept ?? (await FramedConnection.connect(path, connectTimeoutMs));
    try {
      return { conn, result: await opening(conn, kept === undefined) };
    } catch (err) {
      conn.socket.destroy();
      if (kept !== undefined && err instanceof IpcError) continue;
      throw err;
    }
  }
}

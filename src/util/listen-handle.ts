/*
 * listen-handle - the one adapter over Node's net internals that lets worker
 * processes accept on a TCP or Unix-domain socket their parent bound, as
 * Postfix's daemons accept on the sockets master(8) opened. The parent binds with
 * net._createServerHandle (what Node's own cluster module does in
 * SCHED_NONE mode): the socket is bound but the parent's event loop never
 * watches it, so the parent never accepts. It sends the native handle to
 * workers over the IPC channel (child.send(message, handle)); each worker
 * calls listen(2) on its copy through net.Server.listen(handle) and accepts
 * on it. The socket stays in the LISTEN state while any copy is open, so
 * connections wait in the kernel's backlog while no worker runs. Used by
 * master-listen.ts (binding) and the worker skeleton (accepting);
 * test/util/listen-handle.test.ts fails loudly when a Node upgrade changes
 * these internals.
 */
import net from 'node:net';
import { getSystemErrorName } from 'node:util';

/** A bound, not watched, TCP or Unix-domain socket of this process, sendable to a child over IPC. */
export interface ListenHandle {
  readonly fd: number;
  close(): void;
}

/** The native TCP handle's address query: 0, or a negative errno (libuv reports a bind's EADDRINUSE here, not at bind). */
interface TcpHandle extends ListenHandle {
  getsockname(out: object): number;
}

type CreateServerHandle = (address: string, port: number, addressType: number, fd?: number, flags?: number) => ListenHandle | number;

/** The Node internal this module depends on, or a clear error naming it. */
function createServerHandle(): CreateServerHandle {
  const internal = (net as unknown as { _createServerHandle?: unknown })._createServerHandle;
  if (typeof internal !== 'function') {
    throw new Error(`listen-handle: this Node.js (${process.version}) has no net._createServerHandle; the master cannot share listening sockets with its workers`);
  }
  return internal as CreateServerHandle;
}

/** Binds host:port (not listening yet: the first worker's listen(2) does that); throws with the errno name on failure. */
export function bindTcpHandle(host: string, port: number): ListenHandle {
  const addressType = net.isIPv6(host) ? 6 : 4;
  const handle = createServerHandle()(host, port, addressType);
  if (typeof handle === 'number') throw new Error(`${getSystemErrorName(handle)}`);
  const status = (handle as TcpHandle).getsockname({});
  if (status !== 0) {
    handle.close();
    throw new Error(`${getSystemErrorName(status)}`);
  }
  return handle;
}

/** Binds a Unix-domain socket at path (not listening yet); throws with the errno name on failure. */
export function bindUnixHandle(path: string): ListenHandle {
  const handle = createServerHandle()(path, -1, -1);
  if (typeof handle === 'number') throw new Error(`${getSystemErrorName(handle)}`);
  return handle;
}

/** True when value is a handle this module made (as it arrives in a worker's IPC message). */
export function isListenHandle(value: unknown): value is ListenHandle {
  return typeof value === 'object' && value !== null && typeof (value as { fd?: unknown }).fd === 'number' && typeof (value as { close?: unknown }).close === 'function';
}

/** Starts accepting on a handle the parent sent: listen(2) with backlog, connections to onConnection. */
export function acceptOn(handle: ListenHandle, backlog: number, onConnection: (socket: net.Socket) => void): net.Server {
  const server = net.createServer({ pauseOnConnect: true }, onConnection);
  // net.Server.listen takes a native handle as its first argument (as in Node's cluster workers).
  server.listen(handle as unknown as net.ListenOptions, backlog);
  return server;
}

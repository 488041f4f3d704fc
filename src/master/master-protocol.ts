/*
 * master-protocol - the messages the master and its worker processes
 * exchange over the Node IPC channel of each forked worker. Workers of an
 * accepting service (inet services, and the resident trigger services) get
 * the service's bound sockets with "listen" messages and accept on them
 * themselves; they report only when their load crosses a threshold, so
 * the master can start another process while the running ones are busy.
 * For the other services the master accepts each connection and hands the
 * socket over with a "connection" message, and the worker reports each
 * finished one so the master can keep maxproc. A worker says when it
 * retires (max_use, max_idle) so the master stops counting on it. Shared by
 * master-child.ts and the worker skeleton; nothing else uses these
 * messages.
 */

/** Master → worker messages. "connection" and "listen" carry a socket as their handle. */
export type MasterToWorker =
  | { readonly type: 'connection'; readonly id: number }
  /** Accept on the handle with this listen(2) backlog; take at most limit connections at once (0: no limit). */
  | { readonly type: 'listen'; readonly limit: number; readonly backlog: number }
  | { readonly type: 'wakeup' }
  | { readonly type: 'stop' }
  /** The answer to a max_idle retirement of a service's last accepting process: keep running. */
  | { readonly type: 'stay' };

/** Worker → master messages. */
export type WorkerToMaster =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number }
  /** An accepting worker's load crossed the threshold (busy: another process would help). */
  | { readonly type: 'load'; readonly busy: boolean }
  /** An accepting worker that closed its sockets at its connection limit wants them again. */
  | { readonly type: 'relisten' }
  | { readonly type: 'retire'; readonly reason: 'max_use' | 'max_idle' | 'stop' };

/** True when value is a message a worker may send. */
export function isWorkerMessage(value: unknown): value is WorkerToMaster {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  if (type === 'ready' || type === 'relisten') return true;
  if (type === 'done') return typeof (value as { id?: unknown }).id === 'number';
  if (type === 'load') return typeof (value as { busy?: unknown }).busy === 'boolean';
  if (type === 'retire') return typeof (value as { reason?: unknown }).reason === 'string';
  return false;
}

/** True when value is a message the master may send. */
export function isMasterMessage(value: unknown): value is MasterToWorker {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  if (type === 'connection') return typeof (value as { id?: unknown }).id === 'number';
  if (type === 'listen') return typeof (value as { limit?: unknown }).limit === 'number' && typeof (value as { backlog?: unknown }).backlog === 'number';
  return type === 'wakeup' || type === 'stop' || type === 'stay';
}

/*
 * master-protocol - the messages the master and its worker processes
 * exchange over the Node IPC channel of each forked worker. The master
 * accepts every connection itself and hands the socket to a worker with a
 * "connection" message; a worker reports each finished connection so the
 * master can keep maxproc, and says when it retires (max_use, max_idle) so
 * the master stops sending it work. Shared by master-child.ts and the worker
 * skeletons; nothing else uses these messages.
 */

/** Master → worker messages. A "connection" message carries the socket as its handle. */
export type MasterToWorker =
  | { readonly type: 'connection'; readonly id: number }
  | { readonly type: 'wakeup' }
  | { readonly type: 'stop' };

/** Worker → master messages. */
export type WorkerToMaster =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'retire'; readonly reason: 'max_use' | 'max_idle' | 'stop' };

/** True when value is a message a worker may send. */
export function isWorkerMessage(value: unknown): value is WorkerToMaster {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  if (type === 'ready') return true;
  if (type === 'done') return typeof (value as { id?: unknown }).id === 'number';
  if (type === 'retire') return typeof (value as { reason?: unknown }).reason === 'string';
  return false;
}

/** True when value is a message the master may send. */
export function isMasterMessage(value: unknown): value is MasterToWorker {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  if (type === 'connection') return typeof (value as { id?: unknown }).id === 'number';
  return type === 'wakeup' || type === 'stop';
}

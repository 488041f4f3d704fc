/*
 * qmgr-trigger - tells the queue manager there is new mail in incoming/,
 * as Postfix's cleanup and postsuper do: connect to public/qmgr, send one
 * trigger byte, close. Failure is not an error for the caller: the message
 * is already safe in the queue and qmgr also scans on its own timer.
 */
import { connect } from 'node:net';
import { join } from 'node:path';

/** The qmgr service socket, relative to the queue directory. */
export const QMGR_SOCKET = join('public', 'qmgr');

/** Trigger codes qmgr understands. */
export const QMGR_TRIGGER = {
  /** New mail in incoming/. */
  scanIncoming: 'I',
  /** Deliver deferred mail now (postqueue -f, petrel flush). */
  flush: 'F',
} as const;

/** Sends a trigger; resolves true when qmgr took it. */
export function triggerQmgr(queueDirectory: string, code: string, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(join(queueDirectory, QMGR_SOCKET));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.once('connect', () => socket.end(code));
    socket.once('close', (hadError) => {
      clearTimeout(timer);
      resolve(!hadError);
    });
    socket.once('error', () => undefined);
  });
}

/*
 * trigger-clnt - wakes a resident daemon, as Postfix's triggers do: connect
 * to public/qmgr (new mail in incoming/, or flush) or public/pickup (new
 * mail in maildrop/), send one trigger byte, close. Failure is not an error
 * for the caller: the mail is already safe in the queue and both daemons
 * also scan on their own timers. Triggers asked for while the same one is
 * on its way are folded into one more, sent after it: a busy cleanup wakes
 * qmgr a few times, not once per message, and no new mail is missed.
 */
import { connect } from 'node:net';
import { join } from 'node:path';

/** The trigger sockets, relative to the queue directory. */
export const TRIGGER_SOCKETS = { qmgr: join('public', 'qmgr'), pickup: join('public', 'pickup') } as const;

/** Trigger codes qmgr understands. */
export const QMGR_TRIGGER = {
  /** New mail in incoming/. */
  scanIncoming: 'I',
  /** Deliver deferred mail now (postqueue -f, petrel flush). */
  flush: 'F',
  /** Look for deferred mail that is due (postqueue -i and -s made some due now). */
  scanDeferred: 'D',
} as const;

/** Sends a trigger to qmgr; resolves true when it took it. */
export function triggerQmgr(queueDirectory: string, code: string, timeoutMs = 5000): Promise<boolean> {
  return coalesced(join(queueDirectory, TRIGGER_SOCKETS.qmgr), code, timeoutMs);
}

/** Tells pickup there is new mail in maildrop/; resolves true when it took it. */
export function triggerPickup(queueDirectory: string, timeoutMs = 5000): Promise<boolean> {
  return coalesced(join(queueDirectory, TRIGGER_SOCKETS.pickup), 'W', timeoutMs);
}

/** Triggers on their way, by socket and code; again: asked for once more meanwhile. */
const onTheirWay = new Map<string, { again: boolean; done: Promise<boolean> }>();

function coalesced(path: string, code: string, timeoutMs: number): Promise<boolean> {
  const key = `${path}\0${code}`;
  const current = onTheirWay.get(key);
  if (current !== undefined) {
    current.again = true;
    return current.done;
  }
  const state = { again: false, done: Promise.resolve(false) };
  state.done = (async () => {
    let taken: boolean;
    do {
      state.again = false;
      taken = await sendTrigger(path, code, timeoutMs);
    } while (state.again);
    onTheirWay.delete(key);
    return taken;
  })();
  onTheirWay.set(key, state);
  return state.done;
}

function sendTrigger(path: string, code: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.once('connect', () => socket.end(code));
    socket.once('close', (hadError) => {
      clearTimeout(timer);
      resolve(!hadError);
    });
    socket.once('error', () => undefined);
  });
}

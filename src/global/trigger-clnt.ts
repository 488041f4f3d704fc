/*
 * trigger-clnt - wakes a resident daemon, as Postfix's triggers do: connect
 * to public/qmgr (new mail in incoming/, or flush) or public/pickup (new
 * mail in maildrop/), send one trigger byte, close. Failure is not an error
 * for the caller: the mail is already safe in the queue and both daemons
 * also scan on their own timers. One kind of trigger goes out at most every
 * few milliseconds, requests meanwhile folded into the next one: a busy
 * cleanup wakes qmgr for several messages at once, and no new mail is missed.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The trigger sockets, relative to the queue directory. */
export const TRIGGER_SOCKETS = { qmgr: join('public', 'qmgr'), pickup: join('public', 'pickup') } as const;

/** The code of a plain wake-up: pickup's trigger, and the master's wakeup timer (master.cf's wakeup column) for every trigger server. */
export const TRIGGER_WAKEUP = 'W';

/** Trigger codes qmgr understands (and TRIGGER_WAKEUP: look at incoming and due deferred mail). */
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
  return coalesced(join(queueDirectory, TRIGGER_SOCKETS.pickup), TRIGGER_WAKEUP, timeoutMs);
}

/** The shortest time between two triggers of one kind: a busy cleanup wakes qmgr for several messages at once. */
const TRIGGER_INTERVAL_MS = 20;

/** Per socket and code: when the last trigger went out, and the next one while it waits for its turn. */
const channels = new Map<string, { lastSent: number; next: Promise<boolean> | undefined }>();

/**
 * Sends a trigger at most once per TRIGGER_INTERVAL_MS: a request while one
 * waits for its turn rides on it; a request after one went out gets one of
 * its own (later), so nothing that happens after a trigger is missed.
 */
function coalesced(path: string, code: string, timeoutMs: number): Promise<boolean> {
  const key = `${path}\0${code}`;
  let channel = channels.get(key);
  if (channel === undefined) {
    channel = { lastSent: Number.NEGATIVE_INFINITY, next: undefined };
    channels.set(key, channel);
  }
  if (channel.next !== undefined) return channel.next;
  const state = channel;
  const send = (): Promise<boolean> => {
    state.next = undefined;
    state.lastSent = Date.now();
    return sendTrigger(path, code, timeoutMs);
  };
  const wait = state.lastSent + TRIGGER_INTERVAL_MS - Date.now();
  if (wait <= 0) return send();
  state.next = sleep(wait).then(send);
  return state.next;
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

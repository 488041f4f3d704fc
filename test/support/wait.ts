/*
 * wait - how tests wait: for the condition they stand for, with a deadline,
 * never for a fixed time (a sleep is slow on an idle machine and flaky on a
 * busy one). waitFor polls a probe until it gives a value, within bounds a
 * promise by a deadline, stillPending tells whether a promise is still
 * unsettled once everything already queued has run. absenceWindow is the
 * one bounded wait left, for the few checks that something does NOT happen
 * within a time, so that each such wait says what it is.
 */
import { setImmediate as nextTurn, setTimeout as timer } from 'node:timers/promises';

/** How often waitFor looks again. */
const POLL_MS = 20;
/** The deadline of a wait when the test names none. */
export const WAIT_MS = 20_000;

/** Polls probe until it returns neither undefined nor false; fails at the deadline naming what it waited for. */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await timer(POLL_MS);
  }
}

/** Settles as promise does, or fails at the deadline naming what it waited for. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = WAIT_MS): Promise<T> {
  const controller = new AbortController();
  const expired = timer(timeoutMs, undefined, { signal: controller.signal }).then(() => {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  });
  expired.catch(() => undefined);
  try {
    return await Promise.race([promise, expired]);
  } finally {
    controller.abort();
  }
}

/** True when promise is still unsettled after every callback already queued (timers aside) has run. */
export async function stillPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await nextTurn();
  return !settled;
}

/** The bounded wait of a check that something does NOT happen: the time it is given to happen wrongly. */
export function absenceWindow(ms: number): Promise<void> {
  return timer(ms);
}

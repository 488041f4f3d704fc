/*
 * queue-id - queue IDs (DESIGN §2): letters and digits only, unique across
 * processes and restarts, and sorting by arrival time. Like Postfix's long
 * queue IDs they start with the time: 9 base-36 digits of milliseconds since
 * the epoch, then 4 of the process ID and 3 of a per-process counter, so two
 * processes never produce the same ID and one process never repeats itself
 * within a millisecond. The writer still creates the file exclusively and
 * asks for another ID on the rare collision.
 */

const TIME_DIGITS = 9;
const PID_DIGITS = 4;
const COUNTER_DIGITS = 3;
const COUNTER_LIMIT = 36 ** COUNTER_DIGITS;

/** What a queue ID looks like. */
export const QUEUE_ID_PATTERN = /^[0-9A-Z]{16}$/;

let lastMillis = 0;
let counter = 0;

/** A new queue ID. */
export function newQueueId(now: number = Date.now()): string {
  let millis = Math.max(now, lastMillis);
  if (millis === lastMillis) {
    counter++;
    if (counter >= COUNTER_LIMIT) {
      millis++;
      counter = 0;
    }
  } else {
    counter = 0;
  }
  lastMillis = millis;
  const time = millis.toString(36).toUpperCase().padStart(TIME_DIGITS, '0');
  const pid = (process.pid % 36 ** PID_DIGITS).toString(36).toUpperCase().padStart(PID_DIGITS, '0');
  return `${time}${pid}${counter.toString(36).toUpperCase().padStart(COUNTER_DIGITS, '0')}`;
}

/** True for a well-formed queue ID (also keeps path tricks such as "../x" out of queue paths). */
export function isQueueId(text: string): boolean {
  return QUEUE_ID_PATTERN.test(text);
}

/** The arrival time encoded in a queue ID, in milliseconds. */
export function queueIdTime(id: string): number {
  return parseInt(id.slice(0, TIME_DIGITS), 36);
}

/** The process IDs up to pidMax that may have made id: it holds its maker's PID modulo 36**4 only. */
export function queueIdPids(id: string, pidMax: number): number[] {
  const modulus = 36 ** PID_DIGITS;
  const pids: number[] = [];
  const residue = parseInt(id.slice(TIME_DIGITS, TIME_DIGITS + PID_DIGITS), 36);
  for (let pid = residue === 0 ? modulus : residue; pid <= pidMax; pid += modulus) pids.push(pid);
  return pids;
}

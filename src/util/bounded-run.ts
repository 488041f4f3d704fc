/*
 * bounded-run - runs a batch of synchronous jobs (regular expression
 * matches, say) with a bound on how long any one of them may take, so a
 * job that never ends (catastrophic backtracking) cannot stall the event
 * loop. The batch runs inside one vm call with a timeout (the watchdog
 * thread that enforces it costs about 0.1 ms to start, too much for each
 * match, so it is paid once per batch); when the time runs out, the job
 * that was running is blamed only if it was the first of its batch, that
 * is, it had the whole bound to itself; otherwise the batch goes on from it
 * with a fresh bound. A blamed job's result is TIMED_OUT. Used by cleanup's
 * header and body checks.
 */
import { createContext, Script } from 'node:vm';

/** The result of a job that ran out of time. */
export const TIMED_OUT = Symbol('timed out');

const context = createContext({ step: (): void => undefined });
const script = new Script('step()');

/**
 * Runs each job in order and returns their results; a job that alone takes
 * longer than boundMs is stopped and answers TIMED_OUT, and onTimeout is
 * told its index.
 */
export function runBounded<R>(jobs: readonly (() => R)[], boundMs: number, onTimeout: (index: number) => void): (R | typeof TIMED_OUT)[] {
  const results: (R | typeof TIMED_OUT)[] = [];
  let next = 0;
  while (next < jobs.length) {
    const first = next;
    context.step = (): void => {
      for (; next < jobs.length; next++) results[next] = (jobs[next] as () => R)();
    };
    try {
      script.runInContext(context, { timeout: boundMs });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
      if (next === first) {
        results[next] = TIMED_OUT;
        onTimeout(next);
        next++;
      }
    }
  }
  return results;
}

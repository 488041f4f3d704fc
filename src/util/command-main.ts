/*
 * command-main - the shared entry for every command-line program: names the
 * program for diagnostics, runs its main, turns a FatalExit into the exit
 * status and an unexpected exception into "fatal: ..." with status 1.
 * Called by each src/<command>/<command>-main.ts.
 */
import { FatalExit, msg, setProgramName } from './msg.js';

/** Runs main(argv) as program name; the promise's number is the exit status. */
export function runCommand(name: string, main: (argv: string[]) => Promise<number> | number): void {
  setProgramName(name);
  // A reader that stops early (postcat ... | head) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .then(
      (status) => {
        process.exitCode = status;
      },
      (err: unknown) => {
        if (err instanceof FatalExit) {
          process.exitCode = err.exitCode;
          return;
        }
        try {
          msg.fatal(err instanceof Error ? err.message : String(err));
        } catch {
          process.exitCode = 1;
        }
      },
    );
}

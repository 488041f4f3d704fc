/*
 * need - how a test asks for something outside the repository (a Debian
 * package's program, a running service). Outside CI a missing one skips the
 * test with the reason printed; under CI=true nothing may be skipped, so a
 * missing one fails the test instead.
 */
import { existsSync } from 'node:fs';

/** The skip option for node:test: false when path exists, else the reason (or a throw under CI). */
export function needFile(path: string, why: string): false | string {
  if (existsSync(path)) return false;
  const reason = `${path} is missing (${why})`;
  if (process.env.CI === 'true') throw new Error(`CI must not skip: ${reason}`);
  process.stderr.write(`SKIP: ${reason}\n`);
  return reason;
}

/** The skip option for a test that must run as root (to create accounts and switch users). */
export function needRoot(why: string): false | string {
  if (process.getuid?.() === 0) return false;
  const reason = `not running as root (${why})`;
  if (process.env.CI === 'true') throw new Error(`CI must not skip: ${reason}`);
  process.stderr.write(`SKIP: ${reason}\n`);
  return reason;
}

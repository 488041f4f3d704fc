/*
 * run-command - runs a built Petrel command (./bin/NAME) or a reference
 * program the way a user would, capturing stdout, stderr and the exit status.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (dist/test/support is three levels below it). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** What a finished command left behind. */
export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs program with args (and optional stdin); program is a path or ./bin/NAME. */
export function runProgram(program: string, args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): CommandResult {
  const result = spawnSync(program, args, { input, encoding: 'utf8', env: env ?? { ...process.env, MAIL_CONFIG: '' } });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the Petrel command name from this checkout's bin/. */
export function runPetrel(name: string, args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): CommandResult {
  return runProgram(join(REPO_ROOT, 'bin', name), args, input, env);
}

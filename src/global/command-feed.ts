/*
 * command-feed - runs a delivery command with the message on its standard
 * input: no shell unless the caller runs one, the environment given, under
 * a uid/gid when given, killed at the time limit, its first output line
 * kept for the delivery status, and the exit read through sysexits. Used by
 * local (|command, mailbox_command) and pipe.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { exitMeaning, type ExitMeaning } from './sysexits.js';

/** How to run the command. */
export interface FeedOptions {
  readonly env: Readonly<Record<string, string>>;
  /** The working directory (/ when it does not exist). */
  readonly cwd: string;
  readonly timeLimitSeconds: number;
  /** The uid and gid the command runs as (undefined: this process's own). */
  readonly ids?: { readonly uid: number; readonly gid: number };
}

/** Runs file with args, writing input to it; resolves undefined on success, else what the exit means. */
export async function feedCommand(file: string, args: readonly string[], input: AsyncIterable<Buffer>, options: FeedOptions): Promise<ExitMeaning | undefined> {
  const cwd = existsSync(options.cwd) ? options.cwd : '/';
  const child = spawn(file, [...args], { env: { ...options.env }, cwd, stdio: ['pipe', 'pipe', 'pipe'], ...options.ids });
  let output = '';
  const keep = (chunk: Buffer): void => {
    if (output.length < 1000) output += chunk.toString('utf8');
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeLimitSeconds * 1000);
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const failed = once(child, 'error').then(([err]) => err as Error);
  try {
    for await (const chunk of input) {
      if (!child.stdin.write(chunk)) await Promise.race([once(child.stdin, 'drain'), exited]);
      if (child.exitCode !== null || child.signalCode !== null) break;
    }
  } catch {
    // the command stopped reading: its exit status tells the rest
  }
  child.stdin.end();
  child.stdin.on('error', () => undefined);
  const ended = await Promise.race([exited, failed]);
  clearTimeout(timer);
  if (ended instanceof Error) return { dsn: '4.3.0', text: `cannot run ${file}: ${ended.message}` };
  const [code, signal] = ended;
  if (timedOut) return { dsn: '4.3.0', text: 'Command time limit exceeded' };
  if (code === 0) return undefined;
  const meaning = exitMeaning(code, signal);
  const detail = output.trim().split('\n')[0];
  return detail === undefined || detail === '' ? meaning : { dsn: meaning.dsn, text: `${meaning.text}. Command output: ${detail}` };
}

/*
 * local-command - delivery to a command (an alias's "|command", a
 * .forward's, or mailbox_command): /bin/sh -c (or local_command_shell) with
 * the environment local(8) documents (HOME, USER, LOGNAME, SHELL, SENDER,
 * RECIPIENT, LOCAL, DOMAIN, EXTENSION, ORIGINAL_RECIPIENT, plus
 * export_environment), the message on standard input, command_time_limit,
 * and the exit status read through sysexits. Addresses reach the command
 * only through the environment, never through the command line, so nothing
 * in an address can inject a command.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { exitMeaning, type ExitMeaning } from '../global/sysexits.js';
import type { MessageLines } from './local-write.js';
import { messageBytes } from './local-content.js';

/** Who the command runs for. */
export interface CommandEnv {
  readonly home: string;
  readonly user: string;
  readonly shell: string;
  readonly sender: string;
  readonly recipient: string;
  readonly local: string;
  readonly domain: string;
  readonly extension: string;
  readonly originalRecipient: string;
}

/** How to run it. */
export interface CommandOptions {
  readonly shell: string;
  readonly timeLimitSeconds: number;
  readonly exportEnvironment: readonly string[];
  /** The working directory (/ when it does not exist). */
  readonly cwd: string;
  /** The uid and gid the command runs as (undefined: this process's own). */
  readonly ids?: { readonly uid: number; readonly gid: number };
}

/** Runs command with the message on stdin; resolves undefined on success, else what the exit means. */
export async function deliverToCommand(command: string, lines: MessageLines, env: CommandEnv, options: CommandOptions): Promise<ExitMeaning | undefined> {
  const environment: Record<string, string> = {};
  for (const item of options.exportEnvironment) {
    const eq = item.indexOf('=');
    if (eq > 0) environment[item.slice(0, eq)] = item.slice(eq + 1);
    else if (process.env[item] !== undefined) environment[item] = process.env[item] as string;
  }
  Object.assign(environment, {
    HOME: env.home,
    USER: env.user,
    LOGNAME: env.user,
    SHELL: env.shell,
    SENDER: env.sender,
    RECIPIENT: env.recipient,
    LOCAL: env.local,
    DOMAIN: env.domain,
    EXTENSION: env.extension,
    ORIGINAL_RECIPIENT: env.originalRecipient,
    PATH: '/usr/bin:/bin',
  });
  const cwd = existsSync(options.cwd) ? options.cwd : '/';
  const child = spawn(options.shell, ['-c', command], { env: environment, cwd, stdio: ['pipe', 'ignore', 'pipe'], ...options.ids });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 1000) stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeLimitSeconds * 1000);
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    for await (const chunk of messageBytes(lines)) {
      if (!child.stdin.write(chunk)) await Promise.race([once(child.stdin, 'drain'), exited]);
      if (child.exitCode !== null || child.signalCode !== null) break;
    }
  } catch {
    // the command stopped reading: its exit status tells the rest
  }
  child.stdin.end();
  child.stdin.on('error', () => undefined);
  const [code, signal] = await exited;
  clearTimeout(timer);
  if (code === 0) return undefined;
  const meaning = exitMeaning(code, signal);
  const detail = stderr.trim().split('\n')[0];
  return detail === undefined || detail === '' ? meaning : { dsn: meaning.dsn, text: `${meaning.text}. Command output: ${detail}` };
}

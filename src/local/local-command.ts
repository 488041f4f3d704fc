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
import { feedCommand } from '../global/command-feed.js';
import type { ExitMeaning } from '../global/sysexits.js';
import type { MessageLines } from '../global/mailbox-write.js';
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
  return feedCommand(options.shell, ['-c', command], messageBytes(lines), {
    env: environment,
    cwd: options.cwd,
    timeLimitSeconds: options.timeLimitSeconds,
    ...(options.ids === undefined ? {} : { ids: options.ids }),
  });
}

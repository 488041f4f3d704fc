/*
 * dovecot - a private Dovecot instance (Debian's dovecot-core and
 * dovecot-lmtpd) for tests that deliver over LMTP: its own configuration,
 * run and mail folders under a temporary directory, LMTP on a UNIX socket
 * and on a loopback TCP port, and users from a passwd-file: "known" has a
 * Maildir; "broken" has a mail location that cannot be created, so Dovecot
 * answers it with a temporary failure; anyone else is unknown.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where Dovecot's binary is (the tests that need it skip, or fail under CI, without it). */
export const DOVECOT = '/usr/sbin/dovecot';

/** Starts Dovecot in the foreground on conf and waits until it has made every file of ready (its sockets). */
export async function runDovecot(conf: string, ready: readonly string[]): Promise<ChildProcess> {
  const child = spawn(DOVECOT, ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  for (let waited = 0; !ready.every((path) => existsSync(path)); waited += 50) {
    if (child.exitCode !== null || waited > 10_000) throw new Error(`dovecot did not start: ${stderr}`);
    await sleep(50);
  }
  return child;
}

/** Stops a Dovecot that runDovecot started (SIGTERM to its master) and waits until it has exited. */
export async function stopDovecot(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** A running Dovecot. */
export interface Dovecot {
  readonly socket: string;
  readonly port: number;
  /** The files in a user's Maildir new/. */
  delivered(user: string): string[];
  stop(): Promise<void>;
}

/** Starts Dovecot under dir with LMTP on port (127.0.0.1) and on dir/run/lmtp. */
export async function startDovecot(dir: string, port: number): Promise<Dovecot> {
  const run = join(dir, 'run');
  const mail = join(dir, 'mail');
  for (const sub of [run, mail]) mkdirSync(sub, { recursive: true });
  chmodSync(dir, 0o755);
  chmodSync(mail, 0o777);
  // "broken" gets a home below a regular file: its Maildir can never be created.
  writeFileSync(join(dir, 'not-a-directory'), '');
  writeFileSync(
    join(dir, 'users'),
    [`known::65534:65534::${join(mail, 'known')}::`, `broken::65534:65534::${join(dir, 'not-a-directory', 'broken')}::`, ''].join('\n'),
  );
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    [
      `base_dir = ${run}`,
      `state_dir = ${join(dir, 'state')}`,
      `log_path = ${join(dir, 'dovecot.log')}`,
      'protocols = lmtp',
      'ssl = no',
      'mail_location = maildir:~/Maildir',
      'first_valid_uid = 1',
      'lmtp_save_to_detail_mailbox = no',
      'auth_username_format = %Ln',
      `passdb {\n  driver = passwd-file\n  args = ${join(dir, 'users')}\n}`,
      `userdb {\n  driver = passwd-file\n  args = ${join(dir, 'users')}\n}`,
      `service lmtp {\n  unix_listener lmtp {\n    mode = 0666\n  }\n  inet_listener lmtp {\n    address = 127.0.0.1\n    port = ${port}\n  }\n}`,
      '',
    ].join('\n'),
  );
  const socket = join(run, 'lmtp');
  const child = await runDovecot(conf, [socket]);
  return {
    socket,
    port,
    delivered: (user) => {
      const dir = join(mail, user, 'Maildir', 'new');
      return existsSync(dir) ? readdirSync(dir) : [];
    },
    stop: async () => {
      spawnSync(DOVECOT, ['-c', conf, 'stop']);
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

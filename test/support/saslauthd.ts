/*
 * saslauthd - a private saslauthd (Debian's sasl2-bin) for the tests of
 * smtpd_sasl_type = cyrus: in the foreground (-d), forking per request
 * (-n 0), its socket in a directory of the test's own (-m), checking
 * passwords against the shadow file (-a shadow). saslauthd's sasldb
 * mechanism cannot be pointed at a private file (it always opens
 * /etc/sasldb2), so the users are system accounts without a home or a shell,
 * made with useradd for the test and removed with userdel afterwards: the
 * tests that use them need root.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encrypt } from 'unixcrypt';

/** Where saslauthd is (the tests that need it skip, or fail under CI, without it). */
export const SASLAUTHD = '/usr/sbin/saslauthd';

/** A running saslauthd. */
export interface Saslauthd {
  /** Its socket (for saslauthd_path). */
  readonly socket: string;
  /** Stops it; it removes its socket as it goes. */
  stop(): Promise<void>;
}

/** Starts saslauthd with its socket in dir/run. */
export async function startSaslauthd(dir: string): Promise<Saslauthd> {
  const run = join(dir, 'run');
  mkdirSync(run, { recursive: true });
  // Its own process group: saslauthd ends by signalling its whole group, which would otherwise take the test runner along.
  const child: ChildProcess = spawn(SASLAUTHD, ['-a', 'shadow', '-m', run, '-d', '-n', '0'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const socket = join(run, 'mux');
  for (let waited = 0; !existsSync(socket); waited += 50) {
    if (child.exitCode !== null || waited > 10_000) {
      child.kill();
      throw new Error(`saslauthd did not start: ${stderr}`);
    }
    await sleep(50);
  }
  return {
    socket,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A system account made for a test. */
export interface TestAccount {
  readonly name: string;
  remove(): void;
}

/** Runs a shadow-suite command, waiting out another process's lock on /etc/passwd (other test runs share the machine). */
function accountCommand(program: string, args: readonly string[]): void {
  for (let attempt = 0; ; attempt++) {
    const result = spawnSync(program, args, { encoding: 'utf8' });
    if (result.status === 0) return;
    if (attempt >= 20 || !/lock/i.test(result.stderr)) throw new Error(`${program} ${args.join(' ')}: ${result.stderr || result.error}`);
    spawnSync('sleep', ['0.2']);
  }
}

/** Makes a locked-down account whose password is password (SHA-512 crypt in /etc/shadow). */
export function makeTestAccount(password: string): TestAccount {
  const name = `petrel-t${randomBytes(4).toString('hex')}`;
  accountCommand('useradd', ['-M', '-N', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', '-p', encrypt(password), name]);
  return { name, remove: () => accountCommand('userdel', [name]) };
}

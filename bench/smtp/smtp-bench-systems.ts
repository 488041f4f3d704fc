/*
 * smtp-bench-systems - the two mail systems smtp-bench compares, each set
 * up in a run's folder and started by root as an operator would: Petrel
 * from the shipped conf/main.cf and conf/master.cf ("petrel -c DIR start",
 * as the systemd unit does: the master stays root, the daemons drop to
 * mail_owner, the default "petrel" account, as the shipped master.cf says),
 * and Debian's Postfix from its /usr/share/postfix/master.cf.dist and a
 * minimal main.cf ("postfix -c DIR start", a second instance beside the
 * system's, which Postfix only allows for a folder listed in
 * alternate_config_directories of /etc/postfix/main.cf). What the bench
 * changes is only what a bench must: the folders, myhostname, the SMTP
 * listener (on 127.0.0.1 and a free port), mynetworks, inet_interfaces, the
 * mail log, home_mailbox = Maildir/ (delivery by local(8) to the bench user's
 * ~/Maildir/), an aliases table of the instance's own (the two systems'
 * hash: files differ, so they cannot share /etc/aliases.db), Postfix's
 * chroot turned off (Petrel has none), and per mode: defer_transports =
 * local (accept), relayhost (relay), the TLS certificate (tls), the mysql:
 * virtual mailbox tables and their mailbox base (virtual-mysql, from
 * smtp-bench-virtual.ts), and in mode checks a Petrel with and one without
 * the restrictions of smtp-bench-checks.ts, both holding local deliveries. Both fsync
 * before 250 and before they report a delivery, by default. The accounts
 * are made here when missing: "petrel" (mail_owner) and the bench user,
 * whose home moves into each run's folder so that every run starts with an
 * empty Maildir. Used by smtp-bench.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/instance.js';
import { checksMainCf, type CheckPeers } from './smtp-bench-checks.js';
import { tlsMainCf, type BenchCertificate } from './smtp-bench-tls.js';
import { virtualMainCf, type VirtualDatabase } from './smtp-bench-virtual.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The bench's recipient: a real account, delivered to by local(8). */
export const BENCH_USER = 'petrelbench';
const MAIL_OWNER = 'petrel';
/** The myhostname of both systems: the bench user's mail domain. */
export const BENCH_HOSTNAME = 'bench.localdomain';

/** How a run loads the systems. */
export type Mode = 'mx' | 'accept' | 'reuse' | 'relay' | 'tls' | 'virtual-mysql' | 'checks';

/** Modes that measure acceptance only: local deliveries are held (defer_transports = local). */
export function acceptOnly(mode: Mode): boolean {
  return mode === 'accept' || mode === 'checks';
}

/** One system under test, set up in its folder. */
export interface BenchSystem {
  /** "Petrel", "Postfix", or in mode checks "Petrel+checks". */
  readonly name: string;
  readonly port: number;
  /** Message n goes to recipients[n % recipients.length]. */
  readonly recipients: readonly string[];
  readonly maillog: string;
  /**
   * Messages the system is done with so far: delivered (files in the
   * Maildir's new/, or "status=sent" in the mail log in modes relay and
   * virtual-mysql), or in
   * mode accept moved to the deferred queue.
   */
  finished(): number;
  start(): void;
  stop(): void;
  masterPid(): number | undefined;
}

/** What both systems of a run share. */
export interface RunSetting {
  readonly mode: Mode;
  /** smtp-sink's port (mode relay). */
  readonly sinkPort?: number;
  /** The certificate both present (mode tls). */
  readonly certificate?: BenchCertificate;
  /** The virtual mailbox database both read (mode virtual-mysql). */
  readonly virtual?: VirtualDatabase;
  /** The DNS and policy servers of the restrictions (mode checks). */
  readonly checks?: CheckPeers;
}

function account(name: string): { uid: number; gid: number } | undefined {
  const id = spawnSync('id', [name], { encoding: 'utf8' });
  if (id.status !== 0) return undefined;
  return { uid: Number(/uid=(\d+)/.exec(id.stdout)?.[1]), gid: Number(/gid=(\d+)/.exec(id.stdout)?.[1]) };
}

/** Creates the petrel (mail_owner) and bench accounts when missing, saying so. */
export function ensureAccounts(home: string): void {
  if (account(MAIL_OWNER) === undefined) {
    console.log(`(creating the system account ${MAIL_OWNER}, Petrel's default mail_owner: useradd --system)`);
    execFileSync('useradd', ['--system', '--home-dir', '/var/spool/petrel', '--no-create-home', '--shell', '/usr/sbin/nologin', MAIL_OWNER]);
  }
  if (account(BENCH_USER) === undefined) {
    console.log(`(creating the account ${BENCH_USER}, the bench's recipient: useradd -m, home ${home})`);
    execFileSync('useradd', ['--create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', BENCH_USER]);
  }
}

/** Gives the bench user an empty home at dir (usermod -d), where both systems deliver into Maildir/. */
export function moveBenchHome(dir: string): void {
  const user = account(BENCH_USER);
  if (user === undefined) throw new Error(`no account ${BENCH_USER}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, user.uid, user.gid);
  execFileSync('usermod', ['--home', dir, BENCH_USER]);
}

/** Counts "status=sent" in a growing mail log, reading only what was added since the last call. */
class SentCounter {
  private offset = 0;
  private count = 0;
  private tail = '';

  constructor(private readonly path: string) {}

  read(): number {
    if (!existsSync(this.path)) return 0;
    const fd = openSync(this.path, 'r');
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (let got = readSync(fd, chunk, 0, chunk.length, this.offset); got > 0; got = readSync(fd, chunk, 0, chunk.length, this.offset)) {
        this.offset += got;
        const text = this.tail + chunk.toString('latin1', 0, got);
        this.count += text.split('status=sent').length - 1;
        // A match split across two reads is found in the next one; one already counted cannot be whole in these last bytes.
        this.tail = text.slice(-('status=sent'.length - 1));
      }
    } finally {
      closeSync(fd);
    }
    return this.count;
  }
}

/** The files in the Maildir's new/ under home. */
function inMaildir(home: string): number {
  const dir = join(home, 'Maildir', 'new');
  return existsSync(dir) ? readdirSync(dir).length : 0;
}

/** The messages in a queue's deferred/ (Postfix spreads them over subfolders: hash_queue_names). */
function deferred(queue: string): number {
  const dir = join(queue, 'deferred');
  return existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length : 0;
}

function finishedCounter(setting: RunSetting, home: string, queue: string, maillog: string): () => number {
  if (acceptOnly(setting.mode)) return () => deferred(queue);
  if (setting.mode !== 'relay' && setting.mode !== 'virtual-mysql') return () => inMaildir(home);
  const sent = new SentCounter(maillog);
  return () => sent.read();
}

function pidFrom(path: string): number | undefined {
  const pid = Number((existsSync(path) ? readFileSync(path, 'utf8') : '').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The main.cf settings both systems get from the bench (beyond their own folders). */
function benchSettings(setting: RunSetting, etc: string, dir: string): string[] {
  const owner = account(BENCH_USER);
  if (owner === undefined) throw new Error(`no account ${BENCH_USER}`);
  return [
    `myhostname = ${BENCH_HOSTNAME}`,
    'inet_interfaces = 127.0.0.1',
    // Mode checks: the bench's client is not trusted, with or without the restrictions.
    `mynetworks = ${setting.mode === 'checks' ? '127.0.0.2/32' : '127.0.0.0/8'}`,
    'home_mailbox = Maildir/',
    `alias_maps = hash:${join(etc, 'aliases')}`,
    `alias_database = hash:${join(etc, 'aliases')}`,
    ...(acceptOnly(setting.mode) ? ['defer_transports = local'] : []),
    ...(setting.sinkPort === undefined ? [] : [`relayhost = [127.0.0.1]:${setting.sinkPort}`]),
    ...(setting.certificate === undefined ? [] : tlsMainCf(setting.certificate)),
    ...(setting.virtual === undefined ? [] : virtualMainCf(setting.virtual, etc, dir, owner)),
  ];
}

function recipientsFor(setting: RunSetting): readonly string[] {
  if (setting.virtual !== undefined) return setting.virtual.recipients;
  return [setting.mode === 'relay' ? 'sink@remote.test' : `${BENCH_USER}@${BENCH_HOSTNAME}`];
}

/** A Petrel instance in dir from the shipped conf/, delivering to the bench user's home; withChecks: with mode checks' restrictions. */
export async function petrelSystem(dir: string, setting: RunSetting, home: string, withChecks = false): Promise<BenchSystem> {
  const port = await freePort();
  const etc = join(dir, 'etc');
  const queue = join(dir, 'queue');
  const maillog = join(dir, 'maillog');
  mkdirSync(etc, { recursive: true });
  copyFileSync(join(ROOT, 'conf', 'main.cf'), join(etc, 'main.cf'));
  copyFileSync('/etc/aliases', join(etc, 'aliases'));
  const master = readFileSync(join(ROOT, 'conf', 'master.cf'), 'utf8');
  const listener = master.replace(/^smtp(\s+)inet\b/m, `127.0.0.1:${port} inet`);
  if (listener === master) throw new Error('conf/master.cf has no "smtp inet" service to move to the bench port');
  writeFileSync(join(etc, 'master.cf'), listener);
  const checks = withChecks && setting.checks !== undefined ? checksMainCf(setting.checks, etc) : undefined;
  const settings = [`queue_directory = ${queue}`, `data_directory = ${join(dir, 'data')}`, `maillog_file = ${maillog}`, ...benchSettings(setting, etc, dir), ...(checks?.settings ?? [])];
  const bin = (name: string): string => join(ROOT, 'bin', name);
  execFileSync(bin('postconf'), ['-c', etc, '-e', ...settings]);
  execFileSync(bin('postalias'), ['-c', etc, join(etc, 'aliases')]);
  for (const map of checks?.maps ?? []) execFileSync(bin('postmap'), ['-c', etc, map]);
  return {
    name: checks === undefined ? 'Petrel' : 'Petrel+checks',
    port,
    recipients: recipientsFor(setting),
    maillog,
    finished: finishedCounter(setting, home, queue, maillog),
    start: () => void execFileSync(bin('petrel'), ['-c', etc, 'start'], { stdio: ['ignore', 'ignore', 'pipe'] }),
    stop: () => void spawnSync(bin('petrel'), ['-c', etc, 'stop'], { stdio: 'ignore' }),
    masterPid: () => pidFrom(join(queue, 'pid', 'master.pid')),
  };
}

/** The folders Postfix may write its mail log below: its defaults, and the one holding the runs' folders (base). */
function maillogPrefixes(base: string): string {
  return ['/var', '/dev/stdout', '/tmp', base].join(', ');
}

/** Lists dirs in alternate_config_directories of /etc/postfix/main.cf, which Postfix requires of a second instance; base holds the runs' folders. */
export function allowPostfixInstances(dirs: readonly string[], base: string): void {
  const mainCf = '/etc/postfix/main.cf';
  const text = existsSync(mainCf) ? readFileSync(mainCf, 'utf8') : '';
  if (dirs.every((dir) => text.includes(dir))) return;
  console.log(`(setting alternate_config_directories to this run's Postfix folders and maillog_file_prefixes to ${maillogPrefixes(base)} in ${mainCf}: Postfix requires it for a second instance)`);
  // Debian's "No configuration" install leaves no main.cf at all.
  if (!existsSync(mainCf)) writeFileSync(mainCf, '');
  execFileSync('postconf', ['-c', '/etc/postfix', '-e', `alternate_config_directories = ${dirs.join(', ')}`, `maillog_file_prefixes = ${maillogPrefixes(base)}`]);
}

/** The folder holding the main.cf of a Postfix instance set up in dir. */
export function postfixConfigDir(dir: string): string {
  return join(dir, 'etc');
}

/** Debian's Postfix in dir, a folder below base (as a second instance: see allowPostfixInstances), delivering to the bench user's home. */
export async function postfixSystem(dir: string, setting: RunSetting, home: string, base: string): Promise<BenchSystem> {
  const port = await freePort();
  const etc = postfixConfigDir(dir);
  const queue = join(dir, 'queue');
  const data = join(dir, 'data');
  const maillog = join(dir, 'maillog');
  for (const path of [etc, queue, data]) mkdirSync(path, { recursive: true });
  const owner = account('postfix');
  if (owner === undefined) throw new Error('no postfix account: is Debian\'s postfix installed?');
  chownSync(data, owner.uid, owner.gid);
  copyFileSync('/etc/aliases', join(etc, 'aliases'));
  const settings = [
    'compatibility_level = 3.6',
    `queue_directory = ${queue}`,
    `data_directory = ${data}`,
    'inet_protocols = ipv4',
    `maillog_file = ${maillog}`,
    `maillog_file_prefixes = ${maillogPrefixes(base)}`,
    ...benchSettings(setting, etc, dir),
  ];
  writeFileSync(join(etc, 'main.cf'), `${settings.join('\n')}\n`);
  const master = readFileSync('/usr/share/postfix/master.cf.dist', 'utf8')
    .replace(/^smtp +inet .*$/m, `127.0.0.1:${port} inet n - n - - smtpd`)
    .replace(/^([a-z0-9-]+ +(?:unix|inet|unix-dgram) +[-yn] +[-yn] +)y/gm, '$1n');
  writeFileSync(join(etc, 'master.cf'), master);
  execFileSync('postalias', ['-c', etc, join(etc, 'aliases')]);
  execFileSync('postfix', ['-c', etc, 'set-permissions'], { stdio: 'ignore' });
  return {
    name: 'Postfix',
    port,
    recipients: recipientsFor(setting),
    maillog,
    finished: finishedCounter(setting, home, queue, maillog),
    start: () => {
      const started = spawnSync('postfix', ['-c', etc, 'start'], { encoding: 'utf8' });
      if (started.status !== 0) {
        const log = existsSync(maillog) ? readFileSync(maillog, 'utf8') : '(no log)';
        throw new Error(`postfix start failed: ${started.stderr}\n${log.split('\n').slice(-5).join('\n')}`);
      }
    },
    stop: () => void spawnSync('postfix', ['-c', etc, 'stop'], { stdio: 'ignore' }),
    masterPid: () => pidFrom(join(queue, 'pid', 'master.pid')),
  };
}

/*
 * instance - a real Petrel instance for integration tests: a temporary
 * folder with etc/ (main.cf, master.cf, aliases), the queue, the mail spool
 * and the log, a free loopback port, and start/stop through ./bin/petrel as
 * an administrator would. Nothing is mocked: the master forks the real
 * daemons.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { runPetrel, type CommandResult } from './run-command.js';
import { SmtpClient } from './smtp-client.js';
import { WAIT_MS, waitFor } from './wait.js';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A test instance. */
export class TestInstance {
  readonly etc: string;
  readonly queue: string;
  readonly mail: string;
  readonly log: string;

  private constructor(
    readonly root: string,
    readonly port: number,
  ) {
    this.etc = join(root, 'etc');
    this.queue = join(root, 'queue');
    this.mail = join(root, 'mail');
    this.log = join(root, 'maillog');
  }

  /** Creates the folder; extraMain is appended to main.cf, settings replace the defaults below, aliases written as given. */
  static async create(extraMain = '', aliases = 'postmaster: root\n', settings: Readonly<Record<string, string>> = {}): Promise<TestInstance> {
    const root = mkdtempSync(join(tmpdir(), 'petrel-it-'));
    const instance = new TestInstance(root, await freePort());
    mkdirSync(instance.etc);
    writeFileSync(join(instance.etc, 'aliases'), aliases);
    const main: Record<string, string> = {
      myhostname: 'mx.test.example',
      mydestination: '$myhostname, localhost',
      inet_interfaces: '127.0.0.1',
      mynetworks: '127.0.0.0/8',
      queue_directory: instance.queue,
      data_directory: join(root, 'data'),
      mail_spool_directory: `${instance.mail}/`,
      maillog_file: instance.log,
      mail_owner: userInfo().username,
      alias_maps: `hash:${join(instance.etc, 'aliases')}`,
      alias_database: `hash:${join(instance.etc, 'aliases')}`,
      local_recipient_maps: '',
      minimal_backoff_time: '1s',
      maximal_backoff_time: '2s',
      queue_run_delay: '1s',
      ...settings,
    };
    const lines = Object.entries(main).map(([name, value]) => `${name} = ${value}`);
    writeFileSync(join(instance.etc, 'main.cf'), `${[...lines, extraMain].join('\n')}\n`);
    writeFileSync(
      join(instance.etc, 'master.cf'),
      [
        `127.0.0.1:${instance.port} inet n - n - - smtpd`,
        'pickup unix n - n 60 1 pickup',
        'cleanup unix n - n - 0 cleanup',
        'qmgr unix n - n 1 1 qmgr',
        'bounce unix - - n - 0 bounce',
        'verify unix - - n - 1 verify',
        'anvil unix - - n - 1 anvil',
        'local unix - n n - - local',
        '',
      ].join('\n'),
    );
    const built = runPetrel('newaliases', ['-c', instance.etc]);
    if (built.status !== 0) throw new Error(built.stderr);
    return instance;
  }

  /**
   * Creates an instance that delivers by SMTP: its lookups go to the DNS
   * server on dnsPort (IPv4 only), its SMTP client connects to smtpPort, and
   * master.cf runs the smtp agent and the further services given.
   */
  static async createSmtpClient(
    dnsPort: number,
    smtpPort: number,
    settings: Readonly<Record<string, string>>,
    aliases = 'postmaster: root\n',
    services: readonly string[] = [],
  ): Promise<TestInstance> {
    const instance = await TestInstance.create('', aliases, { inet_protocols: 'ipv4', dns_servers: `127.0.0.1:${dnsPort}`, smtp_tcp_port: String(smtpPort), ...settings });
    appendFileSync(join(instance.etc, 'master.cf'), ['smtp unix - - n - - smtp', ...services, ''].join('\n'));
    return instance;
  }

  /** Runs ./bin/NAME -c etc args. */
  run(name: string, args: readonly string[], input?: string): CommandResult {
    return runPetrel(name, ['-c', this.etc, ...args], input);
  }

  start(): void {
    const started = this.run('petrel', ['start']);
    if (started.status !== 0) throw new Error(`petrel start: ${started.stderr}`);
  }

  stop(): void {
    this.run('petrel', ['stop']);
  }

  /** The pids of this instance's worker processes of one daemon ("smtpd", "cleanup" ...). */
  daemonPids(daemon: string): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        if (args.some((a) => a.endsWith(`/${daemon}-main.js`)) && args.includes(this.etc)) pids.push(Number(entry));
      } catch {
        // the process ended meanwhile
      }
    }
    return pids;
  }

  /** Sends one message over SMTP (EHLO client.example); returns its queue ID, throwing when it was not queued. */
  async submit(from: string, recipients: readonly string[], body: string): Promise<string> {
    const { client } = await SmtpClient.open(this.port);
    await client.command('EHLO client.example');
    const reply = await client.send(from, recipients, body);
    await client.quit();
    const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1];
    if (id === undefined) throw new Error(`not queued: ${reply}`);
    return id;
  }

  /** The mail log so far. */
  logText(): string {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8') : '';
  }

  /** Waits until the log matches pattern; the whole log goes with the failure at the deadline. */
  async waitForLog(pattern: RegExp, timeoutMs = WAIT_MS): Promise<string> {
    try {
      return await waitFor(() => {
        const text = this.logText();
        return pattern.test(text) && text;
      }, `the log to match ${pattern}`, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}:\n${this.logText()}`);
    }
  }

  /** The message files delivered to user's Maildir. */
  maildir(user: string): string[] {
    const dir = join(this.mail, user, 'new');
    return existsSync(dir) ? readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8')) : [];
  }

  /** The files in a queue directory. */
  queued(queue: string): string[] {
    const dir = join(this.queue, queue);
    return existsSync(dir) ? readdirSync(dir) : [];
  }

  remove(): void {
    this.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}

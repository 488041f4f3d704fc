/*
 * smtp-bench - the mail path under load: N concurrent SMTP sessions send M
 * messages of S bytes, either to a local mailbox (mode "local") or to a
 * remote domain relayed to Debian's smtp-sink (mode "relay"), or to the
 * local mailbox one message per connection with STARTTLS on each (mode
 * "tls": connect, EHLO, STARTTLS, EHLO, MAIL/RCPT/DATA, QUIT; both systems
 * present the same RSA-2048 certificate, see smtp-bench-tls.ts); reports
 * accepted msg/s, delivered msg/s (files in the Maildir, or "status=sent"
 * lines in the mail log), p50/p99 transaction latency (in mode "tls" the
 * whole connection, from connect to QUIT) and the peak RSS of all of the
 * system's processes; a message refused or a connection lost fails the run,
 * printing the refusals and the system's mail log warnings. Also printed:
 * the bench client's own CPU per message and how many CPUs the rest of the
 * machine kept busy meanwhile (it is shared). When Debian's postfix is
 * installed the same load runs against a Postfix instance set up the same
 * way (its own configuration and queue folders, another port; Maildir
 * delivery through virtual(8), fsync before 250 and before reporting a
 * delivery, as Petrel; or relayhost to the same smtp-sink; in mode "tls"
 * the same certificate and smtpd_tls_* settings) and the ratios are printed.
 *   npm run build && node dist/bench/smtp/smtp-bench.js [sessions] [messages] [bytes] [local|relay|tls] [rounds]
 * With rounds 2 (the default) the systems run Petrel, Postfix, Postfix,
 * Petrel, so that neither always runs first, and the ratios are of the means.
 * Defaults are the issues' figure: 20 sessions, 10,000 messages of 10 KB.
 * Running the Postfix side needs root, and Postfix insists that a second
 * instance's folder be listed in /etc/postfix/main.cf; the script adds it
 * there (and says so) when it is missing.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/instance.js';
import { SmtpClient } from '../../test/support/smtp-client.js';
import { makeCertificate, sendOverStartTls, tlsMainCf, TlsTally, type BenchCertificate } from './smtp-bench-tls.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sessions = Number(process.argv[2] ?? 20);
const messages = Number(process.argv[3] ?? 10_000);
const bytes = Number(process.argv[4] ?? 10_240);
const mode = process.argv[5] ?? 'local';
/** 2 (the default): Petrel, Postfix, Postfix, Petrel, and the means; 1: one run of each. */
const rounds = Number(process.argv[6] ?? 2);
if (rounds !== 1 && rounds !== 2) throw new Error(`rounds must be 1 or 2, not ${process.argv[6]}`);
const SMTP_SINK = '/usr/sbin/smtp-sink';
/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
if (mode !== 'local' && mode !== 'relay' && mode !== 'tls') throw new Error(`mode must be local, relay or tls, not ${mode}`);
/** The most refusals a failed run prints. */
const FAILURES_SHOWN = 10;

/** One system under test. */
interface System {
  readonly name: string;
  readonly port: number;
  readonly recipient: string;
  readonly maillog: string;
  /** Messages delivered so far. */
  delivered(): number;
  start(): void;
  stop(): void;
  masterPid(): number | undefined;
}

interface Result {
  readonly acceptedPerSecond: number;
  readonly deliveredPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly peakRssMb: number;
  /** CPU time (user + system) of all of the system's processes per message, in ms. */
  readonly cpuMsPerMessage: number;
  /** The same by process name (a daemon's processes together; the master keeps what its exited children used). */
  readonly cpuByProcess: ReadonlyMap<string, number>;
  /** CPU time of the bench's own client per message, in ms (the same work for both systems; not in cpuMsPerMessage). */
  readonly clientCpuMsPerMessage: number;
  /** CPUs kept busy on average by everything else on the machine during the run (other users, the bench's ps samples). */
  readonly otherCpus: number;
  /** What the TLS handshakes negotiated (mode "tls"). */
  readonly tls?: string;
}

function pidFrom(path: string): number | undefined {
  const pid = Number((existsSync(path) ? readFileSync(path, 'utf8') : '').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function rssKb(master: number): number {
  const out = spawnSync('ps', ['-o', 'rss=', '--pid', String(master), '--ppid', String(master)], { encoding: 'utf8' }).stdout;
  return out.split('\n').map(Number).filter((n) => n > 0).reduce((a, b) => a + b, 0);
}

/** User + system clock ticks of one process and its reaped children, from /proc/PID/stat. */
function processTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime, stime, cutime, cstime are fields 14 to 17 of stat(5); index 0 here is field 3.
    return [11, 12, 13, 14].reduce((sum, at) => sum + Number(fields[at] ?? 0), 0);
  } catch {
    return 0;
  }
}

/** What a process is: the daemon's script name for Node processes, the program name otherwise. */
function processName(pid: number): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const script = args.find((arg) => arg.endsWith('-main.js'));
    return script !== undefined ? (script.split('/').pop() as string).replace('-main.js', '') : readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** CPU clock ticks used so far by master and every process it started (living or reaped), by process name. */
function systemTicks(master: number): Map<string, number> {
  const children = spawnSync('ps', ['-o', 'pid=', '--ppid', String(master)], { encoding: 'utf8' }).stdout;
  const byName = new Map<string, number>();
  for (const pid of [master, ...children.split('\n').map(Number).filter((n) => n > 0)]) {
    const name = processName(pid);
    byName.set(name, (byName.get(name) ?? 0) + processTicks(pid));
  }
  return byName;
}

/** Clock ticks the whole machine has spent busy (all CPUs, anything but idle and I/O wait), from /proc/stat. */
function machineBusyTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal: all but idle (3) and iowait (4).
  return [0, 1, 2, 5, 6, 7].reduce((sum, at) => sum + (cpu[at] ?? 0), 0);
}

function body(n: number): string {
  const line = 'The quick brown fox jumps over the lazy dog, again and again. 0123456789\n';
  const filler = line.repeat(Math.ceil(bytes / line.length)).slice(0, Math.max(0, bytes - 60));
  return `Subject: bench ${n}\nFrom: bench@example.org\n\n${filler}`;
}

async function load(system: System): Promise<Result> {
  let next = 0;
  const latencies: number[] = [];
  let peak = 0;
  const sampler = setInterval(() => {
    const pid = system.masterPid();
    if (pid !== undefined) peak = Math.max(peak, rssKb(pid));
  }, 200);
  // A failed run throws before clearing it; it must not keep the process alive then.
  sampler.unref();
  const master = system.masterPid();
  if (master === undefined) throw new Error(`${system.name}: no master pid`);
  const ticksBefore = systemTicks(master);
  const tally = mode === 'tls' ? new TlsTally() : undefined;
  const failures: string[] = [];
  /** Sends message n (in its own STARTTLS connection in mode "tls"), timing it and noting a refusal or a lost connection. */
  const sendTimed = async (n: number, send: () => Promise<string>): Promise<void> => {
    const t0 = process.hrtime.bigint();
    const reply = await send().catch((err: Error) => `(${err.message})`);
    if (reply.startsWith('250')) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    else failures.push(`message ${n}: ${reply.replace(/\n/g, ' | ')}`);
  };
  const clientCpuBefore = process.cpuUsage();
  const busyBefore = machineBusyTicks();
  const started = Date.now();
  await Promise.all(
    Array.from({ length: sessions }, async () => {
      if (tally !== undefined) {
        for (let n = next++; n < messages; n = next++) await sendTimed(n, () => sendOverStartTls(system.port, system.recipient, body(n), tally));
        return;
      }
      const { client } = await SmtpClient.open(system.port);
      await client.command('EHLO bench.example');
      for (let n = next++; n < messages; n = next++) {
        if (client.isClosed) failures.push(`message ${n}: not sent, the session's connection had closed`);
        else await sendTimed(n, () => client.send('bench@example.org', [system.recipient], body(n)));
      }
      await client.quit();
    }),
  );
  const accepted = Date.now();
  if (failures.length > 0) {
    const shown = failures.slice(0, FAILURES_SHOWN).join('\n  ');
    throw new Error(`${system.name}: ${failures.length} of ${messages} messages not accepted:\n  ${shown}`);
  }
  for (;;) {
    const count = system.delivered();
    if (count >= messages) break;
    if (Date.now() - accepted > 600_000) throw new Error(`${system.name}: only ${count} of ${messages} delivered after 10 minutes`);
    await sleep(100);
  }
  const delivered = Date.now();
  const ticksAfter = systemTicks(master);
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const clientMs = (clientCpu.user + clientCpu.system) / 1000;
  const busyMs = (machineBusyTicks() - busyBefore) * (1000 / CLOCK_TICKS);
  const cpuByProcess = new Map<string, number>();
  for (const [name, ticks] of ticksAfter) cpuByProcess.set(name, ((ticks - (ticksBefore.get(name) ?? 0)) * (1000 / CLOCK_TICKS)) / messages);
  const cpuMsPerMessage = [...cpuByProcess.values()].reduce((a, b) => a + b, 0);
  clearInterval(sampler);
  latencies.sort((a, b) => a - b);
  const pick = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    acceptedPerSecond: messages / ((accepted - started) / 1000),
    deliveredPerSecond: messages / ((delivered - started) / 1000),
    p50: pick(0.5),
    p99: pick(0.99),
    peakRssMb: peak / 1024,
    cpuMsPerMessage,
    cpuByProcess,
    clientCpuMsPerMessage: clientMs / messages,
    otherCpus: Math.max(0, busyMs - cpuMsPerMessage * messages - clientMs) / (delivered - started),
    ...(tally === undefined ? {} : { tls: tally.toString() }),
  };
}

/** "status=sent" lines in a mail log: deliveries the system reported. */
function sentInLog(path: string): number {
  return existsSync(path) ? readFileSync(path, 'utf8').split('status=sent').length - 1 : 0;
}

/** The files in a Maildir's new/. */
function inMaildir(dir: string): number {
  const newDir = join(dir, 'new');
  return existsSync(newDir) ? readdirSync(newDir).length : 0;
}

async function petrel(work: string, sinkPort: number | undefined, certificate: BenchCertificate | undefined): Promise<System> {
  const port = await freePort();
  const etc = join(work, 'petrel', 'etc');
  mkdirSync(etc, { recursive: true });
  const queue = join(work, 'petrel', 'queue');
  const mail = join(work, 'petrel', 'mail');
  writeFileSync(join(etc, 'main.cf'), [
    'myhostname = bench.localdomain',
    'mydestination = $myhostname, localhost',
    'inet_interfaces = 127.0.0.1',
    'mynetworks = 127.0.0.0/8',
    `queue_directory = ${queue}`,
    `mail_spool_directory = ${mail}/`,
    `maillog_file = ${join(work, 'petrel', 'maillog')}`,
    `mail_owner = ${userInfo().username}`,
    'alias_maps =',
    'local_recipient_maps =',
    // The Postfix side delivers through virtual(8), 20 at a time to the one domain (its default); local's
    // default is 2 at a time per user, so the same concurrency is set here for a like-for-like run.
    'local_destination_concurrency_limit = 20',
    ...(sinkPort === undefined ? [] : [`relayhost = [127.0.0.1]:${sinkPort}`]),
    ...(certificate === undefined ? [] : tlsMainCf(certificate)),
    '',
  ].join('\n'));
  writeFileSync(
    join(etc, 'master.cf'),
    [`127.0.0.1:${port} inet n - n - - smtpd`, 'cleanup unix n - n - 0 cleanup', 'qmgr unix n - n 300 1 qmgr', 'bounce unix - - n - 0 bounce', 'local unix - n n - - local', 'smtp unix - - n - - smtp', ''].join('\n'),
  );
  const petrelBin = join(ROOT, 'bin', 'petrel');
  const maillog = join(work, 'petrel', 'maillog');
  return {
    name: 'Petrel',
    port,
    recipient: sinkPort === undefined ? 'sink@localhost' : 'sink@remote.test',
    maillog,
    delivered: () => (sinkPort === undefined ? inMaildir(join(mail, 'sink')) : sentInLog(maillog)),
    start: () => execFileSync(petrelBin, ['-c', etc, 'start']),
    stop: () => void spawnSync(petrelBin, ['-c', etc, 'stop']),
    masterPid: () => pidFrom(join(queue, 'pid', 'master.pid')),
  };
}

function ensureAlternateDirectory(dir: string): void {
  const mainCf = '/etc/postfix/main.cf';
  const text = existsSync(mainCf) ? readFileSync(mainCf, 'utf8') : '';
  if (text.includes(dir)) return;
  console.log(`(adding ${dir} to alternate_config_directories and /tmp to maillog_file_prefixes in ${mainCf}: Postfix requires it for a second instance)`);
  // Debian's "No configuration" install leaves no main.cf at all.
  if (!existsSync(mainCf)) writeFileSync(mainCf, '');
  execFileSync('postconf', ['-c', '/etc/postfix', '-e', `alternate_config_directories = ${dir}`, 'maillog_file_prefixes = /var, /dev/stdout, /tmp']);
}

async function postfix(work: string, sinkPort: number | undefined, certificate: BenchCertificate | undefined): Promise<System | undefined> {
  if (!existsSync('/usr/sbin/postfix') || process.getuid?.() !== 0) return undefined;
  const port = await freePort();
  const base = join(work, 'postfix');
  const etc = join(base, 'etc');
  for (const dir of [etc, join(base, 'queue'), join(base, 'data'), join(base, 'mail')]) mkdirSync(dir, { recursive: true });
  const uid = Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postfix'], { encoding: 'utf8' }).trim());
  chownSync(join(base, 'data'), uid, gid);
  chownSync(join(base, 'mail'), uid, gid);
  writeFileSync(join(etc, 'main.cf'), [
    'compatibility_level = 3.6',
    `queue_directory = ${join(base, 'queue')}`,
    `data_directory = ${join(base, 'data')}`,
    'myhostname = bench.localdomain',
    'mydestination =',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, reject',
    'virtual_mailbox_domains = bench.test',
    `virtual_mailbox_base = ${join(base, 'mail')}`,
    'virtual_mailbox_maps = static:sink/',
    `virtual_uid_maps = static:${uid}`,
    `virtual_gid_maps = static:${gid}`,
    `maillog_file = ${join(base, 'maillog')}`,
    'maillog_file_prefixes = /tmp, /var',
    ...(sinkPort === undefined ? [] : [`relayhost = [127.0.0.1]:${sinkPort}`]),
    ...(certificate === undefined ? [] : tlsMainCf(certificate)),
    '',
  ].join('\n'));
  const master = readFileSync('/usr/share/postfix/master.cf.dist', 'utf8')
    .replace(/^smtp +inet .*$/m, `127.0.0.1:${port} inet n - n - - smtpd`)
    .replace(/^([a-z0-9-]+ +(?:unix|inet|unix-dgram) +[-yn] +[-yn] +)y/gm, '$1n');
  writeFileSync(join(etc, 'master.cf'), master);
  ensureAlternateDirectory(etc);
  execFileSync('postfix', ['-c', etc, 'set-permissions'], { stdio: 'ignore' });
  return {
    name: 'Postfix',
    port,
    recipient: sinkPort === undefined ? 'sink@bench.test' : 'sink@remote.test',
    maillog: join(base, 'maillog'),
    delivered: () => (sinkPort === undefined ? inMaildir(join(base, 'mail', 'sink')) : sentInLog(join(base, 'maillog'))),
    start: () => {
      const started = spawnSync('postfix', ['-c', etc, 'start'], { encoding: 'utf8' });
      if (started.status !== 0) {
        const log = existsSync(join(base, 'maillog')) ? readFileSync(join(base, 'maillog'), 'utf8') : '(no log)';
        throw new Error(`postfix start failed: ${started.stderr}\n${log.split('\n').slice(-5).join('\n')}`);
      }
    },
    stop: () => void spawnSync('postfix', ['-c', etc, 'stop']),
    masterPid: () => pidFrom(join(base, 'queue', 'pid', 'master.pid')),
  };
}

/** The mean of each figure over runs (the CPU by process: of every process seen). */
function mean(runs: readonly Result[]): Result | undefined {
  if (runs.length === 0) return undefined;
  const avg = (pick: (r: Result) => number): number => runs.reduce((sum, r) => sum + pick(r), 0) / runs.length;
  const names = new Set(runs.flatMap((r) => [...r.cpuByProcess.keys()]));
  return {
    acceptedPerSecond: avg((r) => r.acceptedPerSecond),
    deliveredPerSecond: avg((r) => r.deliveredPerSecond),
    p50: avg((r) => r.p50),
    p99: avg((r) => r.p99),
    peakRssMb: avg((r) => r.peakRssMb),
    cpuMsPerMessage: avg((r) => r.cpuMsPerMessage),
    cpuByProcess: new Map([...names].map((name) => [name, avg((r) => r.cpuByProcess.get(name) ?? 0)])),
    clientCpuMsPerMessage: avg((r) => r.clientCpuMsPerMessage),
    otherCpus: avg((r) => r.otherCpus),
  };
}

function show(name: string, r: Result, label = ''): void {
  console.log(
    `${`${name}${label === '' ? '' : ` ${label}`}`.padEnd(13)} accepted ${r.acceptedPerSecond.toFixed(0).padStart(6)} msg/s  delivered ${r.deliveredPerSecond.toFixed(0).padStart(6)} msg/s  ` +
      `latency p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms  peak RSS ${r.peakRssMb.toFixed(0)} MB  CPU ${r.cpuMsPerMessage.toFixed(2)} ms/msg`,
  );
  const parts = [...r.cpuByProcess].filter(([, ms]) => ms >= 0.005).sort((a, b) => b[1] - a[1]);
  console.log(`${''.padEnd(13)} CPU ms/msg by process: ${parts.map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(', ')} (bench client ${r.clientCpuMsPerMessage.toFixed(2)}, not counted)`);
  console.log(`${''.padEnd(13)} other load on the machine meanwhile: ${r.otherCpus.toFixed(2)} CPUs busy on average`);
  if (r.tls !== undefined) console.log(`${''.padEnd(13)} TLS: ${r.tls}`);
}

/** The warnings, errors and rejections of a mail log, for a run that failed. */
function logProblems(path: string): string[] {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return text.split('\n').filter((line) => /warning:|error:|fatal:|panic:|reject:|lost connection|timeout after/.test(line));
}

async function run(system: System): Promise<Result> {
  system.start();
  await sleep(500);
  try {
    return await load(system);
  } catch (err) {
    const problems = logProblems(system.maillog);
    console.log(`${system.name} failed; ${problems.length} warning, error or reject lines in ${system.maillog}${problems.length > 0 ? ':' : ''}`);
    for (const line of problems.slice(0, 50)) console.log(`  ${line}`);
    throw err;
  } finally {
    system.stop();
  }
}

/** Resolves once something accepts connections on 127.0.0.1:port. */
async function waitForListener(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'petrel-smtp-bench-'));
  // Postfix's daemons run as the postfix user and must reach their folders below this one.
  chmodSync(work, 0o755);
  let sink: ChildProcess | undefined;
  let sinkPort: number | undefined;
  if (mode === 'relay') {
    if (!existsSync(SMTP_SINK)) throw new Error(`${SMTP_SINK} is missing: relay mode needs Debian's postfix (its smtp-sink)`);
    sinkPort = await freePort();
    // smtp-sink refuses to run as root without a user to become.
    const asUser = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
    sink = spawn(SMTP_SINK, [...asUser, `127.0.0.1:${sinkPort}`, '256'], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitForListener(sinkPort);
  }
  // One certificate for both systems, so that both sign with the same RSA-2048 key.
  const certificate = mode === 'tls' ? makeCertificate(work, 'bench.localdomain') : undefined;
  const how = mode === 'relay' ? 'relayed to smtp-sink' : mode === 'tls' ? 'to one Maildir, each on its own connection with STARTTLS' : 'to one Maildir';
  console.log(`${sessions} sessions, ${messages} messages of ${bytes} bytes ${how}`);
  try {
    // Petrel, Postfix, Postfix, Petrel: each system runs as often first as last, so what the
    // machine carries over from one run to the next (a file system busy with the removals of a
    // previous run, say) weighs on both alike. Each run has folders of its own.
    const order = rounds === 1 ? (['Petrel', 'Postfix'] as const) : (['Petrel', 'Postfix', 'Postfix', 'Petrel'] as const);
    const results = new Map<string, Result[]>();
    for (const [k, name] of order.entries()) {
      const dir = join(work, `run${k + 1}`);
      mkdirSync(dir, { mode: 0o755 });
      chmodSync(dir, 0o755);
      const system = name === 'Petrel' ? await petrel(dir, sinkPort, certificate) : await postfix(dir, sinkPort, certificate);
      if (system === undefined) {
        console.log('(Postfix not installed, or not root: no side-by-side figures)');
        continue;
      }
      const result = await run(system);
      show(name, result);
      results.set(name, [...(results.get(name) ?? []), result]);
    }
    const petrelResult = mean(results.get('Petrel') ?? []);
    const postfixResult = mean(results.get('Postfix') ?? []);
    if (petrelResult === undefined || postfixResult === undefined) return;
    if (rounds > 1) {
      show('Petrel', petrelResult, 'mean');
      show('Postfix', postfixResult, 'mean');
    }
    console.log(
      `Petrel/Postfix: accepted ${(petrelResult.acceptedPerSecond / postfixResult.acceptedPerSecond).toFixed(2)}x, ` +
        `delivered ${(petrelResult.deliveredPerSecond / postfixResult.deliveredPerSecond).toFixed(2)}x, ` +
        `p99 latency ${(petrelResult.p99 / postfixResult.p99).toFixed(2)}x, peak RSS ${(petrelResult.peakRssMb / postfixResult.peakRssMb).toFixed(2)}x, ` +
        `CPU per message ${(petrelResult.cpuMsPerMessage / postfixResult.cpuMsPerMessage).toFixed(2)}x`,
    );
  } finally {
    sink?.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

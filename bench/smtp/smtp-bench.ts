/*
 * smtp-bench - Petrel against Postfix 3.7 under the traffic of an MX, both
 * started by root as systemd would (smtp-bench-systems.ts: Petrel from the
 * shipped conf/ with privilege separation, mail_owner petrel; Debian's
 * Postfix from its shipped master.cf as a second instance), both delivering
 * with local(8) into a real user's ~/Maildir/ with an fsync before the 250
 * and before a delivery is reported.
 *   npm run build && node dist/bench/smtp/smtp-bench.js [mode] [--messages N]
 *     [--sessions N] [--size BYTES] [--rounds 1|2] [--client node|smtp-source]
 * Defaults: mode mx, 5000 messages of 10,240 bytes of payload, 20 sessions in
 * parallel, rounds 2. Modes:
 *   mx      one message per connection (connect, banner, EHLO, MAIL, RCPT,
 *           DATA, QUIT), end to end into the Maildir;
 *   accept  the same with local deliveries held (defer_transports = local on
 *           both), so only the acceptance is measured (and its CPU counted
 *           until every message has reached the deferred queue);
 *   reuse   each session's messages all over one long-lived connection;
 *   relay   one message per connection, relayhost to Debian's smtp-sink;
 *   tls     one message per connection with STARTTLS on each
 *           (smtp-bench-tls.ts: the same RSA-2048 certificate on both);
 *   virtual-mysql  one message per connection to 1,000 virtual users in 10
 *           domains, whose domains, mailboxes and aliases are mysql: tables
 *           in the real MariaDB (smtp-bench-virtual.ts), delivered by
 *           virtual(8) into Maildirs, until the last "status=sent"; also
 *           printed: MariaDB's SELECTs per message (Com_select).
 *           Needs MariaDB on 127.0.0.1:3306 and Debian's postfix-mysql.
 *   checks  issue #12's speed budget: Petrel with 17 typical restrictions
 *           (smtp-bench-checks.ts: DNS blocklists on a loopback DNS server,
 *           access maps, a policy service) against Petrel without them,
 *           local deliveries held as in accept; the ratio is with/without.
 * Printed for each run and for the means: accepted msg/s (messages / time
 * to the last 250 after DATA), delivered msg/s (messages / time until the
 * last file is in Maildir/new, or the last "status=sent" in the mail log in
 * mode relay), p50/p99 latency from the connect to the 250 after DATA, CPU
 * ms per message of the whole instance and by process name, the peak PSS of
 * the whole instance (master and every descendant, sampled every 200 ms),
 * and the PSS by process name idle (a second after the start) and at its
 * peak (smtp-bench-proc.ts); then the Petrel/Postfix ratios. Also printed,
 * and counted in neither system: the load generator's own CPU per message
 * (smtp-bench-client.ts: a lean raw-socket client, or Debian's smtp-source
 * with --client smtp-source, which gives no latencies), the bench's
 * sampling, and how many CPUs the rest of the (shared) machine kept busy.
 * With rounds 2 the systems run Petrel, Postfix, Postfix, Petrel (ABBA), so
 * that neither always runs first, and the ratios are of the means. Needs
 * root (both systems start as root, and the bench creates the accounts
 * petrel and petrelbench when missing) and Debian's postfix for the
 * Postfix side; a message refused or a connection lost fails the run,
 * printing the refusals and the system's mail log warnings.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePort } from '../../test/support/instance.js';
import { quantile, runLoad, runSmtpSource, type LoadOutcome, type LoadPlan } from './smtp-bench-client.js';
import { CLOCK_TICKS, InstanceSampler, machineBusyTicks, reapedChildTicks } from './smtp-bench-proc.js';
import { meanOf, showComparison, showRun, type RunResult } from './smtp-bench-report.js';
import { startCheckPeers, type CheckPeers } from './smtp-bench-checks.js';
import { acceptOnly, allowPostfixInstances, BENCH_HOSTNAME, ensureAccounts, moveBenchHome, petrelSystem, postfixConfigDir, postfixSystem, type BenchSystem, type Mode, type RunSetting } from './smtp-bench-systems.js';
import { makeCertificate, runTlsLoad, TlsTally } from './smtp-bench-tls.js';
import { createVirtualDatabase, dropVirtualDatabase, selectCount, type VirtualDatabase } from './smtp-bench-virtual.js';

const MODES: readonly Mode[] = ['mx', 'accept', 'reuse', 'relay', 'tls', 'virtual-mysql', 'checks'];
const SMTP_SINK = '/usr/sbin/smtp-sink';
/** The most refusals a failed run prints. */
const FAILURES_SHOWN = 10;
/** How long an instance idles after its start before the idle PSS is taken. */
const IDLE_MS = 1000;
const FINISH_POLL_MS = 50;

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    messages: { type: 'string', default: '5000' },
    sessions: { type: 'string', default: '20' },
    size: { type: 'string', default: '10240' },
    rounds: { type: 'string', default: '2' },
    client: { type: 'string', default: 'node' },
    dir: { type: 'string', default: tmpdir() },
    warmup: { type: 'string', default: '0' },
  },
});
const mode = (positionals[0] ?? 'mx') as Mode;
if (!MODES.includes(mode) || positionals.length > 1) throw new Error(`usage: smtp-bench.js [${MODES.join('|')}] [--messages N] [--sessions N] [--size BYTES] [--rounds 1|2] [--client node|smtp-source] [--dir FOLDER] [--warmup N]`);
const count = (name: 'messages' | 'sessions' | 'size'): number => {
  const value = Number(options[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number above 0, not ${options[name]}`);
  return value;
};
const messages = count('messages');
/** Where the runs' folders go, absolute: the systems' configurations name paths below it. */
const baseDir = resolve(options.dir);
const warmup = Number(options.warmup);
if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`--warmup must be a whole number, not ${options.warmup}`);
/** How long a system may take to be done with every message once the load has been sent: ten minutes, or 0.1 s a message. */
const FINISH_WAIT_MS = Math.max(600_000, messages * 100);
const sessions = count('sessions');
const bytes = count('size');
const rounds = Number(options.rounds);
if (rounds !== 1 && rounds !== 2) throw new Error(`--rounds must be 1 or 2, not ${options.rounds}`);
const client = options.client;
if (client !== 'node' && client !== 'smtp-source') throw new Error(`--client must be node or smtp-source, not ${client}`);
if (client === 'smtp-source' && mode === 'tls') throw new Error('smtp-source speaks no STARTTLS: mode tls needs --client node');
if (client === 'smtp-source' && mode === 'virtual-mysql') throw new Error('smtp-source sends to one recipient: mode virtual-mysql needs --client node');

/** The warnings, errors and rejections of a mail log, for a run that failed. */
function logProblems(path: string): string[] {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return text.split('\n').filter((line) => /warning:|error:|fatal:|panic:|reject:|lost connection|timeout after/.test(line));
}

function sendLoad(plan: LoadPlan, tally: TlsTally | undefined): Promise<LoadOutcome> {
  if (tally !== undefined) return runTlsLoad(plan, tally);
  return client === 'smtp-source' ? runSmtpSource(plan) : runLoad(plan);
}

/** Resolves when the system is done with total messages (see BenchSystem.finished), with when that was seen. */
async function finishing(system: BenchSystem, started: number, total: number): Promise<number> {
  for (;;) {
    const finished = system.finished();
    if (finished >= total) return performance.now();
    if (performance.now() - started > FINISH_WAIT_MS) throw new Error(`${system.name}: only ${finished} of ${total} done with after ${FINISH_WAIT_MS / 60_000} minutes`);
    await sleep(FINISH_POLL_MS);
  }
}

/** Loads a started system and measures it; countQueries: also MariaDB's SELECTs per message. */
async function measure(system: BenchSystem, countQueries: boolean): Promise<RunResult> {
  await sleep(IDLE_MS);
  const master = system.masterPid();
  if (master === undefined) throw new Error(`${system.name}: no master pid`);
  const sampler = new InstanceSampler(master);
  const idle = sampler.pssNow();
  const tally = mode === 'tls' ? new TlsTally() : undefined;
  const plan: LoadPlan = { port: system.port, sessions, messages, bytes, recipients: system.recipients, reuse: mode === 'reuse' };
  if (warmup > 0) await warmUp(system, { ...plan, messages: warmup });
  const selectsBefore = countQueries ? await selectCount() : undefined;
  sampler.begin();
  const cpuBefore = process.cpuUsage();
  const childTicksBefore = reapedChildTicks();
  const busyBefore = machineBusyTicks();
  const started = performance.now();
  const outcome = await sendLoad(plan, tally);
  const loadCpu = process.cpuUsage(cpuBefore);
  const samplerAtLoadEnd = sampler.cpuMs();
  const generatorTicks = reapedChildTicks() - childTicksBefore;
  if (outcome.failures.length > 0) {
    const shown = outcome.failures.slice(0, FAILURES_SHOWN).join('\n  ');
    throw new Error(`${system.name}: ${outcome.failures.length} of ${messages} messages not accepted:\n  ${shown}`);
  }
  const finished = await finishing(system, started, warmup + messages);
  const usage = sampler.finish();
  const selects = selectsBefore === undefined ? undefined : (await selectCount()) - selectsBefore;
  const ownCpu = process.cpuUsage(cpuBefore);
  const busyMs = (machineBusyTicks() - busyBefore) * (1000 / CLOCK_TICKS);
  const cpuByProcess = new Map([...usage.cpuMsByName].map(([name, ms]) => [name, ms / messages]));
  const instanceMs = [...usage.cpuMsByName.values()].reduce((a, b) => a + b, 0);
  const generatorMs = (loadCpu.user + loadCpu.system) / 1000 - samplerAtLoadEnd + generatorTicks * (1000 / CLOCK_TICKS);
  const benchMs = (ownCpu.user + ownCpu.system) / 1000 + generatorTicks * (1000 / CLOCK_TICKS);
  return {
    acceptedPerSecond: messages / ((outcome.acceptedAt - started) / 1000),
    deliveredPerSecond: acceptOnly(mode) ? undefined : messages / ((finished - started) / 1000),
    p50: quantile(outcome.latencies, 0.5),
    p99: quantile(outcome.latencies, 0.99),
    cpuMsPerMessage: instanceMs / messages,
    cpuByProcess,
    peakPssMb: usage.peakPssKb / 1024,
    idlePss: idle.byName,
    peakPss: usage.peakPssByName,
    clientCpuMsPerMessage: generatorMs / messages,
    samplingCpuMsPerMessage: (benchMs - generatorMs) / messages,
    otherCpus: Math.max(0, busyMs - instanceMs - benchMs) / (finished - started),
    ...(tally === undefined ? {} : { tls: tally.toString() }),
    ...(selects === undefined ? {} : { sqlQueriesPerMessage: selects / messages }),
  };
}

/** Sends the warm-up messages (--warmup) and waits until the system is done with them: what the run measures starts after. */
async function warmUp(system: BenchSystem, plan: LoadPlan): Promise<void> {
  const outcome = await sendLoad(plan, mode === 'tls' ? new TlsTally() : undefined);
  if (outcome.failures.length > 0) throw new Error(`${system.name}: ${outcome.failures.length} of ${plan.messages} warm-up messages not accepted:\n  ${outcome.failures.slice(0, FAILURES_SHOWN).join('\n  ')}`);
  await finishing(system, performance.now(), plan.messages);
}

async function run(system: BenchSystem, countQueries: boolean): Promise<RunResult> {
  system.start();
  try {
    return await measure(system, countQueries);
  } catch (err) {
    const problems = logProblems(system.maillog);
    console.log(`${system.name} failed; ${problems.length} warning, error or reject lines in ${system.maillog}${problems.length > 0 ? ':' : ''}`);
    for (const line of problems.slice(0, 50)) console.log(`  ${line}`);
    throw err;
  } finally {
    system.stop();
    // What the run left unwritten should not weigh on the next one.
    spawnSync('sync');
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

async function startSink(): Promise<{ sink: ChildProcess; port: number }> {
  if (!existsSync(SMTP_SINK)) throw new Error(`${SMTP_SINK} is missing: relay mode needs Debian's postfix (its smtp-sink)`);
  const port = await freePort();
  // smtp-sink refuses to run as root without a user to become.
  const sink = spawn(SMTP_SINK, ['-u', 'nobody', `127.0.0.1:${port}`, '256'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForListener(port);
  return { sink, port };
}

const HOW: Record<Mode, string> = {
  mx: 'one per connection, into ~/Maildir',
  accept: 'one per connection, local deliveries held (defer_transports = local)',
  reuse: "over each session's one connection, into ~/Maildir",
  relay: 'one per connection, relayed to smtp-sink',
  tls: 'one per connection with STARTTLS, into ~/Maildir',
  'virtual-mysql': 'one per connection to 1,000 virtual users (mysql: maps), by virtual(8) into their Maildirs',
  checks: 'one per connection, local deliveries held, to Petrel with 17 restrictions (two DNS blocklists, a domain blocklist, access maps, a policy service) and to Petrel without them',
};

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('smtp-bench starts both systems as root, as systemd would: run it as root');
  const postfixInstalled = existsSync('/usr/sbin/postfix');
  const work = mkdtempSync(join(baseDir, 'petrel-smtp-bench-'));
  // The daemons run as petrel, postfix and the bench user, and must reach their folders below this one.
  chmodSync(work, 0o755);
  let sink: ChildProcess | undefined;
  let database: VirtualDatabase | undefined;
  let checks: CheckPeers | undefined;
  try {
    ensureAccounts(join(work, 'home'));
    let setting: RunSetting = { mode };
    if (mode === 'relay') {
      const started = await startSink();
      sink = started.sink;
      setting = { mode, sinkPort: started.port };
    }
    // One certificate for both systems, so that both sign with the same RSA-2048 key.
    if (mode === 'tls') setting = { mode, certificate: makeCertificate(work, 'bench.localdomain') };
    if (mode === 'virtual-mysql') {
      database = await createVirtualDatabase();
      setting = { mode, virtual: database };
    }
    if (mode === 'checks') {
      checks = await startCheckPeers(BENCH_HOSTNAME);
      setting = { mode, checks };
    }
    const generator = client === 'smtp-source' ? "Debian's smtp-source" : 'the bench client';
    console.log(`mode ${mode}: ${sessions} sessions send ${messages} messages of ${bytes} bytes ${HOW[mode]}, by ${generator}${warmup > 0 ? `, after ${warmup} warm-up messages the figures leave out` : ''}`);
    // A, B, B, A: each system runs as often first as last, so what the machine carries over from
    // one run to the next weighs on both alike. Each run has folders of its own.
    const [first, second] = mode === 'checks' ? (['Petrel+checks', 'Petrel'] as const) : (['Petrel', 'Postfix'] as const);
    const order = (rounds === 1 ? [first, second] : [first, second, second, first]).filter((name) => name !== 'Postfix' || postfixInstalled);
    if (!postfixInstalled && second === 'Postfix') console.log("(Debian's postfix is not installed: Petrel alone, no ratios)");
    const dirs = order.map((name, k) => join(work, `run${k + 1}-${name.toLowerCase().replace('+', '-')}`));
    allowPostfixInstances(dirs.filter((_, k) => order[k] === 'Postfix').map(postfixConfigDir), baseDir);
    const results = new Map<string, RunResult[]>();
    for (const [k, name] of order.entries()) {
      const dir = dirs[k] as string;
      mkdirSync(dir, { mode: 0o755 });
      chmodSync(dir, 0o755);
      const home = join(dir, 'home');
      moveBenchHome(home);
      const system = name === 'Postfix' ? await postfixSystem(dir, setting, home, baseDir) : await petrelSystem(dir, setting, home, name === 'Petrel+checks');
      const policyBefore = checks?.policyRequests() ?? 0;
      const result = await run(system, database !== undefined);
      showRun(name, result);
      // Proof that the policy service was really asked: once per recipient.
      if (name === 'Petrel+checks' && checks !== undefined) console.log(`         policy requests/msg: ${((checks.policyRequests() - policyBefore) / (warmup + messages)).toFixed(2)}`);
      results.set(name, [...(results.get(name) ?? []), result]);
    }
    const a = meanOf(results.get(first) ?? []);
    const b = meanOf(results.get(second) ?? []);
    if (a === undefined || b === undefined) return;
    if (rounds > 1) {
      showRun(`${first} mean`, a);
      showRun(`${second} mean`, b);
    }
    console.log(`means of ${rounds} run${rounds > 1 ? 's' : ''} each:`);
    showComparison(a, b, [first, second]);
  } finally {
    sink?.kill();
    checks?.close();
    if (database !== undefined) await dropVirtualDatabase(database);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

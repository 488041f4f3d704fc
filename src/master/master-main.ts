/*
 * master - the Petrel supervisor (master(8)): takes the instance lock and
 * pid file, creates missing queue directories, opens every listener of
 * master.cf itself, and runs each service's workers (master-service.ts).
 * SIGHUP re-reads main.cf and master.cf: unchanged listeners stay open,
 * workers are replaced as they go idle, services are added and removed.
 * A configuration that asks for protection Petrel does not implement
 * (config-fail-closed.ts) stops it before anything is opened, and a reload
 * to one is refused. SIGTERM and SIGINT stop every worker and exit. Runs in the foreground;
 * "petrel start" runs it in the background. Started as
 * "master -c config_dir".
 */
import { closeSync, writeSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { resolveConfigDir } from '../global/config/config-dir.js';
import { configProblems } from '../global/config-problems.js';
import { loadConfig, type Config } from '../global/config/load-config.js';
import { readMasterCf } from '../global/config/master-cf-read.js';
import { unprivilegedOwner, type Account } from '../global/accounts.js';
import { ensureDataDirectory, ensureQueueDirectories } from '../global/queue/queue-paths.js';
import { runCommand } from '../util/command-main.js';
import { getoptOrUsage } from '../util/getopt.js';
import { maillogOptions } from '../global/params/log-params.js';
import { openMaillog } from '../util/maillog.js';
import { msg, setMsgSink, setProgramName, stderrSink, type MsgSink } from '../util/msg.js';
import { lockMaster } from './master-lock.js';
import { MasterService } from './master-service.js';
import { listenerKey, openListeners, planServices, type PlannedService } from './master-services.js';

/** Seconds a worker gets to finish after SIGTERM before it is killed. */
const STOP_GRACE_SECONDS = 10;
/** Seconds the master waits at start for the first process of each accepting service to accept. */
const START_WAIT_SECONDS = 30;

interface Running {
  readonly service: MasterService;
  /** listenerKey() of the planned service: a reload that changes it reopens the listeners. */
  readonly listeners: string;
}

/** The configuration, what the master would run, and the settings it must refuse to run with. */
async function load(configDir: string): Promise<{ config: Config; problems: string[]; plan: () => PlannedService[] }> {
  const entries = readMasterCf(join(configDir, 'master.cf'));
  const config = loadConfig({ configDir, warnUnused: true }, entries.map((e) => e.service));
  const problems = await configProblems(config, entries);
  return { config, problems, plan: () => planServices(entries, config) };
}

/** Reports each problem (on stderr too when logging to a file) and ends with a fatal error, before anything is opened. */
function refuseToStart(problems: readonly string[], log: MsgSink, logsToFile: boolean): never {
  if (logsToFile) {
    setMsgSink((severity, program, text) => {
      log(severity, program, text);
      stderrSink(severity, program, text);
    });
  }
  for (const problem of problems.slice(0, -1)) msg.error(problem);
  return msg.fatal(problems[problems.length - 1] as string);
}

async function start(running: Map<string, Running>, planned: PlannedService): Promise<void> {
  const service = new MasterService(planned.spec, await openListeners(planned));
  running.set(planned.spec.key, { service, listeners: listenerKey(planned) });
}

/** Waits until every service takes connections (workers of accepting services listen), or says which do not yet. */
async function acceptingEverywhere(running: Map<string, Running>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), START_WAIT_SECONDS * 1000);
  });
  const pending = new Set(running.keys());
  const all = Promise.all([...running].map(([key, { service }]) => service.started.then(() => pending.delete(key))));
  if ((await Promise.race([all, timeout])) === 'timeout') {
    msg.warn(`no process of ${[...pending].join(', ')} accepts connections after ${START_WAIT_SECONDS} seconds; starting anyway`);
  }
  clearTimeout(timer);
}

async function stopService(running: Map<string, Running>, key: string): Promise<void> {
  const entry = running.get(key);
  if (entry === undefined) return;
  running.delete(key);
  await entry.service.stop(STOP_GRACE_SECONDS);
}

async function reload(running: Map<string, Running>, configDir: string): Promise<void> {
  let plan: PlannedService[];
  try {
    const loaded = await load(configDir);
    // Fail closed: a configuration the master would refuse at start is not taken on a reload either.
    // Running workers keep the configuration they loaded; ones started later read main.cf and refuse too.
    if (loaded.problems.length > 0) {
      for (const problem of loaded.problems) msg.error(problem);
      msg.error('reload refused, keeping the running configuration until the settings above are fixed');
      return;
    }
    plan = loaded.plan();
  } catch (err) {
    msg.warn(`reload failed, keeping the running configuration: ${(err as Error).message}`);
    return;
  }
  const wanted = new Map(plan.map((p) => [p.spec.key, p]));
  for (const key of [...running.keys()]) {
    const next = wanted.get(key);
    const current = running.get(key) as Running;
    if (next === undefined || listenerKey(next) !== current.listeners) await stopService(running, key);
  }
  for (const planned of plan) {
    const current = running.get(planned.spec.key);
    try {
      if (current === undefined) await start(running, planned);
      else current.service.reload(planned.spec);
    } catch (err) {
      msg.warn(`service ${planned.spec.key}: ${(err as Error).message}`);
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const { options } = getoptOrUsage(argv, 'c:w', 'usage: master -c config_dir [-w]');
  const READY_FD = 3;
  const notifyReady = options.some((o) => o.letter === 'w');
  const configDir = resolveConfigDir(options.findLast((o) => o.letter === 'c')?.value);
  const { config, problems, plan } = await load(configDir);
  const { params } = config;
  const log = openMaillog(maillogOptions(params));
  setProgramName(`${params.syslog_name}/master`);
  setMsgSink(log);
  if (problems.length > 0) return refuseToStart(problems, log, params.maillog_file !== '');
  const planned = plan();
  let owner: Account | undefined;
  try {
    owner = unprivilegedOwner(params);
  } catch (err) {
    return msg.fatal((err as Error).message);
  }
  ensureQueueDirectories(params.queue_directory, owner);
  try {
    ensureDataDirectory(params.data_directory, owner);
  } catch (err) {
    return msg.fatal((err as Error).message);
  }
  if (owner === undefined && process.getuid?.() !== 0 && userInfo().username !== params.mail_owner) {
    msg.warn(`running as ${userInfo().username}, not as root or mail_owner ${params.mail_owner}: every daemon runs as ${userInfo().username}`);
  }
  const lock = await lockMaster(params.queue_directory);
  if (lock === undefined) return msg.fatal(`the Petrel mail system is already running (queue ${params.queue_directory})`);
  const running = new Map<string, Running>();
  for (const service of planned) {
    try {
      await start(running, service);
    } catch (err) {
      await lock.release();
      msg.fatal(`service ${service.spec.key}: ${(err as Error).message}`);
    }
  }
  await acceptingEverywhere(running);
  msg.info(`daemon started -- version ${params.mail_version}, configuration ${configDir}`);
  // -w (petrel start): tell the starter on descriptor 3 that every listener is open.
  if (notifyReady) {
    writeSync(READY_FD, 'ready\n');
    closeSync(READY_FD);
  }
  process.on('SIGHUP', () => {
    msg.info(`reload -- version ${params.mail_version}, configuration ${configDir}`);
    void reload(running, configDir);
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      msg.info(`terminating on signal ${signal === 'SIGTERM' ? 15 : 2}`);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await Promise.all([...running.keys()].map((key) => stopService(running, key)));
  await lock.release();
  return 0;
}

runCommand('master', main);

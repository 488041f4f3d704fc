/*
 * petrel-control - what "petrel start | start-fg | stop | abort | reload |
 * status | check | flush" do to an instance (postfix(1)): start the master
 * in the background (and wait until it has opened its listeners, or report
 * why it died), run it in the foreground, signal it (SIGTERM stop, SIGKILL
 * abort, SIGHUP reload), report whether it runs, check the configuration
 * (settings Petrel would have to ignore included) and the queue directories (and that mail_owner can reach them), and ask
 * qmgr to deliver deferred mail now. start and check first run "postsuper -s",
 * as Postfix's start-up does, so temporary files a killed writer left go.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configProblems } from '../global/config-problems.js';
import { loadConfig, type Config } from '../global/config/load-config.js';
import { readMasterCf } from '../global/config/master-cf-read.js';
import { QMGR_TRIGGER, triggerQmgr } from '../global/trigger-clnt.js';
import { unprivilegedOwner, type Account } from '../global/accounts.js';
import { ensureDataDirectory, ensureQueueDirectories } from '../global/queue/queue-paths.js';
import { openTableList } from '../global/tables/table-list.js';
import { unsupportedTableType } from '../global/tables/table-registry.js';
import { ALL_PARAMS } from '../global/params/param-registry.js';
import type { ParamSpec } from '../global/params/param-types.js';
import { DAEMON_NODE_FLAGS, MASTER_NODE_FLAGS } from '../master/master-child.js';
import { masterIsRunning, runningMasterPid } from '../master/master-lock.js';
import { planServices } from '../master/master-services.js';
import { msg } from '../util/msg.js';

/** How long petrel start waits for the master's "ready": longer than the master waits for its first workers (master-main.ts). */
const START_WAIT_MS = 60_000;

function masterEntry(config: Config): string[] {
  return [...DAEMON_NODE_FLAGS, ...MASTER_NODE_FLAGS, join(config.params.daemon_directory, 'master', 'master-main.js'), '-c', config.configDir];
}

/** Runs "postsuper -s" on the instance (its messages go to the mail log and stderr); false when it failed. */
function checkQueue(config: Config): boolean {
  const postsuper = join(config.params.daemon_directory, 'postsuper', 'postsuper-main.js');
  const run = spawnSync(process.execPath, [postsuper, '-c', config.configDir, '-s'], { stdio: ['ignore', 'inherit', 'inherit'] });
  return run.status === 0;
}

/** petrel start: the master in the background; resolves once it runs. */
export async function startMaster(config: Config): Promise<number> {
  if (await masterIsRunning(config.params.queue_directory)) return msg.fatal('the Petrel mail system is already running');
  ensureQueueDirectories(config.params.queue_directory, unprivilegedOwner(config.params));
  if (!checkQueue(config)) return msg.fatal('the queue check (postsuper -s) failed');
  // The master says "ready" on descriptor 3 once every listener is open (its -w option).
  const child = spawn(process.execPath, [...masterEntry(config), '-w'], { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const readyPipe = child.stdio[3] as Readable;
  const errors = child.stdio[2] as Readable;
  let stderr = '';
  let ready = '';
  errors.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  readyPipe.on('data', (chunk: Buffer) => (ready += chunk.toString('utf8')));
  const exited = once(child, 'exit');
  // Whatever the outcome, this process no longer waits for the master.
  const letGo = (): void => {
    readyPipe.destroy();
    errors.destroy();
    child.unref();
  };
  const deadline = Date.now() + START_WAIT_MS;
  while (Date.now() < deadline) {
    const outcome = await Promise.race([exited.then(() => 'exit'), sleep(50).then(() => 'tick')]);
    if (outcome === 'exit') return msg.fatal(`the master did not start: ${stderr.trim() || `exit status ${child.exitCode}`}`);
    if (ready.includes('ready\n')) {
      letGo();
      msg.info('starting the Petrel mail system');
      return 0;
    }
  }
  letGo();
  return msg.fatal(`the master (pid ${child.pid}) did not say it was ready within ${START_WAIT_MS / 1000} seconds; see the mail log`);
}

/** petrel start-fg: the master in the foreground; its exit status. */
export async function runMasterForeground(config: Config): Promise<number> {
  const child = spawn(process.execPath, masterEntry(config), { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? 1;
}

/** Sends signal to the running master; stop and abort wait until it is gone. */
export async function signalMaster(config: Config, signal: 'SIGTERM' | 'SIGKILL' | 'SIGHUP'): Promise<number> {
  const pid = await runningMasterPid(config.params.queue_directory);
  if (pid === undefined) return msg.fatal('the Petrel mail system is not running');
  process.kill(pid, signal);
  if (signal === 'SIGHUP') {
    msg.info('refreshing the Petrel mail system');
    return 0;
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && (await masterIsRunning(config.params.queue_directory))) await sleep(100);
  msg.info(signal === 'SIGTERM' ? 'stopping the Petrel mail system' : 'aborting the Petrel mail system');
  return 0;
}

/** petrel status. */
export async function masterStatus(config: Config): Promise<number> {
  const pid = await runningMasterPid(config.params.queue_directory);
  if (pid === undefined) {
    msg.warn('the Petrel mail system is not running');
    return 1;
  }
  msg.info(`the Petrel mail system is running: PID: ${pid}`);
  return 0;
}

/**
 * petrel check: queue directories, master.cf, settings Petrel would have to
 * ignore (config-fail-closed.ts, each one an error), and every table parameter opens.
 */
export async function checkInstance(config: Config): Promise<number> {
  const { params } = config;
  const owner = unprivilegedOwner(params);
  for (const path of ensureQueueDirectories(params.queue_directory, owner)) msg.info(`${path}: owner set to ${params.mail_owner}`);
  if (ensureDataDirectory(params.data_directory, owner)) msg.info(`${params.data_directory}: owner set to ${params.mail_owner}`);
  let problems = checkQueue(config) ? 0 : 1;
  const entries = readMasterCf(join(config.configDir, 'master.cf'));
  planServices(entries, config);
  for (const problem of await configProblems(config, entries)) {
    msg.error(problem);
    problems++;
  }
  if (owner !== undefined) {
    const blocked = blockingDirectory(params.queue_directory, owner);
    if (blocked !== undefined) {
      msg.warn(`queue_directory ${params.queue_directory}: ${params.mail_owner} cannot reach it: ${blocked} is not searchable by that account`);
      problems++;
    }
  }
  for (const [name, spec] of Object.entries(ALL_PARAMS as Record<string, ParamSpec>)) {
    if (spec.kind !== 'tables') continue;
    const specs = (params as Record<string, unknown>)[name] as readonly string[];
    // an unsupported type was reported above, naming where it is set
    if (specs.some((spec) => unsupportedTableType(spec) !== undefined)) continue;
    try {
      await (await openTableList(specs, { configDir: config.configDir })).close();
    } catch (err) {
      msg.warn(`${name}: ${(err as Error).message}`);
      problems++;
    }
  }
  return problems === 0 ? 0 : 1;
}

/** The first directory above path (path excluded) that account cannot search, if any. */
function blockingDirectory(path: string, account: Account): string | undefined {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const st = statSync(dir);
    const searchable = (st.mode & 0o001) !== 0 || (st.uid === account.uid && (st.mode & 0o100) !== 0) || (st.gid === account.gid && (st.mode & 0o010) !== 0);
    if (!searchable) return dir;
    if (dir === dirname(dir)) return undefined;
  }
}

/** petrel flush: deliver deferred mail now. */
export async function flushQueue(config: Config): Promise<number> {
  if (!(await triggerQmgr(config.params.queue_directory, QMGR_TRIGGER.flush))) return msg.fatal('cannot reach the queue manager: is the mail system running?');
  return 0;
}

/** Loads the configuration a control command acts on. */
export function controlConfig(configDir: string): Config {
  return loadConfig({ configDir, warnUnused: true }, readMasterCf(join(configDir, 'master.cf')).map((e) => e.service));
}

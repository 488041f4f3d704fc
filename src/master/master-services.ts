/*
 * master-services - turns master.cf entries into running services for the
 * master: which compiled daemon each command runs ($daemon_directory/<cmd>/
 * <cmd>-main.js; lmtp runs smtp's), the worker's arguments (-c, -n, -t, -C command, -u for an
 * unprivileged service, the -o overrides and
 * master.cf's own arguments), its thread pool size (petrel_io_threads), maxproc, wakeup, the process cap (one, with
 * no connection limit, for the daemons whose one process holds shared
 * state: anvil), the listeners, and
 * which trigger daemons run only on demand. An entry whose daemon Petrel does not have is skipped with a
 * warning naming it, never silently (an info line for the Postfix daemons
 * whose work Petrel does inside other processes). Used by master-main.ts at start and on
 * reload.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigSource } from '../global/config/config-source.js';
import type { Config } from '../global/config/load-config.js';
import type { MasterEntry } from '../global/config/master-cf-read.js';
import { convertParam } from '../global/config/param-convert.js';
import { PetrelError } from '../global/errors.js';
import { ALL_PARAMS, type Params } from '../global/params/param-registry.js';
import type { MessageQueue } from '../global/queue/queue-paths.js';
import { msg } from '../util/msg.js';
import { bindListener, listenAddresses, type ListenAddress, type Listener } from './master-listen.js';
import type { ServiceSpec } from './master-service.js';

/** A master.cf entry the master can run, with where it listens. */
export interface PlannedService {
  readonly spec: ServiceSpec;
  readonly addresses: readonly ListenAddress[];
}

/**
 * Postfix daemons whose work Petrel does inside other processes: a
 * master.cf line naming one starts nothing, and says so in an info line
 * rather than a warning, since every Postfix master.cf has these lines.
 */
const IN_PROCESS: Readonly<Record<string, string>> = {
  'trivial-rewrite': 'rewriting and routing run inside each daemon that needs them',
  showq: 'postqueue and mailq read the queue themselves',
  error: 'qmgr carries out the error and retry transports itself',
  discard: 'qmgr carries out the discard transport itself',
};

/**
 * Trigger daemons that need not stay resident, with the queue folder that
 * says when there is work for them: the master starts one when a client
 * triggers it or when its wakeup finds a file in that folder, and the
 * process exits after max_idle idle seconds. pickup (about 14 MB) is
 * needed only when something was submitted locally.
 */
const ON_DEMAND: Readonly<Record<string, MessageQueue>> = { pickup: 'maildrop' };

/**
 * Daemons whose one process keeps state every client shares (Postfix runs
 * them with maxproc 1): maxproc counts that one process, not its
 * connections, so every client is served at once. Like the other unix
 * services it is started when a first client connects and exits after
 * max_idle seconds without one (anvil's clients, smtpd processes, keep
 * their connection).
 */
const SINGLE_PROCESS: Readonly<Record<string, string>> = {
  anvil: 'the counts of every smtpd process live in one process',
};

/** master.cf commands served by another command's program (Postfix's lmtp is its smtp). */
const SHARED_PROGRAMS: Readonly<Record<string, string>> = { lmtp: 'smtp' };

/** The compiled entry of a daemon command. */
export function daemonEntry(params: Params, command: string): string {
  const program = SHARED_PROGRAMS[command] ?? command;
  return join(params.daemon_directory, program, `${program}-main.js`);
}

/**
 * petrel_io_threads of a service: its -o override, else main.cf's. The
 * master converts this one parameter itself because libuv reads the pool
 * size from the environment before the worker's skeleton runs. A bad
 * override leaves main.cf's here; the worker then refuses to start, saying
 * why, as it does for any bad -o value.
 */
function ioThreads(entry: MasterEntry, config: Config): number {
  const name = 'petrel_io_threads';
  if (!entry.overrides.some(([overridden]) => overridden === name)) return config.params.petrel_io_threads;
  try {
    // The main.cf the master loaded, with the service's overrides on top.
    const source = new ConfigSource({ configDir: config.configDir, overrides: Object.fromEntries(entry.overrides) }, config.source.mainCf);
    return convertParam(name, ALL_PARAMS[name], source.value(name) ?? '');
  } catch (err) {
    if (!(err instanceof PetrelError)) throw err;
    return config.params.petrel_io_threads;
  }
}

/** Plans every runnable entry of master.cf. */
export function planServices(entries: readonly MasterEntry[], config: Config): PlannedService[] {
  const { params, configDir } = config;
  const planned: PlannedService[] = [];
  for (const entry of entries) {
    const key = `${entry.service}/${entry.type}`;
    const entryFile = daemonEntry(params, entry.command);
    const inProcess = IN_PROCESS[entry.command];
    if (inProcess !== undefined) {
      msg.info(`master.cf: line ${entry.line}: service ${key}: no process of its own (${inProcess})`);
      continue;
    }
    if (!/^[a-z0-9-]+$/.test(entry.command) || !existsSync(entryFile)) {
      msg.warn(`master.cf: line ${entry.line}: service ${key}: Petrel has no "${entry.command}" daemon; service not started`);
      continue;
    }
    const maxproc = entry.maxproc ?? params.default_process_limit;
    const wakeup = entry.wakeup?.seconds ?? 0;
    const args = ['-c', configDir, '-n', entry.service, '-t', entry.type, '-C', entry.command];
    if (entry.unpriv !== false) args.push('-u');
    const addresses = listenAddresses(entry, params);
    const workQueue = wakeup > 0 ? ON_DEMAND[entry.command] : undefined;
    const single = SINGLE_PROCESS[entry.command] !== undefined;
    const accepting = entry.type === 'inet' || (wakeup > 0 && workQueue === undefined);
    // Postfix's -s: how many listening sockets the worker is to accept on before it says it is ready.
    if (accepting) args.push('-s', String(addresses.length));
    for (const [name, value] of entry.overrides) args.push('-o', `${name}=${value}`);
    args.push(...entry.args);
    planned.push({
      spec: {
        key,
        maxproc,
        wakeup,
        processCap: maxproc === 1 || single ? 1 : Math.max(1, Math.min(availableParallelism(), maxproc === 0 ? Infinity : maxproc)),
        single,
        throttleTime: params.service_throttle_time,
        // Network connections and triggers go straight to the workers; a resident process is there to take them.
        accepting,
        ...(workQueue === undefined ? {} : { workQueue: { queueDirectory: params.queue_directory, queue: workQueue } }),
        child: { entry: entryFile, args, ioThreads: ioThreads(entry, config) },
      },
      addresses,
    });
  }
  return planned;
}

/** A stable text for comparing listener sets (and who accepts on them) across a reload. */
export function listenerKey(service: PlannedService): string {
  const addresses = service.addresses.map((a) => (a.kind === 'tcp' ? `tcp:${a.host}:${a.port}` : `unix:${a.path}`)).join(',');
  return `${service.spec.accepting ? 'workers' : 'master'} ${addresses}`;
}

/** Binds the listeners of a planned service; on failure closes the ones already bound. */
export async function openListeners(service: PlannedService): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    for (const address of service.addresses) listeners.push(await bindListener(address));
  } catch (err) {
    for (const { handle } of listeners) handle.close();
    throw err;
  }
  return listeners;
}

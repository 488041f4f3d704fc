/*
 * skeleton - the one server skeleton every daemon runs in (STYLE: a thin
 * daemon main over a shared skeleton). It parses what the master passes
 * (-c config_dir, -n service, -t type, -C command, -o name=value, -u unprivileged,
 * -s count of listening sockets the master sends), loads main.cf with the
 * service's -o overrides on top, refuses to serve when they ask for
 * protection Petrel does not implement (config-fail-closed.ts), sends diagnostics
 * to the mail log as "syslog_name/daemon[pid]", drops root for mail_owner
 * when the service is unprivileged (master.cf's unpriv column), and serves
 * clients: for an accepting service it accepts on the listening sockets
 * the master sent (up to its share of maxproc at once, telling the master
 * when its event loop is busy so that another process is started), for the
 * others it serves each connection the master hands over (the master keeps
 * maxproc) and reports it done. It counts requests for
 * max_use, exits after max_idle idle seconds,
 * finishes when the master says stop, and turns a fault in one connection
 * into a log line instead of a dead process. Follows Postfix's
 * multi_server(3) as one event loop; skeleton-trigger.ts builds
 * trigger_server(3) (qmgr, pickup) on it.
 */
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { failClosedProblems } from '../global/config/config-fail-closed.js';
import { loadConfig, type Config } from '../global/config/load-config.js';
import { readMasterCf } from '../global/config/master-cf-read.js';
import { unprivilegedOwner } from '../global/accounts.js';
import { dropPrivileges } from '../global/privileges.js';
import { maillogOptions } from '../global/params/log-params.js';
import { isListenHandle } from '../util/listen-handle.js';
import { openMaillog } from '../util/maillog.js';
import { msg, setMsgSink, setProgramName } from '../util/msg.js';
import { isMasterMessage, type WorkerToMaster } from './master-protocol.js';
import { WorkerListeners } from './skeleton-accept.js';

/** What a daemon's hooks see. */
export interface WorkerContext {
  readonly config: Config;
  /** The master.cf service name ("smtp", "127.0.0.1:2525", "cleanup" ...). */
  readonly service: string;
  /** The master.cf command ("smtp" or "lmtp" for the one program that serves both). */
  readonly command: string;
  /** The arguments after the command in master.cf. */
  readonly args: readonly string[];
  /** True once the process is finishing (max_use, max_idle, reload): a connection that carries many requests should end. */
  retiring(): boolean;
}

/** A daemon: its name and what it does when. */
export interface DaemonHooks {
  /** The program name in logs ("smtpd", "cleanup" ...). */
  readonly name: string;
  /** Resident daemons (qmgr) ignore max_use and max_idle. */
  readonly resident?: boolean;
  /** Runs once before privileges are dropped (files only root may read: TLS keys, SASL configuration). */
  preInit?(ctx: WorkerContext): Promise<void> | void;
  /** Runs once before the first client. */
  postInit?(ctx: WorkerContext): Promise<void> | void;
  /** After postInit: the most client connections this process serves at once (the master starts more processes for more); none when unset. */
  connectionLimit?(ctx: WorkerContext): number | undefined;
  /** Serves one client; resolves when it is over. */
  onConnection?(socket: Socket, ctx: WorkerContext): Promise<void>;
  /** The master's wake-up timer fired. */
  onWakeup?(ctx: WorkerContext): Promise<void> | void;
  /** Runs once before the process exits. */
  onExit?(ctx: WorkerContext): Promise<void> | void;
}

/** What the master passes to every worker. */
export interface WorkerArgs {
  readonly configDir: string;
  readonly service: string;
  readonly command: string;
  readonly overrides: Readonly<Record<string, string>>;
  /** master.cf's unpriv column: run as mail_owner, not as root. */
  readonly unprivileged: boolean;
  /** The arguments after the command in master.cf (pipe's flags=, user=, argv= ...). */
  readonly args: readonly string[];
  /** How many listening sockets the master sends to accept on (0: it hands connections over). */
  readonly sockets: number;
}

/** Parses the worker's command line. */
export function parseWorkerArgs(argv: readonly string[]): WorkerArgs {
  let configDir = '';
  let service = '';
  let command = '';
  const overrides: Record<string, string> = {};
  let unprivileged = false;
  let sockets = 0;
  let i = 0;
  // The master's options come first; the first other word starts master.cf's own arguments (pipe's argv=...).
  for (; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === '-u') {
      unprivileged = true;
      continue;
    }
    if (!['-c', '-n', '-t', '-o', '-C', '-s'].includes(flag)) break;
    const value = argv[++i];
    if (value === undefined) throw new Error(`option ${flag} needs a value`);
    if (flag === '-c') configDir = value;
    else if (flag === '-n') service = value;
    else if (flag === '-C') command = value;
    else if (flag === '-s') sockets = Number(value);
    else if (flag === '-o') {
      const eq = value.indexOf('=');
      if (eq <= 0) throw new Error(`bad -o option "${value}"`);
      overrides[value.slice(0, eq)] = value.slice(eq + 1);
    }
  }
  if (configDir === '' || service === '') throw new Error('the master must pass -c and -n');
  return { configDir, service, command, overrides, unprivileged, sockets, args: argv.slice(i) };
}

/** The -o values of every master.cf service: their $name references make a main.cf name a user-defined macro. */
function masterCfOverrideTexts(configDir: string): string[] {
  try {
    return readMasterCf(join(configDir, 'master.cf')).flatMap((entry) => entry.overrides.map(([, value]) => value));
  } catch {
    // the master read this file before it started the worker; a later edit is the next reload's business
    return [];
  }
}

/** The settings this service must refuse to serve with, each naming where it is set. */
function serviceProblems(args: WorkerArgs, config: Config): string[] {
  return failClosedProblems({
    configDir: args.configDir,
    mainCf: config.source.mainCf,
    services: [{ where: `${join(args.configDir, 'master.cf')}: service ${args.service}`, overrides: Object.entries(args.overrides) }],
    otherTexts: masterCfOverrideTexts(args.configDir),
  });
}

function tell(message: WorkerToMaster): void {
  // The master may be gone (killed); the worker then finishes on its own ("disconnect").
  if (process.connected) process.send?.(message, undefined, {}, () => undefined);
}

/** Runs a daemon under the master; never returns normally (the process exits when done). */
export function runDaemon(hooks: DaemonHooks): void {
  setProgramName(hooks.name);
  let args: WorkerArgs;
  let config: Config;
  try {
    args = parseWorkerArgs(process.argv.slice(2));
    config = loadConfig({ configDir: args.configDir, overrides: { ...args.overrides, service_name: args.service } });
  } catch (err) {
    process.stderr.write(`${hooks.name}: fatal: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const { params } = config;
  // Logged under the master.cf command, as Postfix's argv[0]: lmtp, which runs smtp's program, says lmtp.
  setProgramName(`${params.syslog_name}/${args.command === '' ? hooks.name : args.command}`);
  setMsgSink(openMaillog(maillogOptions(params)));
  // Fail closed: the service never serves with settings Petrel would ignore.
  const problems = serviceProblems(args, config);
  if (problems.length > 0) {
    for (const problem of problems.slice(0, -1)) msg.error(problem);
    try {
      msg.fatal(problems[problems.length - 1] as string);
    } catch {
      process.exit(1);
    }
    return;
  }
  let active = 0;
  let served = 0;
  let stopping = false;
  const ctx: WorkerContext = { config, service: args.service, command: args.command, args: args.args, retiring: () => stopping };
  let idleTimer: NodeJS.Timeout | undefined;

  const exit = async (code: number): Promise<never> => {
    try {
      await hooks.onExit?.(ctx);
    } finally {
      process.exit(code);
    }
  };
  const die = (text: string): void => {
    try {
      msg.fatal(text);
    } catch {
      void exit(1);
    }
  };
  // A worker that retires on its own (max_use, max_idle) waits for the master's "stop" before it
  // exits: until then a connection may already be on its way, and it must be served, not dropped.
  let released = false;
  const finishIfIdle = (): void => {
    if (stopping && released && active === 0) void exit(0);
  };
  const retire = (reason: 'max_use' | 'max_idle' | 'stop'): void => {
    if (reason === 'stop' || !process.connected) released = true;
    // A process that has served its max_use takes no more connections; one only idle waits to hear whether it is still needed.
    if (reason !== 'max_idle') listeners.close();
    if (!stopping) {
      stopping = true;
      if (reason !== 'stop') tell({ type: 'retire', reason });
    }
    finishIfIdle();
  };
  const armIdle = (): void => {
    if (hooks.resident === true || params.max_idle <= 0) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (active === 0) retire('max_idle');
    }, params.max_idle * 1000);
  };
  /** Serves one client connection, however it came; finished() reports it over. */
  const serve = (socket: Socket, finished: () => void): void => {
    const onConnection = hooks.onConnection;
    if (onConnection === undefined) {
      socket.destroy();
      finished();
      return;
    }
    active++;
    served++;
    clearTimeout(idleTimer);
    socket.on('error', () => undefined);
    socket.resume();
    onConnection(socket, ctx)
      .catch((err: unknown) => msg.warn(`${args.service}: connection fault: ${(err as Error).stack ?? String(err)}`))
      .finally(() => {
        socket.destroy();
        active--;
        finished();
        if (stopping) {
          finishIfIdle();
          return;
        }
        if (hooks.resident !== true && params.max_use > 0 && served >= params.max_use) retire('max_use');
        else armIdle();
      });
  };
  const listeners = new WorkerListeners({ serve, tell });
  // "ready" once initialised and accepting on every socket the master said it would send.
  let initialised = false;
  let received = 0;
  let announced = false;
  const announceReady = (): void => {
    if (announced || !initialised || received < args.sockets) return;
    announced = true;
    const connections = hooks.connectionLimit?.(ctx);
    tell(connections === undefined ? { type: 'ready' } : { type: 'ready', connections });
    armIdle();
  };

  process.on('uncaughtException', (err) => die(`uncaught exception: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => die(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`));
  process.on('disconnect', () => retire('stop'));
  process.on('SIGTERM', () => void exit(0));
  process.on('message', (message: unknown, handle: unknown) => {
    if (!isMasterMessage(message)) return;
    if (message.type === 'connection') {
      const finished = (): void => tell({ type: 'done', id: message.id });
      if (handle === undefined) finished();
      else serve(handle as Socket, finished);
    } else if (message.type === 'listen') {
      if (!isListenHandle(handle)) return;
      listeners.add(handle, message.limit, message.backlog);
      received++;
      announceReady();
    } else if (message.type === 'stay') {
      stopping = false;
      armIdle();
    } else if (message.type === 'wakeup') {
      // A wakeup's work counts as a connection's: the process neither idles out nor exits in the middle of it.
      active++;
      clearTimeout(idleTimer);
      Promise.resolve(hooks.onWakeup?.(ctx))
        .catch((err: unknown) => msg.warn(`wakeup: ${(err as Error).message}`))
        .finally(() => {
          active--;
          if (stopping) finishIfIdle();
          else armIdle();
        });
    } else if (message.type === 'stop') {
      retire('stop');
    }
  });

  const init = async (): Promise<void> => {
    const owner = args.unprivileged ? unprivilegedOwner(params) : undefined;
    await hooks.preInit?.(ctx);
    if (owner !== undefined) {
      // The mail log was opened as root (it may be root's file); now root is given up for good.
      dropPrivileges(owner);
    }
    await hooks.postInit?.(ctx);
  };
  init().then(
    () => {
      initialised = true;
      listeners.start();
      announceReady();
    },
    (err: unknown) => die((err as Error).message),
  );
}

/*
 * master-child - the master's handle on one worker process: forks the
 * compiled daemon, sends it the service's listening sockets to accept on
 * or hands it sockets the master accepted (counting the connections it is
 * serving), and reports its readiness, load, retirement and exit. Used by
 * master-service.ts; the worker side of the conversation is the skeleton in
 * skeleton.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { msg } from '../util/msg.js';
import type { Listener } from './master-listen.js';
import { isWorkerMessage, type MasterToWorker } from './master-protocol.js';

/**
 * V8 settings of every Petrel daemon process (the master's too, see
 * petrel-control.ts). Node's default young generation grows to 16 MB
 * semi-spaces per process under load, and it keeps four V8 helper threads
 * (each with its own malloc arena); a daemon's live set per message is far
 * smaller, and with a dozen processes the defaults made up most of the
 * instance's peak PSS (bench/README.md: 279 MB before, about 185 MB after).
 * The old generation may grow by half its live size between full
 * collections instead of V8's dynamic factor (about 2 to 2.5 here): a
 * daemon's full collections are few and cheap, its young-generation
 * scavenges are most of its GC time, and the peak PSS of mode mx fell by
 * about 20 MB (bench/README.md). Collections run on the daemon's own
 * thread (--single-threaded-gc): V8's concurrent marking and parallel
 * scavenging hand work to its helper thread and back, and on two busy
 * cores those hand-offs cost more than they save: in mode mx every
 * daemon's CPU a message fell, Petrel's by about 6 % more than Postfix's
 * in the same alternated runs (bench/README.md).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1', '--heap-growing-percent=50', '--single-threaded-gc'];

/**
 * V8 settings of the master alone, which its workers do not inherit. The
 * master spends about 0.02 ms of CPU a message (the workers accept their
 * own connections), so it runs without V8's optimising compilers
 * (--lite-mode): its peak PSS in mode mx fell from about 24 to 17 MB.
 * Lite mode has no WebAssembly; saying so (--no-expose-wasm) spares a
 * warning on stderr at every start. The master uses none.
 */
export const MASTER_NODE_FLAGS: readonly string[] = ['--lite-mode', '--no-expose-wasm'];

/** How to start one worker. */
export interface ChildSpec {
  /** The compiled daemon entry (…/smtpd/smtpd-main.js). */
  readonly entry: string;
  /** Arguments: -c DIR, -n service, -t type, -o name=value, and master.cf's own. */
  readonly args: readonly string[];
  /** The size of the process's libuv thread pool (petrel_io_threads), which libuv reads from its environment. */
  readonly ioThreads: number;
}

/**
 * Events: "ready", "slot" (a connection finished), "load" (an accepting
 * worker's busy flag changed), "relisten", "retire" (reason), "exit" (code,
 * signal, servedAny).
 */
export class MasterChild extends EventEmitter {
  readonly process: ChildProcess;
  /** Connections handed over and not yet reported done. */
  active = 0;
  /** Connections handed over in this process's life. */
  served = 0;
  ready = false;
  retiring = false;
  /** An accepting worker that says another process would help. */
  busy = false;
  /** The most connections the worker itself takes at once (it said so when ready). */
  connectionLimit = Number.POSITIVE_INFINITY;
  private nextId = 1;
  private readonly open = new Set<number>();

  constructor(spec: ChildSpec) {
    super();
    // The master runs with DAEMON_NODE_FLAGS already; profiling flags it was started with carry over too.
    const execArgv = [...new Set([...process.execArgv.filter((flag) => !MASTER_NODE_FLAGS.includes(flag)), ...DAEMON_NODE_FLAGS])];
    const env = { ...process.env, UV_THREADPOOL_SIZE: String(spec.ioThreads) };
    this.process = fork(spec.entry, [...spec.args], { execArgv, env, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    // A worker that fails before it could open the mail log says why on stderr: the master logs it.
    this.process.stderr?.setEncoding('utf8');
    let partial = '';
    this.process.stderr?.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() as string;
      for (const line of lines) if (line.trim() !== '') msg.warn(`process ${spec.entry} pid ${this.process.pid ?? '?'}: ${line}`);
    });
    this.process.on('message', (message) => this.onMessage(message));
    this.process.on('exit', (code, signal) => {
      this.open.clear();
      this.active = 0;
      this.emit('exit', code, signal, this.served > 0);
    });
    // An IPC error (the child already gone) shows up as its exit; nothing else to do here.
    this.process.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** True while the process can take new work. */
  get usable(): boolean {
    return this.ready && !this.retiring && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Hands socket to the worker; the master's copy is closed once it is sent. */
  give(socket: Socket): void {
    const id = this.nextId++;
    this.open.add(id);
    this.active++;
    this.served++;
    const message: MasterToWorker = { type: 'connection', id };
    this.process.send(message, socket, { keepOpen: false }, (err) => {
      if (err) {
        socket.destroy();
        this.finish(id);
      }
    });
  }

  /** Sends the service's bound sockets for the worker to accept on, with its share of maxproc (0: no limit). */
  listen(listeners: readonly Listener[], limit: number): void {
    for (const { handle, backlog } of listeners) {
      const message: MasterToWorker = { type: 'listen', limit, backlog };
      if (this.process.connected) this.process.send(message, handle as never, { keepOpen: true }, () => undefined);
    }
  }

  /** Answers a max_idle retirement: the service needs this process, keep running. */
  stay(): void {
    this.post({ type: 'stay' });
  }

  /** Sends a wakeup (trigger servers: qmgr, pickup). */
  wakeup(): void {
    this.post({ type: 'wakeup' });
  }

  /** Asks the worker to finish what it is doing and exit. */
  stop(): void {
    this.retiring = true;
    this.post({ type: 'stop' });
  }

  /** Ends the process at once. */
  kill(): void {
    this.process.kill('SIGKILL');
  }

  private post(message: MasterToWorker): void {
    // A send to a worker that is exiting fails; its exit event tells the rest.
    if (this.process.connected) this.process.send(message, () => undefined);
  }

  private finish(id: number): void {
    if (!this.open.delete(id)) return;
    this.active--;
    this.emit('slot');
  }

  private onMessage(message: unknown): void {
    if (!isWorkerMessage(message)) return;
    switch (message.type) {
      case 'ready':
        this.ready = true;
        if (message.connections !== undefined && message.connections > 0) this.connectionLimit = message.connections;
        this.emit('ready');
        break;
      case 'done':
        this.finish(message.id);
        break;
      case 'load':
        this.busy = message.busy;
        this.emit('load');
        break;
      case 'relisten':
        this.emit('relisten');
        break;
      case 'retire':
        // The service answers with stop() (after which no connection is sent, so the worker may exit once idle) or stay().
        this.emit('retire', message.reason);
        break;
    }
  }
}

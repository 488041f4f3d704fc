/*
 * skeleton-accept - the accepting side of the worker skeleton: listens on
 * the bound sockets the master sends ("listen" messages, see
 * master-protocol.ts), passes each accepted connection to the skeleton,
 * keeps at most the process's share of maxproc at once (at the limit it
 * closes its copies of the sockets, so that the connections wait in the
 * kernel's backlog or go to a sibling, and asks for them again once below
 * it), and tells the master when the process is busy: its event loop was
 * more than half busy over the last sample, or it is at its limit. Used by
 * skeleton.ts; the sockets come from master-listen.ts through
 * listen-handle.ts.
 */
import type { Server, Socket } from 'node:net';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { acceptOn, type ListenHandle } from '../util/listen-handle.js';
import { msg } from '../util/msg.js';
import type { Listener } from './master-listen.js';
import type { WorkerToMaster } from './master-protocol.js';

/** How often the event loop's load is sampled. */
const LOAD_SAMPLE_MS = 1000;
/** The share of a sample the event loop may be busy before the process asks for a sibling. */
const BUSY_UTILIZATION = 0.5;

/** What the accepting side needs from the skeleton. */
export interface AcceptHooks {
  /** Serves one accepted connection; calls done() when it is over. */
  serve(socket: Socket, done: () => void): void;
  tell(message: WorkerToMaster): void;
}

/** The listening sockets of one worker process and its load as the master sees it. */
export class WorkerListeners {
  private readonly handles: Listener[] = [];
  private readonly servers: Server[] = [];
  private started = false;
  private closed = false;
  private limit = 0;
  private active = 0;
  private full = false;
  private busy = false;
  private sampler: NodeJS.Timeout | undefined;
  private lastSample: EventLoopUtilization | undefined;

  constructor(private readonly hooks: AcceptHooks) {}

  /** Takes a socket from the master; accepts on it at once if the process is serving already. */
  add(handle: ListenHandle, limit: number, backlog: number): void {
    if (this.closed) {
      handle.close();
      return;
    }
    this.limit = limit;
    this.full = false;
    this.handles.push({ handle, backlog });
    if (this.started) this.listen(handle, backlog);
  }

  /** Starts accepting on every socket received so far (once the process is initialised). */
  start(): void {
    this.started = true;
    for (const { handle, backlog } of this.handles) this.listen(handle, backlog);
    if (this.handles.length > 0 && this.sampler === undefined) {
      this.lastSample = performance.eventLoopUtilization();
      this.sampler = setInterval(() => this.sample(), LOAD_SAMPLE_MS);
      this.sampler.unref();
    }
  }

  /** Stops accepting for good (retirement, stop): connections being served go on. */
  close(): void {
    this.closed = true;
    clearInterval(this.sampler);
    this.closeServers();
  }

  private listen(handle: ListenHandle, backlog: number): void {
    const server = acceptOn(handle, backlog, (socket) => this.accepted(socket));
    server.on('error', (err) => msg.warn(`accept: ${err.message}`));
    this.servers.push(server);
  }

  private closeServers(): void {
    for (const server of this.servers.splice(0)) server.close();
    this.handles.length = 0;
  }

  private accepted(socket: Socket): void {
    this.active++;
    if (this.limit > 0 && this.active >= this.limit && !this.full) {
      // At the limit: the next connections wait in the backlog or go to a sibling.
      this.full = true;
      this.closeServers();
      this.report(true);
    }
    this.hooks.serve(socket, () => {
      this.active--;
      if (this.full && this.active < this.limit && !this.closed) {
        this.full = false;
        this.hooks.tell({ type: 'relisten' });
      }
    });
  }

  private sample(): void {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, this.lastSample).utilization;
    this.lastSample = now;
    this.report(this.full || utilization > BUSY_UTILIZATION);
  }

  private report(busy: boolean): void {
    if (busy === this.busy) return;
    this.busy = busy;
    this.hooks.tell({ type: 'load', busy });
  }
}

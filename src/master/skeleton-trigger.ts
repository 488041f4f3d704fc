/*
 * skeleton-trigger - the trigger server skeleton of the daemons that work
 * on wake-up requests (qmgr resident, pickup on demand), as Postfix's
 * trigger_server(3): a client connects to the service's socket
 * (public/qmgr, public/pickup: bound by the master; qmgr's accepted on by
 * its worker, pickup's handed over by the master), writes one-byte trigger codes and closes (see
 * trigger-clnt.ts); the master's timer from master.cf's wakeup column
 * arrives as the wakeup code. Requests are coalesced: the daemon's handler
 * runs with the set of codes that came since its last run, never two runs
 * at once, and a request that comes during a run gets one more run right
 * after it, so nothing that happens after a trigger is missed. Once the
 * daemon is initialised the handler runs once as if woken, before the
 * master hears that the process is ready. Built on skeleton.ts.
 */
import type { Socket } from 'node:net';
import { TRIGGER_WAKEUP } from '../global/trigger-clnt.js';
import { runDaemon, type WorkerContext } from './skeleton.js';

/** Runs a handler on coalesced requests: runs never overlap, and a request during a run gets a run after it. */
export class TriggerQueue {
  private running = false;
  private pending = new Set<string>();
  private waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  constructor(private readonly handler: (codes: ReadonlySet<string>) => Promise<void>) {}

  /** Asks for a run that sees these codes; resolves when that run is over, rejects with its error. */
  request(codes: Iterable<string>): Promise<void> {
    for (const code of codes) this.pending.add(code);
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.running) void this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.waiting.length > 0) {
      const codes = this.pending;
      const waiting = this.waiting;
      this.pending = new Set();
      this.waiting = [];
      try {
        await this.handler(codes);
        for (const { resolve } of waiting) resolve();
      } catch (err) {
        for (const { reject } of waiting) reject(err);
      }
    }
    this.running = false;
  }
}

/** What a trigger daemon's hooks see: the worker's context, and a way to ask for a run itself (its own timers). */
export interface TriggerContext extends WorkerContext {
  request(codes: string): Promise<void>;
}

/** A trigger daemon: its name, its initialisation and its handler. */
export interface TriggerServerHooks {
  /** The program name in logs ("qmgr", "pickup"). */
  readonly name: string;
  /** False for a daemon the master runs on demand (pickup): it exits after max_idle idle seconds. Default true. */
  readonly resident?: boolean;
  /** Runs once before the first trigger. */
  postInit?(ctx: TriggerContext): Promise<void> | void;
  /** Serves the codes that came since the last run; runs never overlap. */
  onTrigger(codes: ReadonlySet<string>, ctx: TriggerContext): Promise<void>;
}

/** The distinct codes a client wrote before it closed (at most 256 of them, however much it writes). */
async function readCodes(socket: Socket): Promise<Set<string>> {
  const codes = new Set<string>();
  for await (const chunk of socket) for (const byte of chunk as Buffer) codes.add(String.fromCharCode(byte));
  return codes;
}

/** Runs a trigger daemon under the master (resident unless hooks say not: no max_use, no max_idle). */
export function runTriggerServer(hooks: TriggerServerHooks): void {
  let context: TriggerContext | undefined;
  let started = false;
  const queue = new TriggerQueue((codes) => hooks.onTrigger(codes, context as TriggerContext));
  runDaemon({
    name: hooks.name,
    resident: hooks.resident ?? true,
    async postInit(ctx) {
      context = { ...ctx, request: (codes) => queue.request(codes) };
      await hooks.postInit?.(context);
      started = true;
      await queue.request(TRIGGER_WAKEUP);
    },
    // A connection ends when the run that saw its codes is over, so a stopping process finishes that run first.
    onConnection: async (socket) => queue.request(await readCodes(socket)),
    // A wakeup before the first run is covered by it.
    onWakeup: () => (started ? queue.request(TRIGGER_WAKEUP) : undefined),
  });
}

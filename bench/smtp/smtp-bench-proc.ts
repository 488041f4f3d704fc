/*
 * smtp-bench-proc - what a mail system's processes use, read from /proc
 * (proc(5)): the instance is its master and every descendant, found through
 * the ppid field of each /proc/PID/stat (so the children of a daemon count
 * too, not only the master's); its memory is the sum of their proportional
 * set sizes (the Pss: line of /proc/PID/smaps_rollup, which divides a shared
 * page among the processes that map it, where RSS counts it in each); its
 * CPU time is utime + stime of each process by process name. InstanceSampler
 * walks the tree every 200 ms during a run: it keeps the peak PSS of the
 * whole instance and of each process name, and each process's last CPU
 * figures, so that one which exits during the run (Postfix's smtpd after
 * max_use connections) still counts under its own name; what such a process
 * used after its last sample reaches its parent's cutime/cstime and is
 * shared out among the names of the processes that exited. The sampler
 * times itself, so the bench can keep that cost out of its client's CPU.
 * Used by smtp-bench.ts.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const SAMPLE_MS = 200;

/** One buffer for every read of a /proc file: readFileSync costs twice as much, and a sample reads hundreds. */
const PROC_BUFFER = Buffer.alloc(16_384);

/** The text of a small /proc file (throws when the process is gone). */
function readProc(path: string): string {
  const fd = openSync(path, 'r');
  try {
    return PROC_BUFFER.toString('latin1', 0, readSync(fd, PROC_BUFFER, 0, PROC_BUFFER.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** The fields of /proc/PID/stat the bench reads. */
interface ProcStat {
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly ticks: number;
  /** cutime + cstime: what the children it has reaped used, in clock ticks. */
  readonly childTicks: number;
}

/** The memory of the processes of one name at one moment. */
export interface NamedPss {
  readonly kb: number;
  readonly processes: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readProc(`/proc/${pid}/stat`);
    // The command name (field 2) may hold spaces; what follows its ")" is field 3 on.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
      childTicks: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}

/** A master and its descendants, found again at each walk. */
class ProcessTree {
  /** The processes outside the tree in the last walk. */
  private outside = new Set<number>();

  constructor(private readonly root: number) {}

  /**
   * The root and all its living descendants, with their stat. A process seen
   * outside the tree in the last walk is not read again: pids are handed out
   * in turn, so that pid is still the same process, and it cannot become a
   * descendant; this keeps a walk cheap on a busy machine.
   */
  walk(): Map<number, ProcStat> {
    const children = new Map<number, number[]>();
    const stats = new Map<number, ProcStat>();
    const outside = new Set<number>();
    for (const entry of readdirSync('/proc')) {
      const first = entry.charCodeAt(0);
      if (first < 0x30 || first > 0x39) continue;
      const pid = Number(entry);
      if (this.outside.has(pid)) {
        outside.add(pid);
        continue;
      }
      const stat = readStat(pid);
      if (stat === undefined) continue;
      stats.set(pid, stat);
      const siblings = children.get(stat.ppid);
      if (siblings === undefined) children.set(stat.ppid, [pid]);
      else siblings.push(pid);
    }
    const tree = new Map<number, ProcStat>();
    const rootStat = stats.get(this.root);
    if (rootStat !== undefined) tree.set(this.root, rootStat);
    for (const pid of tree.keys()) {
      for (const child of children.get(pid) ?? []) tree.set(child, stats.get(child) as ProcStat);
    }
    for (const pid of stats.keys()) if (!tree.has(pid)) outside.add(pid);
    this.outside = outside;
    return tree;
  }
}

/** The Pss: line of /proc/PID/smaps_rollup, in kB (0 for a process gone meanwhile). */
function pssKb(pid: number): number {
  try {
    const text = readProc(`/proc/${pid}/smaps_rollup`);
    const at = text.indexOf('\nPss:');
    return at < 0 ? 0 : Number.parseInt(text.slice(at + 5), 10);
  } catch {
    return 0;
  }
}

/**
 * What a process is: the daemon's script name for Node processes
 * (smtpd-main.js: smtpd), the program name otherwise; settled is false
 * while its command line is empty (a process in the middle of its exec).
 */
function processName(pid: number): { name: string; settled: boolean } {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const script = args.find((arg) => arg.endsWith('-main.js'));
    if (script !== undefined) return { name: (script.split('/').pop() as string).replace('-main.js', ''), settled: true };
    return { name: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), settled: args[0] !== '' };
  } catch {
    return { name: '?', settled: false };
  }
}

/** One process as the sampler last saw it. */
interface Seen {
  /** Its stat when the run began (undefined for a process started since). */
  readonly first: ProcStat | undefined;
  last: ProcStat;
}

/** What an instance used during a run, from begin() to finish(). */
export interface InstanceUsage {
  /** CPU milliseconds by process name (a daemon's processes together). */
  readonly cpuMsByName: Map<string, number>;
  readonly peakPssKb: number;
  /** The highest PSS each process name reached together, with how many processes that was. */
  readonly peakPssByName: Map<string, NamedPss>;
}

/** Samples the instance under a master every 200 ms between begin() and finish(). */
export class InstanceSampler {
  private readonly names = new Map<number, string>();
  /** The processes whose name may still change (see nameOf). */
  private readonly unsettled = new Set<number>();
  private readonly seen = new Map<number, Seen>();
  private readonly peakByName = new Map<string, NamedPss>();
  private peakPssKb = 0;
  private samplerMicros = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly tree: ProcessTree;
  private readonly rootName: string;

  constructor(private readonly root: number) {
    this.tree = new ProcessTree(root);
    this.rootName = processName(root).name;
  }

  /**
   * The process name of pid, read until it is settled: a child between its
   * fork and its exec is still a copy of the master, and one in its exec
   * has no command line yet.
   */
  private nameOf(pid: number): string {
    const known = this.names.get(pid);
    if (known !== undefined && !this.unsettled.has(pid)) return known;
    const { name, settled } = processName(pid);
    this.names.set(pid, name);
    if (settled && (name !== this.rootName || pid === this.root)) this.unsettled.delete(pid);
    else this.unsettled.add(pid);
    return name;
  }

  begin(): void {
    for (const [pid, stat] of this.tree.walk()) {
      this.nameOf(pid);
      this.seen.set(pid, { first: stat, last: stat });
    }
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    // A failed run throws before finish(); the timer must not keep the bench alive then.
    this.timer.unref();
  }

  /** The PSS of each process name of the instance now, and their sum, in kB. */
  pssNow(): { total: number; byName: Map<string, NamedPss> } {
    return this.pssOf(this.tree.walk());
  }

  private pssOf(tree: Map<number, ProcStat>): { total: number; byName: Map<string, NamedPss> } {
    const byName = new Map<string, NamedPss>();
    let total = 0;
    for (const pid of tree.keys()) {
      const kb = pssKb(pid);
      total += kb;
      const name = this.nameOf(pid);
      const named = byName.get(name);
      byName.set(name, { kb: (named?.kb ?? 0) + kb, processes: (named?.processes ?? 0) + 1 });
    }
    return { total, byName };
  }

  private sample(): Map<number, ProcStat> {
    const before = process.cpuUsage();
    const tree = this.tree.walk();
    for (const [pid, stat] of tree) {
      const seen = this.seen.get(pid);
      if (seen === undefined) this.seen.set(pid, { first: undefined, last: stat });
      else seen.last = stat;
    }
    const { total, byName } = this.pssOf(tree);
    this.peakPssKb = Math.max(this.peakPssKb, total);
    for (const [name, named] of byName) {
      if (named.kb > (this.peakByName.get(name)?.kb ?? 0)) this.peakByName.set(name, named);
    }
    const used = process.cpuUsage(before);
    this.samplerMicros += used.user + used.system;
    return tree;
  }

  /** CPU milliseconds the sampling has cost this (the bench's) process so far. */
  cpuMs(): number {
    return this.samplerMicros / 1000;
  }

  /** Takes a last sample, stops, and sums up the run. */
  finish(): InstanceUsage {
    clearInterval(this.timer);
    const living = this.sample();
    const ticksByName = new Map<string, number>();
    const add = (name: string, ticks: number): void => void ticksByName.set(name, (ticksByName.get(name) ?? 0) + ticks);
    // What reaped processes used in all: the growth of the living processes' cutime + cstime.
    let reaped = 0;
    // What the sampler saw of the exited processes (their whole lives: that is what reaping hands on).
    let exitedSeen = 0;
    const exitedByName = new Map<string, number>();
    for (const [pid, seen] of this.seen) {
      const name = this.names.get(pid) ?? '?';
      const own = seen.last.ticks - (seen.first?.ticks ?? 0);
      add(name, own);
      const now = living.get(pid);
      if (now !== undefined) {
        reaped += now.childTicks - (seen.first?.childTicks ?? 0);
      } else {
        exitedSeen += seen.last.ticks + seen.last.childTicks;
        exitedByName.set(name, (exitedByName.get(name) ?? 0) + Math.max(own, 1));
      }
    }
    // The rest is what exited processes used after their last sample, or processes too short-lived to be seen.
    const unseen = Math.max(0, reaped - exitedSeen);
    const exitedTotal = [...exitedByName.values()].reduce((a, b) => a + b, 0);
    if (exitedTotal === 0) add('(unseen children)', unseen);
    else for (const [name, weight] of exitedByName) add(name, (unseen * weight) / exitedTotal);
    const cpuMsByName = new Map([...ticksByName].filter(([, ticks]) => ticks > 0).map(([name, ticks]) => [name, ticks * (1000 / CLOCK_TICKS)]));
    return { cpuMsByName, peakPssKb: this.peakPssKb, peakPssByName: this.peakByName };
  }
}

/** Clock ticks the whole machine has spent busy (all CPUs, anything but idle and I/O wait), from /proc/stat. */
export function machineBusyTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal: all but idle (3) and iowait (4).
  return [0, 1, 2, 5, 6, 7].reduce((sum, at) => sum + (cpu[at] ?? 0), 0);
}

/** CPU clock ticks of the children this process has reaped (cutime + cstime of /proc/self/stat): smtp-source's CPU. */
export function reapedChildTicks(): number {
  return readStat(process.pid)?.childTicks ?? 0;
}

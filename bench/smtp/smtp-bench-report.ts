/*
 * smtp-bench-report - smtp-bench's figures: what one run of one system
 * measured (RunResult), the mean of a system's runs, and how they print: a
 * run's line with its CPU and PSS by process, and the side-by-side table of
 * the two systems' means with the Petrel/Postfix ratios. Used by
 * smtp-bench.ts.
 */
import type { NamedPss } from './smtp-bench-proc.js';

/** What one run of one system measured. */
export interface RunResult {
  /** Messages / seconds from the start of the load to the last 250 after DATA. */
  readonly acceptedPerSecond: number;
  /** Messages / seconds from the start to the last delivery (undefined in mode accept). */
  readonly deliveredPerSecond: number | undefined;
  /** Latency from the connect (reuse: the MAIL) to the 250 after DATA, ms (undefined with smtp-source). */
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  /** CPU time (user + system) of all of the instance's processes per message, ms. */
  readonly cpuMsPerMessage: number;
  /** The same by process name. */
  readonly cpuByProcess: ReadonlyMap<string, number>;
  /** The PSS of the whole instance at its highest during the run, MB. */
  readonly peakPssMb: number;
  /** PSS by process name after a second of idleness before the load, MB. */
  readonly idlePss: ReadonlyMap<string, NamedPss>;
  /** PSS by process name at its highest during the run, MB. */
  readonly peakPss: ReadonlyMap<string, NamedPss>;
  /** CPU time of the load generator per message, ms (the same work for both systems; not in cpuMsPerMessage). */
  readonly clientCpuMsPerMessage: number;
  /** CPU time of the bench's sampling of /proc and of the mailbox per message, ms (not counted either). */
  readonly samplingCpuMsPerMessage: number;
  /** CPUs kept busy on average by everything else on the machine during the run (other users). */
  readonly otherCpus: number;
  /** What the TLS handshakes negotiated (mode tls). */
  readonly tls?: string;
  /** MariaDB's SELECT statements during the run per message, all clients together (mode virtual-mysql). */
  readonly sqlQueriesPerMessage?: number;
}

const INDENT = ' '.repeat(9);
const MB = 1024;

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? 'n/a' : value.toFixed(digits);
}

function pssList(byName: ReadonlyMap<string, NamedPss>): string {
  const total = [...byName.values()].reduce((sum, named) => sum + named.kb, 0);
  const parts = [...byName].sort((a, b) => b[1].kb - a[1].kb).map(([name, named]) => `${name} ${(named.kb / MB).toFixed(1)}${named.processes > 1 ? ` (×${named.processes})` : ''}`);
  return `${parts.join(', ')}; total ${(total / MB).toFixed(0)}`;
}

/** Prints one run (or a mean) of one system. */
export function showRun(label: string, r: RunResult): void {
  console.log(
    `${label.padEnd(INDENT.length - 1)} accepted ${r.acceptedPerSecond.toFixed(0).padStart(5)} msg/s  delivered ${fixed(r.deliveredPerSecond, 0).padStart(5)} msg/s  ` +
      `p50 ${fixed(r.p50, 1)} ms  p99 ${fixed(r.p99, 1)} ms  CPU ${r.cpuMsPerMessage.toFixed(2)} ms/msg  peak PSS ${r.peakPssMb.toFixed(0)} MB`,
  );
  const cpu = [...r.cpuByProcess].filter(([, ms]) => ms >= 0.005).sort((a, b) => b[1] - a[1]);
  console.log(`${INDENT}CPU ms/msg by process: ${cpu.map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(', ')}`);
  console.log(`${INDENT}PSS MB idle: ${pssList(r.idlePss)}`);
  console.log(`${INDENT}PSS MB peak: ${pssList(r.peakPss)}`);
  console.log(
    `${INDENT}not counted: load generator ${r.clientCpuMsPerMessage.toFixed(2)} ms/msg of CPU, the bench's sampling ${r.samplingCpuMsPerMessage.toFixed(2)}; ` +
      `other load on the machine ${r.otherCpus.toFixed(2)} CPUs`,
  );
  if (r.tls !== undefined) console.log(`${INDENT}TLS: ${r.tls}`);
  if (r.sqlQueriesPerMessage !== undefined) console.log(`${INDENT}SQL queries per message (MariaDB's Com_select): ${r.sqlQueriesPerMessage.toFixed(2)}`);
}

function meanOfMaybe(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === values.length && known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : undefined;
}

function meanPss(maps: readonly ReadonlyMap<string, NamedPss>[]): Map<string, NamedPss> {
  const names = new Set(maps.flatMap((map) => [...map.keys()]));
  return new Map(
    [...names].map((name) => [
      name,
      { kb: maps.reduce((sum, map) => sum + (map.get(name)?.kb ?? 0), 0) / maps.length, processes: Math.max(...maps.map((map) => map.get(name)?.processes ?? 0)) },
    ]),
  );
}

/** The mean of each figure over a system's runs (by process: of every name seen, 0 where absent; process counts: the most). */
export function meanOf(runs: readonly RunResult[]): RunResult | undefined {
  if (runs.length === 0) return undefined;
  const avg = (pick: (r: RunResult) => number): number => runs.reduce((sum, r) => sum + pick(r), 0) / runs.length;
  const names = new Set(runs.flatMap((r) => [...r.cpuByProcess.keys()]));
  return {
    acceptedPerSecond: avg((r) => r.acceptedPerSecond),
    deliveredPerSecond: meanOfMaybe(runs.map((r) => r.deliveredPerSecond)),
    p50: meanOfMaybe(runs.map((r) => r.p50)),
    p99: meanOfMaybe(runs.map((r) => r.p99)),
    cpuMsPerMessage: avg((r) => r.cpuMsPerMessage),
    cpuByProcess: new Map([...names].map((name) => [name, avg((r) => r.cpuByProcess.get(name) ?? 0)])),
    peakPssMb: avg((r) => r.peakPssMb),
    idlePss: meanPss(runs.map((r) => r.idlePss)),
    peakPss: meanPss(runs.map((r) => r.peakPss)),
    clientCpuMsPerMessage: avg((r) => r.clientCpuMsPerMessage),
    samplingCpuMsPerMessage: avg((r) => r.samplingCpuMsPerMessage),
    otherCpus: avg((r) => r.otherCpus),
    sqlQueriesPerMessage: meanOfMaybe(runs.map((r) => r.sqlQueriesPerMessage)),
  };
}

function cells(label: string, petrel: string, postfix: string, ratio = ''): string {
  return `  ${label.padEnd(20)} ${petrel.padStart(17)} ${postfix.padStart(17)} ${ratio.padStart(7)}`;
}

function row(label: string, petrel: number | undefined, postfix: number | undefined, digits: number): string {
  const ratio = petrel !== undefined && postfix !== undefined && postfix > 0 ? `${(petrel / postfix).toFixed(2)}×` : '';
  return cells(label, fixed(petrel, digits), fixed(postfix, digits), ratio);
}

function pssCell(r: RunResult, name: string): string {
  const format = (named: NamedPss | undefined): string => (named === undefined ? '-' : `${(named.kb / MB).toFixed(1)}${named.processes > 1 ? ` ×${named.processes}` : ''}`);
  const idle = r.idlePss.get(name);
  const peak = r.peakPss.get(name);
  return idle === undefined && peak === undefined ? '-' : `${format(idle)} / ${format(peak)}`;
}

/** Prints the two systems' means side by side with the ratios first/second (by default Petrel/Postfix). */
export function showComparison(petrel: RunResult, postfix: RunResult, labels: readonly [string, string] = ['Petrel', 'Postfix']): void {
  console.log(cells('', labels[0], labels[1], 'ratio'));
  console.log(row('accepted msg/s', petrel.acceptedPerSecond, postfix.acceptedPerSecond, 0));
  console.log(row('delivered msg/s', petrel.deliveredPerSecond, postfix.deliveredPerSecond, 0));
  console.log(row('p50 ms', petrel.p50, postfix.p50, 1));
  console.log(row('p99 ms', petrel.p99, postfix.p99, 1));
  console.log(row('CPU ms/msg', petrel.cpuMsPerMessage, postfix.cpuMsPerMessage, 2));
  console.log(row('peak PSS MB', petrel.peakPssMb, postfix.peakPssMb, 0));
  if (petrel.sqlQueriesPerMessage !== undefined) console.log(row('SQL queries/msg', petrel.sqlQueriesPerMessage, postfix.sqlQueriesPerMessage, 2));
  const cpu = (r: RunResult, name: string): string => (r.cpuByProcess.has(name) ? (r.cpuByProcess.get(name) as number).toFixed(2) : '-');
  const both = (name: string): number => (petrel.cpuByProcess.get(name) ?? 0) + (postfix.cpuByProcess.get(name) ?? 0);
  console.log('  CPU ms/msg by process');
  for (const name of [...new Set([...petrel.cpuByProcess.keys(), ...postfix.cpuByProcess.keys()])].sort((a, b) => both(b) - both(a))) {
    console.log(cells(`  ${name}`, cpu(petrel, name), cpu(postfix, name)));
  }
  console.log('  PSS MB by process, idle / peak (×N: processes)');
  const peak = (name: string): number => (petrel.peakPss.get(name)?.kb ?? 0) + (postfix.peakPss.get(name)?.kb ?? 0);
  const names = new Set([...petrel.idlePss.keys(), ...petrel.peakPss.keys(), ...postfix.idlePss.keys(), ...postfix.peakPss.keys()]);
  for (const name of [...names].sort((a, b) => peak(b) - peak(a))) console.log(cells(`  ${name}`, pssCell(petrel, name), pssCell(postfix, name)));
}

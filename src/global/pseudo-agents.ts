/*
 * pseudo-agents - the transports Petrel carries out without a process, and
 * what they answer. Postfix's error, retry and discard agents do nothing
 * but answer for every recipient, so Petrel has no process for them
 * (master-services.ts starts none): qmgr answers in their place, and so
 * does local for a mailbox or fallback transport that names one. What a
 * transport is follows from the command its master.cf service runs, not
 * from its name, so "myerror unix - - n - - error" bounces like error
 * does: the command error defers instead when the service is named retry
 * (error(8)), and discard discards (discard(8)); a -o soft_bounce on the
 * line is that transport's own. A transport without a master.cf entry
 * keeps the built-in meaning of the names error, retry and discard. Read
 * by qmgr and local at start; a reload starts new ones, which read
 * master.cf again.
 */
import { join } from 'node:path';
import { readMasterCf, type MasterEntry } from './config/master-cf-read.js';
import { convertParam } from './config/param-convert.js';
import { paramSpec } from './params/param-registry.js';
import type { ParamSpec } from './params/param-types.js';
import type { DeliveryResult } from './deliver-clnt.js';

/** A transport Petrel answers for itself. */
export type PseudoAgent = 'error' | 'retry' | 'discard';

/** A transport Petrel answers for itself, and the soft_bounce its master.cf line sets with -o, if it does. */
export interface PseudoAgentService {
  readonly kind: PseudoAgent;
  readonly softBounce?: boolean;
}

/** Maps a transport name to the pseudo-agent carried out for it, if any. */
export type PseudoAgents = (transport: string) => PseudoAgentService | undefined;

const BUILT_IN: ReadonlySet<string> = new Set<PseudoAgent>(['error', 'retry', 'discard']);

function agentOf(entry: MasterEntry): PseudoAgentService | undefined {
  const kind: PseudoAgent | undefined = entry.command === 'discard' ? 'discard' : entry.command === 'error' ? (entry.service === 'retry' ? 'retry' : 'error') : undefined;
  if (kind === undefined) return undefined;
  // The last -o soft_bounce of the line, as the service's own main.cf override.
  const softBounce = entry.overrides.filter(([name]) => name === 'soft_bounce').at(-1)?.[1];
  return softBounce === undefined ? { kind } : { kind, softBounce: convertParam('soft_bounce', paramSpec('soft_bounce') as ParamSpec & { kind: 'bool' }, softBounce) };
}

/** The pseudo-agents named by master.cf entries (unix services only: qmgr reaches agents over unix sockets). */
export function pseudoAgents(entries: readonly MasterEntry[]): PseudoAgents {
  const services = new Map(entries.filter((e) => e.type === 'unix').map((e) => [e.service, agentOf(e)]));
  return (transport) => (services.has(transport) ? services.get(transport) : BUILT_IN.has(transport) ? { kind: transport as PseudoAgent } : undefined);
}

/** The pseudo-agents of the master.cf in configDir. */
export function readPseudoAgents(configDir: string): PseudoAgents {
  return pseudoAgents(readMasterCf(join(configDir, 'master.cf')));
}

/** An error or retry next hop's text: "X.Y.Z reason", or the reason alone with fallback as its code. */
function dsnOf(text: string, fallback: string): { dsn: string; reason: string } {
  const match = /^([245]\.\d{1,3}\.\d{1,3})\s+(.*)$/.exec(text);
  return match === null ? { dsn: fallback, reason: text } : { dsn: match[1] as string, reason: match[2] as string };
}

/** What a pseudo-agent answers for each recipient of a delivery to nexthop. */
export function pseudoAgentOutcome(agent: PseudoAgent, nexthop: string): Pick<DeliveryResult, 'status' | 'dsn' | 'reason'> {
  if (agent === 'error') {
    const { dsn, reason } = dsnOf(nexthop, '5.0.0');
    return { status: dsn.startsWith('4') ? 'deferred' : 'bounced', dsn, reason };
  }
  if (agent === 'retry') {
    // retry(8): always a temporary failure, whatever class the text names.
    const { dsn, reason } = dsnOf(nexthop, '4.0.0');
    return { status: 'deferred', dsn: `4${dsn.slice(1)}`, reason };
  }
  return { status: 'sent', dsn: '2.0.0', reason: `discarded${nexthop === '' ? '' : `: ${nexthop}`}` };
}

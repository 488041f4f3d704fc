/*
 * qmgr-agents - which transports qmgr carries out itself. Postfix's error,
 * retry and discard agents do nothing but answer for every recipient, so
 * Petrel has no process for them (master-services.ts starts none) and qmgr
 * answers in their place. What a transport is follows from the command its
 * master.cf service runs, not from its name, so "myerror unix - - n - - error"
 * bounces like error does: the command error defers instead when the
 * service is named retry (error(8)), and discard discards (discard(8)). A
 * transport without a master.cf entry keeps the built-in meaning of the
 * names error, retry and discard. Read by qmgr-main.ts at start; a reload
 * starts a new qmgr, which reads master.cf again.
 */
import { join } from 'node:path';
import { readMasterCf, type MasterEntry } from '../global/config/master-cf-read.js';

/** What qmgr does itself for a transport. */
export type PseudoAgent = 'error' | 'retry' | 'discard';

/** Maps a transport name to the pseudo-agent qmgr carries out for it, if any. */
export type PseudoAgents = (transport: string) => PseudoAgent | undefined;

const BUILT_IN: ReadonlySet<string> = new Set<PseudoAgent>(['error', 'retry', 'discard']);

function agentOf(entry: MasterEntry): PseudoAgent | undefined {
  if (entry.command === 'discard') return 'discard';
  if (entry.command === 'error') return entry.service === 'retry' ? 'retry' : 'error';
  return undefined;
}

/** The pseudo-agents named by master.cf entries (unix services only: qmgr reaches agents over unix sockets). */
export function pseudoAgents(entries: readonly MasterEntry[]): PseudoAgents {
  const services = new Map(entries.filter((e) => e.type === 'unix').map((e) => [e.service, agentOf(e)]));
  return (transport) => (services.has(transport) ? services.get(transport) : BUILT_IN.has(transport) ? (transport as PseudoAgent) : undefined);
}

/** The pseudo-agents of the master.cf in configDir. */
export function readPseudoAgents(configDir: string): PseudoAgents {
  return pseudoAgents(readMasterCf(join(configDir, 'master.cf')));
}

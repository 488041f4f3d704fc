/*
 * queue-defer-log - why recipients of a deferred message are waiting: qmgr
 * writes defer/<ID> after each attempt (one "recipient<TAB>reason" line per
 * deferred recipient, replaced atomically, and a first line "<TAB>warned"
 * once the sender got a delay warning), postqueue shows it, and it goes
 * away with the message. Postfix keeps the same in its defer/ logs.
 */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isQueueId } from './queue-id.js';

function deferPath(queueDirectory: string, id: string): string {
  if (!isQueueId(id)) throw new Error(`bad queue ID: "${id}"`);
  return join(queueDirectory, 'defer', id);
}

const WARNED = '\twarned\n';

/** Records the deferred recipients of id and why, and whether the sender was warned of the delay. */
export async function writeDeferReasons(queueDirectory: string, id: string, reasons: ReadonlyMap<string, string>, warned = false): Promise<void> {
  const path = deferPath(queueDirectory, id);
  const text = (warned ? WARNED : '') + [...reasons].map(([rcpt, reason]) => `${rcpt}\t${reason.replace(/[\t\n]/g, ' ')}\n`).join('');
  await writeFile(`${path}.tmp`, text, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** The recorded reasons for id (empty when none). */
export async function readDeferReasons(queueDirectory: string, id: string): Promise<Map<string, string>> {
  const text = await readFile(deferPath(queueDirectory, id), 'utf8').catch(() => '');
  const reasons = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) reasons.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return reasons;
}

/** Whether the sender of id was already warned of the delay. */
export async function delayWarningSent(queueDirectory: string, id: string): Promise<boolean> {
  const text = await readFile(deferPath(queueDirectory, id), 'utf8').catch(() => '');
  return text.startsWith(WARNED);
}

/** Forgets the reasons for id. */
export async function removeDeferReasons(queueDirectory: string, id: string): Promise<void> {
  await unlink(deferPath(queueDirectory, id)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

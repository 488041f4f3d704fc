/*
 * pickup - takes locally submitted mail from maildrop/ (pickup(8)): each
 * file sendmail (or postsuper -r) left there goes to cleanup as a local submission (missing
 * headers added, Bcc removed, -t recipients extracted), then the maildrop
 * file is removed. It runs in the trigger skeleton (skeleton-trigger.ts),
 * on demand: the master starts it on a trigger from sendmail or when its
 * wakeup timer finds files in maildrop/, it scans at start, on each
 * trigger and wakeup, and exits after max_idle idle seconds; an
 * unreadable file goes to corrupt/ with a warning, a symbolic link or a
 * hard link (maildrop/ is writable by every user) is removed, and so is a
 * file whose owner authorized_submit_users does not allow. Logs
 * "ID: uid=N from=<sender>". An address verification probe found there is
 * dropped.
 */
import { closeSync, fstatSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { accountName, findAccount } from '../global/accounts.js';
import { CleanupClient, receivingOptions } from '../global/cleanup-clnt.js';
import { PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import { contentChunks, openQueueFile, readQueueRecords, type QueueFileInfo } from '../global/queue/queue-file-read.js';
import { listQueue, moveMessage } from '../global/queue/queue-move.js';
import { queueFilePath } from '../global/queue/queue-paths.js';
import { tableContext } from '../global/tables/table.js';
import { UserAccess } from '../global/user-access.js';
import { runTriggerServer } from '../master/skeleton-trigger.js';
import { msg } from '../util/msg.js';

/** Who may leave mail in maildrop/: root and mail_owner (postsuper -r requeues there), else those authorized_submit_users allows. */
interface Submitters {
  readonly list: UserAccess;
  readonly systemUids: ReadonlySet<number>;
}

async function pickOne(params: Params, submitters: Submitters, id: string): Promise<void> {
  const path = queueFilePath(params.queue_directory, 'maildrop', id);
  // maildrop/ is writable by every local user: a symlink or a hard link there could make pickup
  // read a file its submitter cannot read (another message in the queue), so neither is followed.
  let fh: number;
  let info: QueueFileInfo;
  try {
    fh = await openQueueFile(path, { noFollow: true });
  } catch (err) {
    if (err instanceof PetrelError && err.code === 'queue_corrupt') {
      msg.warn(`maildrop/${id}: ${err.message}; removed`);
      await unlink(path).catch(() => undefined);
    }
    return;
  }
  // Anyone can write into maildrop/: the file's owner must be a user authorized_submit_users allows.
  const uid = fstatSync(fh).uid;
  const owner = accountName(uid);
  if (!submitters.systemUids.has(uid) && !(await submitters.list.allows(owner))) {
    closeSync(fh);
    msg.warn(`maildrop/${id}: uid=${uid} (${owner}) is not allowed to submit mail (authorized_submit_users); removed`);
    await unlink(path).catch(() => undefined);
    return;
  }
  try {
    info = await readQueueRecords(fh, path);
  } catch (err) {
    closeSync(fh);
    if (err instanceof PetrelError && err.code === 'queue_corrupt') {
      msg.warn(`maildrop/${id}: ${err.message}; moved to corrupt`);
      await moveMessage(params.queue_directory, id, 'maildrop', 'corrupt');
    }
    return;
  }
  try {
    await submit(params, id, path, fh, info);
  } finally {
    closeSync(fh);
  }
}

async function submit(params: Params, id: string, path: string, fh: number, info: QueueFileInfo): Promise<void> {
  // An address verification probe requeued by postsuper -r is dropped (the verify service sends another when
  // asked again): passed on it could be delivered for real, and a probe flag from a user's file would let that
  // user tell the verify service what is deliverable.
  if (info.probe === true) {
    msg.info(`maildrop/${id}: address verification probe dropped`);
    await unlink(path);
    return;
  }
  const { attrs } = info;
  const passed: Record<string, string> = { rewrite_context: 'local' };
  for (const name of ['envid', 'ret']) if (attrs[name] !== undefined) passed[name] = attrs[name] as string;
  const client = await CleanupClient.begin(
    params,
    { op: 'begin', sender: info.sender, arrival: info.arrival, attrs: passed, local: true, extractRecipients: attrs.extract === 'yes', fullName: attrs.full_name ?? '', ...receivingOptions(params) },
  );
  if (!(client instanceof CleanupClient)) {
    msg.warn(`maildrop/${id}: cleanup: ${client.text}`);
    return;
  }
  // As Postfix's pickup, the uid logged is the maildrop file's owner: the submitting user.
  msg.info(`${client.id}: uid=${fstatSync(fh).uid} from=<${info.sender}>`);
  // A message requeued by postsuper -r keeps its delivered recipients marked done: they are not sent again.
  for (const r of info.recipients.filter((rcpt) => rcpt.status === '-')) {
    await client.recipient({ address: r.address, original: r.original, notify: r.notify, orcpt: r.orcpt });
  }
  for (const chunk of contentChunks(fh, info)) await client.content(chunk);
  const reply = await client.finish();
  if (reply.status === 'ok') {
    await unlink(path);
  } else if (reply.status === 'reject') {
    msg.warn(`maildrop/${id}: rejected by cleanup: ${reply.text}; moved to corrupt`);
    await moveMessage(params.queue_directory, id, 'maildrop', 'corrupt');
  } else {
    msg.warn(`maildrop/${id}: ${reply.text}; will try again`);
  }
}

/** One run over maildrop/; the trigger skeleton runs another when a trigger came meanwhile. */
async function scan(params: Params): Promise<void> {
  const owner = findAccount(params.mail_owner);
  const submitters = { list: await UserAccess.open(params.authorized_submit_users, tableContext(params)), systemUids: new Set([0, ...(owner === undefined ? [] : [owner.uid])]) };
  for (const id of await listQueue(params.queue_directory, 'maildrop')) {
    await pickOne(params, submitters, id).catch((err: unknown) => msg.warn(`maildrop/${id}: ${(err as Error).message}`));
  }
}

runTriggerServer({
  name: 'pickup',
  // The master starts pickup when it is triggered or maildrop/ has a file (master-services.ts): idle, it exits.
  resident: false,
  onTrigger: (_codes, { config }) => scan(config.params),
});

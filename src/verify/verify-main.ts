/*
 * verify - the address verification server (verify(8)), one process
 * (master.cf maxproc 1) on private/verify, one request per connection
 * (verify-clnt.ts): it answers smtpd's queries
 * from its status cache (verify-cache.ts) and records the probe results
 * qmgr reports. An address it knows nothing about, or whose status is due
 * for a refresh (address_verify_positive_refresh_time,
 * _negative_refresh_time), gets a probe message: a queue file flagged as a
 * probe from address_verify_sender to the address, queued through cleanup
 * (so it takes the real route: canonical and virtual alias mapping,
 * transport_maps) and delivered by no agent, which only find out whether
 * the address is deliverable. While a probe is pending (PROBE_TTL) no
 * other one is sent for the address. An answer past its expiry
 * (address_verify_positive_expire_time, _negative_expire_time) is no
 * answer; a failed probe never replaces a deliverable status that has not
 * expired (Postfix's optimistic caching); with
 * address_verify_negative_cache = no an undeliverable status is not kept.
 * Expired entries are removed every address_verify_cache_cleanup_interval.
 */
import type { Socket } from 'node:net';
import { postNotice } from '../global/cleanup-clnt.js';
import type { Params } from '../global/params/param-registry.js';
import type { VerifyReply, VerifyRequest } from '../global/verify-clnt.js';
import { runDaemon } from '../master/skeleton.js';
import { FramedConnection } from '../util/ipc-frame.js';
import { msg } from '../util/msg.js';
import { StatusCache, type StatusEntry } from './verify-cache.js';

/** How long a probe is waited for before another one may be sent for the same address (Postfix's figure). */
const PROBE_TTL_MS = 1000 * 1000;

/** The text of a status nobody has reported yet. */
const IN_PROGRESS = 'Address verification in progress';

let cache: StatusCache | undefined;

/** True when entry's answer is too old to use. */
function expired(params: Params, entry: StatusEntry, now: number): boolean {
  if (entry.updated === 0) return entry.probed !== 0 && entry.probed + PROBE_TTL_MS < now;
  const lifetime = entry.status === 'ok' ? params.address_verify_positive_expire_time : params.address_verify_negative_expire_time;
  return entry.updated + lifetime * 1000 < now;
}

/** True when a new probe is due for entry. */
function probeDue(params: Params, entry: StatusEntry, now: number): boolean {
  if (entry.probed !== 0 && entry.probed + PROBE_TTL_MS > now) return false;
  if (entry.updated === 0) return true;
  const refresh = entry.status === 'ok' ? params.address_verify_positive_refresh_time : params.address_verify_negative_refresh_time;
  return entry.updated + refresh * 1000 < now;
}

/** Queues a probe for address; on failure the entry no longer says one is pending. */
function sendProbe(params: Params, store: StatusCache, key: string, address: string): void {
  const sender = params.address_verify_sender === '<>' ? '' : params.address_verify_sender;
  const content = [Buffer.from(`Subject: probe\n\n`)];
  postNotice(params, sender, address, content, true).then(
    (id) => msg.info(`${id}: address verification probe for <${address}>`),
    async (err: unknown) => {
      msg.warn(`cannot send a probe for <${address}>: ${(err as Error).message}`);
      const entry = store.get(key);
      if (entry !== undefined) await store.put(key, { ...entry, probed: 0 });
    },
  );
}

async function query(params: Params, store: StatusCache, address: string): Promise<VerifyReply> {
  const key = address.toLowerCase();
  const now = Date.now();
  const stored = store.get(key);
  let entry: StatusEntry = stored !== undefined && !expired(params, stored, now) ? stored : { status: 'todo', probed: 0, updated: 0, text: IN_PROGRESS };
  if (probeDue(params, entry, now)) {
    entry = { ...entry, probed: now };
    await store.put(key, entry);
    sendProbe(params, store, key, address);
  }
  return { status: entry.status, text: entry.text };
}

async function update(params: Params, store: StatusCache, address: string, status: Exclude<VerifyReply['status'], 'todo'>, text: string): Promise<void> {
  const key = address.toLowerCase();
  const now = Date.now();
  const stored = store.get(key);
  if (status !== 'ok' && stored?.status === 'ok' && !expired(params, stored, now)) {
    await store.put(key, { ...stored, probed: 0 });
    return;
  }
  if (status !== 'ok' && !params.address_verify_negative_cache) {
    await store.remove(key);
    return;
  }
  await store.put(key, { status, probed: 0, updated: now, text });
}

/** Removes the expired entries. */
async function cleanup(params: Params, store: StatusCache): Promise<void> {
  const now = Date.now();
  let removed = 0;
  for (const [key, entry] of store.entries()) {
    if (entry !== undefined && !expired(params, entry, now)) continue;
    await store.remove(key);
    removed++;
  }
  if (removed > 0) msg.info(`cache ${store.name}: removed ${removed} expired entries`);
}

/** Serves the one request of a connection (verify-clnt.ts). */
async function serve(socket: Socket, params: Params, store: StatusCache): Promise<void> {
  const conn = new FramedConnection(socket);
  let request: VerifyRequest;
  try {
    request = await conn.nextJson<VerifyRequest>(params.ipc_timeout * 1000);
  } catch {
    conn.close();
    return;
  }
  if (request.op === 'query') {
    await conn.sendJson(await query(params, store, request.address));
  } else {
    await update(params, store, request.address, request.status, request.text);
    await conn.sendJson({ status: request.status, text: request.text } satisfies VerifyReply);
  }
  conn.close();
}

runDaemon({
  name: 'verify',
  postInit({ config }) {
    const { params } = config;
    const store = StatusCache.open(params.address_verify_map);
    cache = store;
    const interval = params.address_verify_cache_cleanup_interval;
    if (interval > 0) {
      setInterval(() => {
        cleanup(params, store).catch((err: unknown) => msg.warn(`cache ${store.name}: cleanup: ${(err as Error).message}`));
      }, interval * 1000).unref();
    }
  },
  onConnection: (socket, { config }) => serve(socket, config.params, cache as StatusCache),
});

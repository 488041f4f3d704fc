/*
 * verify - the address verification server (verify(8)), one process
 * (master.cf maxproc 1) on private/verify, one request per connection
 * (verify-clnt.ts): it answers smtpd's queries and records the probe
 * results qmgr reports (verify-service.ts decides, verify-cache.ts keeps
 * the statuses in address_verify_map). A probe is a message flagged as
 * one, from address_verify_sender to the address, queued through cleanup
 * so that it takes the real route (canonical and virtual alias mapping,
 * transport_maps); the delivery agents only find out whether the address
 * is deliverable. Logs "ID: address verification probe for <address>".
 * Expired entries are removed every address_verify_cache_cleanup_interval.
 */
import type { Socket } from 'node:net';
import { postNotice } from '../global/cleanup-clnt.js';
import type { Params } from '../global/params/param-registry.js';
import type { VerifyReply, VerifyRequest } from '../global/verify-clnt.js';
import { runDaemon } from '../master/skeleton.js';
import { FramedConnection } from '../util/ipc-frame.js';
import { msg } from '../util/msg.js';
import { StatusCache } from './verify-cache.js';
import { VerifyService } from './verify-service.js';

let service: VerifyService | undefined;

/** Queues a probe for address; false when cleanup would not take it. */
async function sendProbe(params: Params, address: string): Promise<boolean> {
  const sender = params.address_verify_sender === '<>' ? '' : params.address_verify_sender;
  try {
    const id = await postNotice(params, sender, address, [Buffer.from('Subject: probe\n\n')], true);
    msg.info(`${id}: address verification probe for <${address}>`);
    return true;
  } catch (err) {
    msg.warn(`cannot send a probe for <${address}>: ${(err as Error).message}`);
    return false;
  }
}

/** Serves the one request of a connection (verify-clnt.ts). */
async function serve(socket: Socket, params: Params, verify: VerifyService): Promise<void> {
  const conn = new FramedConnection(socket);
  let request: VerifyRequest;
  try {
    request = await conn.nextJson<VerifyRequest>(params.ipc_timeout * 1000);
  } catch {
    conn.close();
    return;
  }
  try {
    if (request.op === 'query') {
      await conn.sendJson(await verify.query(request.address));
    } else {
      await verify.update(request.address, request.status, request.text);
      await conn.sendJson({ status: request.status, text: request.text } satisfies VerifyReply);
    }
  } catch (err) {
    // The client sees no answer, which smtpd takes as a temporary failure.
    msg.warn(`${request.op} <${request.address}>: ${(err as Error).message}`);
  } finally {
    conn.close();
  }
}

runDaemon({
  name: 'verify',
  postInit({ config }) {
    const { params } = config;
    const store = StatusCache.open(params.address_verify_map);
    const verify = new VerifyService(params, store, (address) => sendProbe(params, address));
    service = verify;
    const interval = params.address_verify_cache_cleanup_interval;
    if (interval > 0) {
      setInterval(() => {
        verify.cleanup().then(
          (removed) => {
            if (removed > 0) msg.info(`cache ${store.name}: removed ${removed} expired entries`);
          },
          (err: unknown) => msg.warn(`cache ${store.name}: cleanup: ${(err as Error).message}`),
        );
      }, interval * 1000).unref();
    }
  },
  onConnection: (socket, { config }) => serve(socket, config.params, service as VerifyService),
});

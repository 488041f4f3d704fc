/*
 * verify-clnt - how smtpd and qmgr talk to the address verification
 * service (verify(8)) over private/<address_verify_service_name>: smtpd
 * queries an address's status (the service sends a probe when it knows
 * none, or a fresh one when the status is due for a refresh), and qmgr
 * reports what the delivery agent found for each recipient of a probe
 * message. One JSON request and one JSON reply per connection. Shared by
 * smtpd, qmgr and the verify daemon.
 */
import { join } from 'node:path';
import { FramedConnection, IpcError } from '../util/ipc-frame.js';
import type { Params } from './params/param-registry.js';

/**
 * An address status, as Postfix's: deliverable, deferred (a temporary
 * failure: nothing is known yet for sure), undeliverable, or not known yet
 * (a probe is on its way).
 */
export type AddressStatus = 'ok' | 'defer' | 'bounce' | 'todo';

/** smtpd → verify: the status of address; qmgr → verify: the outcome of a probe for address. */
export type VerifyRequest = { readonly op: 'query'; readonly address: string } | { readonly op: 'update'; readonly address: string; readonly status: Exclude<AddressStatus, 'todo'>; readonly text: string };

/** verify → client: the status and its text (the reply of the server that decided, or why nothing is known). */
export interface VerifyReply {
  readonly status: AddressStatus;
  readonly text: string;
}

/** What a client needs of the configuration. */
export type VerifyClientParams = Pick<Params, 'queue_directory' | 'ipc_timeout' | 'address_verify_service_name'>;

/** The verify service socket, relative to the queue directory. */
export function verifySocket(params: Pick<Params, 'address_verify_service_name'>): string {
  return join('private', params.address_verify_service_name);
}

/**
 * One exchange with the verify service, on a connection of its own: the
 * service is one process serving one client at a time (master.cf maxproc
 * 1), so a connection is never kept idle. Rejects with an IpcError when
 * the service cannot be reached or does not answer.
 */
export async function askVerify(params: VerifyClientParams, request: VerifyRequest): Promise<VerifyReply> {
  const path = join(params.queue_directory, verifySocket(params));
  const timeoutMs = params.ipc_timeout * 1000;
  let conn: FramedConnection | undefined;
  try {
    conn = await FramedConnection.connect(path, timeoutMs);
    await conn.sendJson(request);
    return await conn.nextJson<VerifyReply>(timeoutMs);
  } catch (err) {
    throw new IpcError(`${params.address_verify_service_name} service unavailable: ${(err as Error).message}`);
  } finally {
    conn?.close();
  }
}

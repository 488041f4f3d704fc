/*
 * qmgr-probe - what qmgr does differently for an address verification
 * probe (a queue file with the probe flag, queued by the verify service):
 * its recipients are routed with the address_verify_* routing parameters
 * (by default the ones real mail takes), the delivery agents are asked
 * only whether each recipient is deliverable, and the outcome goes to the
 * verify service (verify-clnt.ts) under the address the probe was for:
 * deliverable, undeliverable with the reason, or deferred. A probe is
 * never bounced nor deferred: once the outcome is reported it is removed.
 * Follows verify(8) and ADDRESS_VERIFICATION_README.
 */
import { AddressResolver } from '../global/addr/addr-resolve.js';
import type { DeliveryResult } from '../global/deliver-clnt.js';
import type { Params } from '../global/params/param-registry.js';
import type { StoredRecipient } from '../global/queue/queue-file-read.js';
import { askVerify, type AddressStatus } from '../global/verify-clnt.js';
import { msg } from '../util/msg.js';

/** The routing parameters a probe takes, in place of the ones they stand for. */
function probeRouting(params: Params): Params {
  return {
    ...params,
    relayhost: params.address_verify_relayhost,
    transport_maps: params.address_verify_transport_maps,
    default_transport: params.address_verify_default_transport,
    local_transport: params.address_verify_local_transport,
    virtual_transport: params.address_verify_virtual_transport,
    relay_transport: params.address_verify_relay_transport,
  };
}

/** The resolver for probes: resolver itself when the address_verify_* routing is the same as real mail's. */
export async function openProbeResolver(params: Params, resolver: AddressResolver): Promise<AddressResolver> {
  const routing = probeRouting(params);
  const names = ['relayhost', 'transport_maps', 'default_transport', 'local_transport', 'virtual_transport', 'relay_transport'] as const;
  const same = names.every((name) => String(routing[name]) === String(params[name]));
  return same ? resolver : AddressResolver.open(routing);
}

/** One recipient's probe outcome. */
export interface ProbeOutcome {
  readonly rcpt: StoredRecipient;
  readonly result: DeliveryResult;
}

const RANK: Readonly<Record<Exclude<AddressStatus, 'todo'>, number>> = { ok: 0, defer: 1, bounce: 2 };

function statusOf(result: DeliveryResult): Exclude<AddressStatus, 'todo'> {
  return result.status === 'sent' ? 'ok' : result.status === 'bounced' ? 'bounce' : 'defer';
}

/**
 * Reports the outcomes of probe id to the verify service, one per address
 * probed (a recipient that virtual aliasing expanded is as deliverable as
 * the worst of its expansions).
 */
export async function reportProbe(params: Params, id: string, outcomes: readonly ProbeOutcome[]): Promise<void> {
  const byAddress = new Map<string, { status: Exclude<AddressStatus, 'todo'>; text: string }>();
  for (const { rcpt, result } of outcomes) {
    const address = rcpt.original === '' ? rcpt.address : rcpt.original;
    const status = statusOf(result);
    const known = byAddress.get(address);
    if (known === undefined || RANK[status] > RANK[known.status]) byAddress.set(address, { status, text: result.reason });
  }
  for (const [address, { status, text }] of byAddress) {
    try {
      await askVerify(params, { op: 'update', address, status, text });
    } catch (err) {
      msg.warn(`${id}: cannot report the probe result for <${address}>: ${(err as Error).message}`);
    }
  }
}

/*
 * verify-params - address verification (ADDRESS_VERIFICATION_README,
 * verify(8)): the verify service's status cache and its probe messages,
 * the routing probes take (address_verify_relayhost, _transport_maps and
 * the transports, by default the ones real mail takes), and what smtpd's
 * reject_unverified_sender / _recipient answer. Read by smtpd, qmgr and
 * the verify daemon. Defaults are Postfix's.
 */
import { defineParams } from './param-types.js';

/** Address verification parameters. */
export const VERIFY_PARAMS = defineParams({
  address_verify_service_name: { kind: 'string', default: 'verify', doc: 'The name of the verify service in master.cf' },
  address_verify_map: { kind: 'string', default: 'btree:$data_directory/verify_cache', doc: 'Where the verify service keeps address statuses (btree:, hash:, lmdb:; empty: in memory only)' },
  address_verify_sender: { kind: 'string', default: '$double_bounce_sender', doc: 'The sender of probe messages (<> for the null sender)' },
  address_verify_positive_expire_time: { kind: 'time', default: '31d', timeUnit: 'd', min: 1, doc: 'How long a deliverable address status is used' },
  address_verify_positive_refresh_time: { kind: 'time', default: '7d', timeUnit: 'd', min: 1, doc: 'After how long a deliverable address is probed again (its status is used meanwhile)' },
  address_verify_negative_cache: { kind: 'bool', default: 'yes', doc: 'Keep undeliverable address statuses (no: probe again at each query)' },
  address_verify_negative_expire_time: { kind: 'time', default: '3d', timeUnit: 'd', min: 1, doc: 'How long an undeliverable address status is used' },
  address_verify_negative_refresh_time: { kind: 'time', default: '3h', timeUnit: 'h', min: 1, doc: 'After how long an undeliverable address is probed again (its status is used meanwhile)' },
  address_verify_cache_cleanup_interval: { kind: 'time', default: '12h', timeUnit: 's', min: 0, doc: 'How often expired statuses are removed from the cache (0: never)' },
  address_verify_poll_count: { kind: 'int', default: '3', min: 1, doc: 'How many times smtpd asks for a status while a probe runs, before it answers 450' },
  address_verify_poll_delay: { kind: 'time', default: '3s', timeUnit: 's', min: 1, doc: 'The wait between those queries' },
  address_verify_relayhost: { kind: 'string', default: '$relayhost', doc: 'The relayhost of probe messages' },
  address_verify_transport_maps: { kind: 'tables', default: '$transport_maps', doc: 'The transport_maps of probe messages' },
  address_verify_default_transport: { kind: 'string', default: '$default_transport', doc: 'The default_transport of probe messages' },
  address_verify_local_transport: { kind: 'string', default: '$local_transport', doc: 'The local_transport of probe messages' },
  address_verify_virtual_transport: { kind: 'string', default: '$virtual_transport', doc: 'The virtual_transport of probe messages' },
  address_verify_relay_transport: { kind: 'string', default: '$relay_transport', doc: 'The relay_transport of probe messages' },
  unverified_sender_reject_code: { kind: 'int', default: '450', min: 400, max: 599, doc: 'The reply code of reject_unverified_sender for an undeliverable address' },
  unverified_recipient_reject_code: { kind: 'int', default: '450', min: 400, max: 599, doc: 'The reply code of reject_unverified_recipient for an undeliverable address' },
  unverified_sender_defer_code: { kind: 'int', default: '450', min: 400, max: 499, doc: 'The reply code of reject_unverified_sender while the address is not verified yet' },
  unverified_recipient_defer_code: { kind: 'int', default: '450', min: 400, max: 499, doc: 'The reply code of reject_unverified_recipient while the address is not verified yet' },
  unverified_sender_tempfail_action: { kind: 'string', default: 'defer_if_permit', choices: ['defer_if_permit', 'defer'], doc: 'What reject_unverified_sender does when no answer is known yet or the verify service fails' },
  unverified_recipient_tempfail_action: { kind: 'string', default: 'defer_if_permit', choices: ['defer_if_permit', 'defer'], doc: 'What reject_unverified_recipient does when no answer is known yet or the verify service fails' },
  unverified_sender_reject_reason: { kind: 'string', default: '', doc: 'The reply text of reject_unverified_sender for an undeliverable address (empty: the probe result)' },
  unverified_recipient_reject_reason: { kind: 'string', default: '', doc: 'The reply text of reject_unverified_recipient for an undeliverable address (empty: the probe result)' },
});

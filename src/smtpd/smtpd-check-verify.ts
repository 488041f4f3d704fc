/*
 * smtpd-check-verify - reject_unverified_sender and
 * reject_unverified_recipient (postconf(5), ADDRESS_VERIFICATION_README):
 * smtpd asks the verify service for the address's status
 * (verify-clnt.ts), and while a probe is on its way asks again up to
 * address_verify_poll_count times, address_verify_poll_delay apart, so a
 * fast answer is used at once. A deliverable address passes (no opinion);
 * an undeliverable one is refused with unverified_*_reject_code and the
 * probe's result ("undeliverable address: host x[a] said: 550 ..."), or
 * unverified_*_reject_reason; one not verified yet (probe pending or
 * deferred) gets unverified_*_defer_code, and a verify service that does
 * not answer gets 450 "address verification problem", both through
 * unverified_*_tempfail_action (defer_if_permit: only when nothing else
 * refuses the request): never a pass, never a 5xx. Used by
 * smtpd-check-names.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { askVerify, type VerifyReply } from '../global/verify-clnt.js';
import { msg } from '../util/msg.js';
import { subjectReply } from './smtpd-check-access.js';
import type { CheckRun } from './smtpd-check.js';
import { stageSubject } from './smtpd-check.js';
import type { Verdict } from './smtpd-check-types.js';

/** The status of address, polling while a probe is pending; undefined when the verify service fails. */
async function pollStatus(run: CheckRun, address: string): Promise<VerifyReply | undefined> {
  const params = run.checks.params;
  for (let count = 1; ; count++) {
    let reply: VerifyReply;
    try {
      reply = await askVerify(params, { op: 'query', address });
    } catch (err) {
      msg.warn(`${params.address_verify_service_name} service failure: ${(err as Error).message}`);
      return undefined;
    }
    if (reply.status !== 'todo' || count >= params.address_verify_poll_count) return reply;
    await sleep(params.address_verify_poll_delay * 1000);
  }
}

/** reject_unverified_sender (role sender) or _recipient: the verdict for address. */
export async function unverifiedAddress(run: CheckRun, address: string, role: 'sender' | 'recipient'): Promise<Verdict> {
  const p = run.checks.params;
  const subject = stageSubject(role, run.req);
  const detail = role === 'sender' ? '1.7' : '1.1';
  const action = role === 'sender' ? p.unverified_sender_tempfail_action : p.unverified_recipient_tempfail_action;
  const temporary = (reply: Verdict): Verdict => {
    if (action === 'defer') return reply;
    run.deferIfPermit(reply);
    return undefined;
  };
  const reply = await pollStatus(run, address);
  if (reply === undefined) return temporary(subjectReply(subject, 450, `4.${detail}`, 'address verification problem'));
  if (reply.status === 'ok') return undefined;
  if (reply.status === 'bounce') {
    const code = role === 'sender' ? p.unverified_sender_reject_code : p.unverified_recipient_reject_code;
    const reason = role === 'sender' ? p.unverified_sender_reject_reason : p.unverified_recipient_reject_reason;
    return subjectReply(subject, code, `5.${detail}`, reason !== '' ? reason : `undeliverable address: ${reply.text}`);
  }
  const code = role === 'sender' ? p.unverified_sender_defer_code : p.unverified_recipient_defer_code;
  return temporary(subjectReply(subject, code, `4.${detail}`, `unverified address: ${reply.text}`));
}

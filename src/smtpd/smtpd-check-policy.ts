/*
 * smtpd-check-policy - the check_policy_service restriction: the request
 * Postfix 3.7's smtpd sends a policy server (request=smtpd_access_policy
 * and the attributes of the session and the command, in Postfix's order),
 * and the server's answer carried out as an access(5) action by
 * smtpd-check-access.ts, the same code as an access table's value; when
 * the server cannot answer, the service's default action (451 4.3.5
 * Server configuration problem unless configured). The protocol client is
 * smtpd-policy-clnt.ts. Used by smtpd-check-names.ts; follows
 * SMTPD_POLICY_README.
 */
import type { Params } from '../global/params/param-registry.js';
import { encodeXtext } from '../global/xtext.js';
import { accessAction } from './smtpd-check-access.js';
import type { CheckRun } from './smtpd-check.js';
import type { CheckRequest, Verdict } from './smtpd-check-types.js';

/**
 * The attributes of a policy request, in the order Postfix 3.7 sends them.
 * As Postfix's (seen on the wire): protocol_name is SMTP or ESMTP, without
 * the TLS and AUTH letters of Received:; the certificate's subject and
 * issuer names, xtext-encoded, only for a verified certificate, its
 * fingerprints for any.
 */
export function policyAttributes(req: CheckRequest, params: Params, policyContext: string): [string, string][] {
  const p = req.policy;
  const tls = p.tls;
  const trusted = tls?.verified === true;
  return [
    ['request', 'smtpd_access_policy'],
    ['protocol_state', req.command],
    ['protocol_name', req.protocol.startsWith('ESMTP') ? 'ESMTP' : 'SMTP'],
    ['client_address', req.clientAddress],
    ['client_name', req.clientName],
    ['client_port', String(p.clientPort)],
    ['reverse_client_name', req.reverseName],
    ['server_address', p.serverAddress],
    ['server_port', String(p.serverPort)],
    ['helo_name', req.helo ?? ''],
    ['sender', req.sender ?? ''],
    ['recipient', req.recipient ?? ''],
    ['recipient_count', String(req.recipientCount)],
    ['queue_id', req.queueId ?? ''],
    ['instance', p.instance],
    ['size', String(p.size)],
    ['etrn_domain', req.etrnDomain ?? ''],
    ['stress', params.stress],
    ['sasl_method', p.saslMethod ?? ''],
    ['sasl_username', req.saslUsername ?? ''],
    ['sasl_sender', p.saslSender ?? ''],
    ['ccert_subject', trusted ? encodeXtext(tls.subject ?? '') : ''],
    ['ccert_issuer', trusted ? encodeXtext(tls.issuer ?? '') : ''],
    ['ccert_fingerprint', tls?.fingerprint ?? ''],
    ['ccert_pubkey_fingerprint', tls?.pubkeyFingerprint ?? ''],
    ['encryption_protocol', tls?.protocol ?? ''],
    ['encryption_cipher', tls?.cipher ?? ''],
    ['encryption_keysize', String(tls?.bits ?? 0)],
    ['policy_context', policyContext],
  ];
}

/** check_policy_service: asks the service spec names and carries out its action, or the default action when it gives none. */
export async function checkPolicyService(run: CheckRun, spec: string): Promise<Verdict> {
  const service = run.checks.policyService(spec);
  const answer = await service.query(policyAttributes(run.req, run.checks.params, service.options.policyContext));
  const action = answer ?? service.options.defaultAction;
  if (action.trim() === '') {
    run.warning(`policy server ${service.name}: empty action; using DUNNO`);
    return undefined;
  }
  const found = await accessAction(run, action, run.subject, true);
  return found === 'dunno' ? undefined : found;
}

/*
 * smtpd-check-login - the reject_*_sender_login_mismatch restrictions
 * (authenticated, unauthenticated, both, and known: only for listed senders):
 * smtpd_sender_login_maps says which SASL logins own a sender address
 * (virtual(5)-style keys); an authenticated client may only use the
 * addresses its login owns, an unauthenticated one none that a login owns.
 * Used by smtpd-check-names.ts; follows postconf(5).
 */
import { findFirst } from '../global/addr/addr-find.js';
import { mailAddrKeys } from '../global/addr/addr-search-keys.js';
import { splitList } from '../global/config/param-convert.js';
import type { CheckRun } from './smtpd-check.js';
import type { Verdict } from './smtpd-check-types.js';

/** The logins that own sender per smtpd_sender_login_maps, or undefined when nobody does. */
async function senderOwners(run: CheckRun, sender: string): Promise<string[] | undefined> {
  const checks = run.checks;
  if (sender === '' || checks.senderLogins === undefined) return undefined;
  const keys = mailAddrKeys(sender.toLowerCase(), { delimiters: checks.params.recipient_delimiter, isLocalDomain: (d) => checks.localDomains.has(d.toLowerCase()) });
  const found = await findFirst(checks.senderLogins, keys);
  return found === undefined ? undefined : splitList(found.value);
}

/**
 * A mismatch of the given kind ("both": authenticated, then
 * unauthenticated; "known": as both, but only for a sender address
 * smtpd_sender_login_maps lists), or no opinion.
 */
export async function senderLoginMismatch(run: CheckRun, kind: 'authenticated' | 'unauthenticated' | 'both' | 'known'): Promise<Verdict> {
  const sender = run.req.sender;
  if (sender === undefined) return undefined;
  const login = run.req.saslUsername;
  if (login !== undefined && kind !== 'unauthenticated') {
    const owners = await senderOwners(run, sender);
    if (owners === undefined && kind === 'known') return undefined;
    if (owners !== undefined && owners.some((o) => o.toLowerCase() === login.toLowerCase())) return undefined;
    return { code: 553, dsn: '5.7.1', text: `<${sender}>: Sender address rejected: not owned by user ${login}` };
  }
  if (login === undefined && kind !== 'authenticated' && (await senderOwners(run, sender)) !== undefined) {
    return { code: 553, dsn: '5.7.1', text: `<${sender}>: Sender address rejected: not logged in` };
  }
  return undefined;
}

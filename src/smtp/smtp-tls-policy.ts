/*
 * smtp-tls-policy - the TLS policy for one next hop: smtp_tls_policy_maps
 * looked up by the next hop as written ("[host]:port", "domain"), then by
 * each parent domain as ".parent", else smtp_tls_security_level. A policy
 * is a level (none, may, encrypt, verify, secure) optionally followed by
 * protocols= (e.g. ">=TLSv1.2" or "!TLSv1:!TLSv1.1", read as
 * smtp_tls_protocols is); without it the level's own protocol setting
 * applies (smtp_tls_protocols for may, smtp_tls_mandatory_protocols
 * above). A policy Petrel
 * cannot carry out (dane, match=, ciphers= ...) defers the mail with that
 * said, rather than sending it with less protection than asked for.
 * Follows postconf(5) smtp_tls_policy_maps.
 */
import { protocolRange, type VersionRange } from '../global/tls/tls-policy.js';
import type { TableList } from '../global/tables/table-list.js';

/** The TLS security levels Petrel's SMTP client carries out. */
export const TLS_LEVELS = ['none', 'may', 'encrypt', 'verify', 'secure'] as const;
export type TlsLevel = (typeof TLS_LEVELS)[number];

/** A usable policy, or why there is none; protocols only when the policy names them. */
export type TlsPolicyChoice = { readonly level: TlsLevel; readonly protocols?: VersionRange } | { readonly unsupported: string };

/** Parses a policy table value or the global level. */
export function parseTlsPolicy(text: string): TlsPolicyChoice {
  const [level = 'none', ...attributes] = text.trim().split(/\s+/);
  if (!(TLS_LEVELS as readonly string[]).includes(level)) return { unsupported: `TLS security level "${level}"` };
  let protocols: VersionRange | undefined;
  for (const attribute of attributes) {
    const eq = attribute.indexOf('=');
    const name = eq < 0 ? attribute : attribute.slice(0, eq);
    if (name !== 'protocols') return { unsupported: `TLS policy attribute "${attribute}"` };
    try {
      protocols = protocolRange('protocols', attribute.slice(eq + 1).split(/[:,\s]+/).filter((item) => item !== ''));
    } catch (err) {
      return { unsupported: `TLS policy "${attribute}" (${(err as Error).message})` };
    }
  }
  return { level: level as TlsLevel, ...(protocols === undefined ? {} : { protocols }) };
}

/** The policy for nexthop (host: its domain part without brackets or port). */
export async function tlsPolicyFor(policies: TableList | undefined, nexthop: string, host: string, fallback: TlsPolicyChoice): Promise<TlsPolicyChoice> {
  if (policies === undefined) return fallback;
  const keys = [nexthop, host];
  const labels = host.split('.');
  for (let i = 1; i < labels.length; i++) keys.push(`.${labels.slice(i).join('.')}`);
  for (const key of new Set(keys)) {
    const value = await policies.lookup(key.toLowerCase());
    if (value !== undefined) return parseTlsPolicy(value);
  }
  return fallback;
}

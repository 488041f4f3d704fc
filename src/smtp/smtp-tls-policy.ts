/*
 * smtp-tls-policy - the TLS policy for one next hop: smtp_tls_policy_maps
 * looked up by the next hop as written ("[host]:port", "domain"), then by
 * each parent domain as ".parent", else smtp_tls_security_level. A policy
 * is a level (none, may, encrypt, verify, secure) optionally followed by
 * protocols= (e.g. ">=TLSv1.2" or "!TLSv1:!TLSv1.1", read as
 * smtp_tls_protocols is); without it the level's own protocol setting
 * applies (smtp_tls_protocols for may, smtp_tls_mandatory_protocols
 * above), and the level, protocols and cipher lists the configuration
 * gives when no table entry does. A policy Petrel
 * cannot carry out (dane, match=, ciphers= ...) defers the mail with that
 * said, rather than sending it with less protection than asked for.
 * Follows postconf(5) smtp_tls_policy_maps.
 */
import { PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import { cipherList, protocolRange, type VersionRange } from '../global/tls/tls-policy.js';
import type { TableList } from '../global/tables/table-list.js';

/** The TLS security levels Petrel's SMTP client carries out. */
export const TLS_LEVELS = ['none', 'may', 'encrypt', 'verify', 'secure'] as const;
export type TlsLevel = (typeof TLS_LEVELS)[number];

/** A usable policy, or why there is none; protocols only when the policy names them. */
export type TlsPolicyChoice = { readonly level: TlsLevel; readonly protocols?: VersionRange } | { readonly unsupported: string };

/** The versions and cipher list of one kind of TLS session. */
export interface TlsProfile {
  readonly protocols: VersionRange;
  readonly ciphers: string;
}

/**
 * The TLS profiles of the SMTP (LMTP) client, checked at start: a setting
 * it cannot honour stops it. Where the server's certificate must be
 * verified, anonymous ciphers are left out, as Postfix's client does.
 */
export function tlsProfiles(params: Params, lmtp: boolean): { opportunistic: TlsProfile; mandatory: TlsProfile; matching: TlsProfile } {
  const p = lmtp
    ? { prefix: 'lmtp', protocols: params.lmtp_tls_protocols, mandatoryProtocols: params.lmtp_tls_mandatory_protocols, ciphers: params.lmtp_tls_ciphers, mandatoryCiphers: params.lmtp_tls_mandatory_ciphers, exclude: params.lmtp_tls_exclude_ciphers, mandatoryExclude: params.lmtp_tls_mandatory_exclude_ciphers }
    : { prefix: 'smtp', protocols: params.smtp_tls_protocols, mandatoryProtocols: params.smtp_tls_mandatory_protocols, ciphers: params.smtp_tls_ciphers, mandatoryCiphers: params.smtp_tls_mandatory_ciphers, exclude: params.smtp_tls_exclude_ciphers, mandatoryExclude: params.smtp_tls_mandatory_exclude_ciphers };
  const mandatoryProtocols = protocolRange(`${p.prefix}_tls_mandatory_protocols`, p.mandatoryProtocols);
  const mandatoryCiphers = (extra: readonly string[]): string => cipherList(params, `${p.prefix}_tls_mandatory_ciphers`, p.mandatoryCiphers, [...p.exclude, ...p.mandatoryExclude, ...extra]);
  return {
    opportunistic: { protocols: protocolRange(`${p.prefix}_tls_protocols`, p.protocols), ciphers: cipherList(params, `${p.prefix}_tls_ciphers`, p.ciphers, p.exclude) },
    // No cipher without encryption where TLS is required, and none without a certificate where it is verified.
    mandatory: { protocols: mandatoryProtocols, ciphers: mandatoryCiphers(['eNULL']) },
    matching: { protocols: mandatoryProtocols, ciphers: mandatoryCiphers(['eNULL', 'aNULL']) },
  };
}

/**
 * The level of <smtp|lmtp>_tls_security_level, or, when it is unset, of
 * the obsolete _enforce_tls (verify, or encrypt without
 * _tls_enforce_peername) and _use_tls (may), as Postfix reads them;
 * throws a configuration error for a level Petrel cannot carry out, or
 * wrapper mode without TLS.
 */
export function defaultTlsPolicy(params: Params, lmtp: boolean): TlsPolicyChoice {
  const levelParam = lmtp ? 'lmtp_tls_security_level' : 'smtp_tls_security_level';
  const [enforce, peername, use] = lmtp ? [params.lmtp_enforce_tls, params.lmtp_tls_enforce_peername, params.lmtp_use_tls] : [params.smtp_enforce_tls, params.smtp_tls_enforce_peername, params.smtp_use_tls];
  const legacy = enforce ? (peername ? 'verify' : 'encrypt') : use ? 'may' : 'none';
  const level = params[levelParam] === '' ? legacy : params[levelParam];
  const policy = parseTlsPolicy(level);
  if ('unsupported' in policy || level.includes(' ')) {
    throw new PetrelError('config', `${levelParam}: unsupported level "${level}" (expected ${TLS_LEVELS.join(', ')})`);
  }
  if ((lmtp ? params.lmtp_tls_wrappermode : params.smtp_tls_wrappermode) && level === 'none') {
    throw new PetrelError('config', `${lmtp ? 'lmtp' : 'smtp'}_tls_wrappermode = yes needs ${levelParam} = encrypt or above (TLS from the first byte cannot be turned off)`);
  }
  return policy;
}

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

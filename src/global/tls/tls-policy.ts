/*
 * tls-policy - Postfix's TLS protocol and cipher settings turned into
 * node:tls options: protocol lists in both of Postfix's forms
 * (">=TLSv1.2", "<=TLSv1.3" and "!SSLv3, !TLSv1" or a list of the versions
 * allowed) become a minimum and maximum version, and a cipher grade
 * (high, medium, low, export, null) with its exclusions becomes an OpenSSL
 * cipher list from the tls_*_cipherlist parameters. A setting that cannot
 * be honoured (a gap in the versions, an unknown grade or name) is a
 * configuration error, never a weaker default. As with Postfix, grades
 * and exclusions govern TLS 1.2 and older only: OpenSSL keeps its TLS 1.3
 * suites apart from the cipher list, and all of them are AEAD ciphers of
 * the high grade, so a TLS 1.3 client gets OpenSSL's default suites
 * whatever the grade. Used by tls-server.ts;
 * follows postconf(5) smtpd_tls_protocols and smtpd_tls_ciphers.
 */
import type { SecureVersion } from 'node:tls';
import { PetrelError } from '../errors.js';
import type { Params } from '../params/param-registry.js';

/** TLS versions node:tls can speak, oldest first. */
const VERSIONS: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
/** Names Postfix accepts that no current OpenSSL build speaks. */
const OBSOLETE = new Set(['SSLv2', 'SSLv3']);

/** The range of TLS versions a protocol list allows. */
export interface VersionRange {
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
}

function versionIndex(name: string, parameter: string): number {
  const at = VERSIONS.indexOf(name as SecureVersion);
  if (at < 0) throw new PetrelError('config', `${parameter}: unknown TLS protocol "${name}"`);
  return at;
}

/** The versions a Postfix protocol list allows, as a contiguous range. */
export function protocolRange(parameter: string, items: readonly string[]): VersionRange {
  let low = 0;
  let high = VERSIONS.length - 1;
  const included = new Set<number>();
  const excluded = new Set<number>();
  for (const item of items) {
    if (item.startsWith('>=')) low = Math.max(low, versionIndex(item.slice(2), parameter));
    else if (item.startsWith('<=')) high = Math.min(high, versionIndex(item.slice(2), parameter));
    else if (item.startsWith('!')) {
      if (!OBSOLETE.has(item.slice(1))) excluded.add(versionIndex(item.slice(1), parameter));
    } else if (!OBSOLETE.has(item)) included.add(versionIndex(item, parameter));
  }
  const allowed = VERSIONS.map((_, i) => i).filter((i) => i >= low && i <= high && !excluded.has(i) && (included.size === 0 || included.has(i)));
  if (allowed.length === 0) throw new PetrelError('config', `${parameter}: no TLS protocol version is left enabled`);
  const first = allowed[0] as number;
  const last = allowed[allowed.length - 1] as number;
  if (last - first + 1 !== allowed.length) {
    throw new PetrelError('config', `${parameter}: the enabled TLS versions must be contiguous (${allowed.map((i) => VERSIONS[i]).join(', ')})`);
  }
  return { minVersion: VERSIONS[first] as SecureVersion, maxVersion: VERSIONS[last] as SecureVersion };
}

/** The OpenSSL cipher list of a grade, with the exclusions appended. */
export function cipherList(params: Params, parameter: string, grade: string, exclusions: readonly string[]): string {
  const lists: Readonly<Record<string, string>> = {
    high: params.tls_high_cipherlist,
    medium: params.tls_medium_cipherlist,
    low: params.tls_low_cipherlist,
    export: params.tls_export_cipherlist,
    null: params.tls_null_cipherlist,
  };
  const base = lists[grade.toLowerCase()];
  if (base === undefined) throw new PetrelError('config', `${parameter}: unknown cipher grade "${grade}" (high, medium, low, export or null)`);
  for (const item of exclusions) {
    if (!/^[A-Za-z0-9_+-]+$/.test(item)) throw new PetrelError('config', `${parameter}: bad cipher exclusion "${item}"`);
  }
  return [base, ...exclusions.map((item) => `!${item}`)].join(':');
}

/*
 * addr-masquerade - address masquerading (postconf(5) masquerade_domains):
 * user@host.sub.example.com becomes user@example.com when example.com is
 * listed; the first listed domain the address falls under decides, and a
 * "!domain" entry there means "leave it alone"; users in
 * masquerade_exceptions are never masqueraded. Used by cleanup for the
 * address classes in masquerade_classes.
 */
import { splitAddress } from './addr-parts.js';

/** Masquerading rules. */
export interface MasqueradeRules {
  readonly domains: readonly string[];
  readonly exceptions: readonly string[];
}

/** The masqueraded form of address (unchanged when no rule applies). */
export function masquerade(address: string, rules: MasqueradeRules): string {
  if (rules.domains.length === 0) return address;
  const { local, domain } = splitAddress(address);
  if (domain === undefined || rules.exceptions.some((user) => user.toLowerCase() === local.toLowerCase())) return address;
  const lower = domain.toLowerCase();
  for (const entry of rules.domains) {
    const negated = entry.startsWith('!');
    const parent = (negated ? entry.slice(1) : entry).toLowerCase();
    if (lower === parent) return address;
    if (!lower.endsWith(`.${parent}`)) continue;
    return negated ? address : `${local}@${parent}`;
  }
  return address;
}

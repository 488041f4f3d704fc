/*
 * table-cidr - cidr:/path (cidr_table(5)): "network/prefix result",
 * "address result", "!pattern result" and "if pattern" ... "endif", IPv4 and
 * IPv6 (optionally in [brackets]), first match wins. A pattern only ever
 * matches keys of its own address family; a key that is not an address
 * matches nothing. A network with host bits set, or a bad pattern, is skipped
 * with Postfix's warning. Inline form cidr:{ {rule}, {rule} } is accepted.
 */
import ipaddr from 'ipaddr.js';
import { logicalLines } from '../config/config-lines.js';
import { msg } from '../../util/msg.js';
import { openRuleTable } from './table-file-watch.js';
import type { LookupTable } from './table.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

interface Network {
  readonly address: Address;
  readonly prefix: number;
}

type Rule =
  | { readonly kind: 'match'; readonly network: Network; readonly negate: boolean; readonly result: string }
  | { readonly kind: 'if'; readonly network: Network; readonly negate: boolean; readonly rules: Rule[] };

/** Parses an address strictly: dotted-quad IPv4 or IPv6, brackets allowed; undefined otherwise. */
export function parseAddress(text: string): Address | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (bare.includes(':') && ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare);
  return undefined;
}

function parseNetwork(text: string, warn: (problem: string) => void): Network | undefined {
  const slash = text.lastIndexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseAddress(addressText);
  const bits = address?.kind() === 'ipv4' ? 32 : 128;
  const prefix = slash < 0 ? bits : Number(text.slice(slash + 1));
  if (address === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > bits || (slash >= 0 && !/^\d+$/.test(text.slice(slash + 1)))) {
    warn(`bad address pattern: "${text}": skipping this rule`);
    return undefined;
  }
  const network = address.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
  if (network.toString() !== address.toString()) {
    const shown = network.kind() === 'ipv6' && text.startsWith('[') ? `[${network.toString()}]` : network.toString();
    warn(`non-null host address bits in "${text}", perhaps you should use "${shown}/${prefix}" instead: skipping this rule`);
    return undefined;
  }
  return { address, prefix };
}

/** Parses cidr table text into rules; where names the table in warnings. */
export function parseCidrRules(text: string, where: string): Rule[] {
  const top: Rule[] = [];
  const stack: Rule[][] = [top];
  for (const { text: line, line: number } of logicalLines(text)) {
    const warn = (problem: string): void => msg.warn(`cidr map ${where}, line ${number}: ${problem}`);
    if (/^endif$/i.test(line)) {
      if (stack.length === 1) warn('ignoring ENDIF without matching IF');
      else stack.pop();
      continue;
    }
    const isIf = /^if\s/i.test(line);
    const body = isIf ? line.slice(2).trim() : line;
    const match = /^(!?)\s*(\S+)\s*(.*)$/.exec(body) as RegExpExecArray;
    const negate = match[1] === '!';
    const network = parseNetwork(match[2] as string, warn);
    if (network === undefined) continue;
    const current = stack[stack.length - 1] as Rule[];
    if (isIf) {
      const rule: Rule = { kind: 'if', network, negate, rules: [] };
      current.push(rule);
      stack.push(rule.rules);
    } else {
      if (match[3] === '') warn('no result: using empty string');
      current.push({ kind: 'match', network, negate, result: (match[3] as string).trim() });
    }
  }
  if (stack.length > 1) msg.warn(`cidr map ${where}: IF has no matching ENDIF`);
  return top;
}

function inNetwork(address: Address, network: Network): boolean | undefined {
  if (address.kind() !== network.address.kind()) return undefined;
  return address.match(network.address, network.prefix);
}

/** The result of the first rule matching the address text key, or undefined. */
export function matchCidrRules(rules: readonly Rule[], key: string): string | undefined {
  // The cheap shape tests first: access lookups also ask with partial keys ("192.0.2"), which ipaddr's validators reject by throwing.
  const dotted = /^\d{1,3}(\.\d{1,3}){3}$/.test(key) && ipaddr.IPv4.isValidFourPartDecimal(key);
  const address = dotted || (key.includes(':') && ipaddr.IPv6.isValid(key)) ? ipaddr.parse(key) : undefined;
  if (address === undefined) return undefined;
  const walk = (list: readonly Rule[]): string | undefined => {
    for (const rule of list) {
      const inside = inNetwork(address, rule.network);
      if (inside === undefined || inside === rule.negate) continue;
      if (rule.kind === 'match') return rule.result;
      const found = walk(rule.rules);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(rules);
}

/** Opens cidr:name (a file, or an inline { {rule}, ... } list). */
export async function openCidr(name: string, spec: string): Promise<LookupTable> {
  return openRuleTable(name, spec, parseCidrRules, matchCidrRules);
}

/*
 * addr-search-keys - the sequences of lookup keys Postfix tries for one
 * address, host or IP address, per table use: access(5) for smtpd access
 * maps, virtual(5)/canonical(5) for virtual, canonical and relocated maps,
 * transport(5) for transport_maps. Only the first key of each sequence (the
 * whole string) goes to pattern tables such as regexp, pcre and cidr; the
 * partial keys (user@, @domain, parent domains, shorter networks) go to
 * fixed-key tables only. The keys are returned as data so callers and tests
 * can see the order; addr-find.ts runs them against a table list.
 */
import ipaddr from 'ipaddr.js';
import { splitAddress, splitExtension } from './addr-parts.js';

/** One key to try, in order. */
export interface SearchKey {
  readonly key: string;
  /** True for partial keys, which pattern tables never see. */
  readonly fixedOnly: boolean;
  /** The extension ("+foo") this key left out, so callers can propagate it to the result. */
  readonly strippedExtension?: string;
}

/** How parent domains of a name are looked up (parent_domain_matches_subdomains). */
export interface DomainSearchOptions {
  /** True when this table use is listed in parent_domain_matches_subdomains: "b.c" matches "a.b.c"; otherwise ".b.c" does. */
  readonly parentMatchesSubdomains: boolean;
}

function whole(key: string): SearchKey {
  return { key, fixedOnly: false };
}

function partial(key: string, strippedExtension?: string): SearchKey {
  return strippedExtension === undefined ? { key, fixedOnly: true } : { key, fixedOnly: true, strippedExtension };
}

/** The parent domains of name ("a.b.c" → "b.c", "c" or ".b.c", ".c"); none for [address] literals. */
export function parentDomainKeys(name: string, options: DomainSearchOptions): string[] {
  if (name.startsWith('[')) return [];
  const keys: string[] = [];
  for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
    const parent = name.slice(dot + 1);
    if (parent === '') break;
    keys.push(options.parentMatchesSubdomains ? parent : `.${parent}`);
  }
  return keys;
}

/** access(5) keys for a host name: the name, then its parent domains. */
export function accessHostKeys(name: string, options: DomainSearchOptions): SearchKey[] {
  return [whole(name), ...parentDomainKeys(name, options).map((key) => partial(key))];
}

/**
 * access(5) keys for a client IP address: the address, then shorter networks
 * made by dropping the last ".octet" (IPv4) or ":group" (IPv6, compressed
 * form, down to three groups). An IPv4-mapped IPv6 address is looked up in
 * its IPv4 form, as the client really is an IPv4 client.
 */
export function accessAddressKeysForIp(address: string): SearchKey[] {
  let text = address;
  if (ipaddr.isValid(address)) {
    const parsed = ipaddr.parse(address);
    text =
      parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()
        ? (parsed as ipaddr.IPv6).toIPv4Address().toString()
        : parsed.toString();
  }
  const separator = text.includes(':') ? ':' : '.';
  const minimumFields = separator === ':' ? 3 : 1;
  const keys = [whole(text)];
  let fields = text.split(separator);
  while (fields.length > minimumFields) {
    fields = fields.slice(0, -1);
    keys.push(partial(fields.join(separator)));
  }
  return keys;
}

/** Options for address keys. */
export interface AddressSearchOptions extends DomainSearchOptions {
  /** recipient_delimiter. */
  readonly delimiters: string;
}

/**
 * access(5) keys for a sender or recipient address: user+foo@domain,
 * user@domain, domain and its parents, user+foo@, user@. The null address
 * is looked up only as nullKey (smtpd_null_access_lookup_key).
 */
export function accessMailKeys(address: string, options: AddressSearchOptions & { readonly nullKey: string }): SearchKey[] {
  if (address === '') return [whole(options.nullKey)];
  const { local, domain } = splitAddress(address);
  const { base, extension } = splitExtension(local, options.delimiters);
  const keys = [whole(address)];
  if (domain !== undefined) {
    if (extension !== undefined) keys.push(partial(`${base}@${domain}`, extension));
    keys.push(partial(domain), ...parentDomainKeys(domain, options).map((key) => partial(key)));
  }
  keys.push(partial(`${local}@`));
  if (extension !== undefined) keys.push(partial(`${base}@`, extension));
  return keys;
}

/** Options for virtual(5)/canonical(5) keys. */
export interface MailAddrSearchOptions {
  /** recipient_delimiter. */
  readonly delimiters: string;
  /** True when domain is one of this machine's: $myorigin, $mydestination, $inet_interfaces, $proxy_interfaces. */
  readonly isLocalDomain: (domain: string) => boolean;
}

/**
 * virtual(5) / canonical(5) / relocated keys: user+foo@domain, user@domain,
 * then user+foo and user only when the domain is local, then @domain.
 */
export function mailAddrKeys(address: string, options: MailAddrSearchOptions): SearchKey[] {
  const { local, domain } = splitAddress(address);
  const { base, extension } = splitExtension(local, options.delimiters);
  const keys = [whole(address)];
  if (domain !== undefined && extension !== undefined) keys.push(partial(`${base}@${domain}`, extension));
  if (domain === undefined || options.isLocalDomain(domain)) {
    if (domain !== undefined) keys.push(partial(local));
    if (extension !== undefined) keys.push(partial(base, extension));
  }
  if (domain !== undefined) keys.push(partial(`@${domain}`));
  return keys;
}

/** transport(5) keys: user+foo@domain, user@domain, domain, parent domains, then "*". */
export function transportKeys(address: string, options: AddressSearchOptions): SearchKey[] {
  const { local, domain } = splitAddress(address);
  const { base, extension } = splitExtension(local, options.delimiters);
  const keys = [whole(address)];
  if (domain !== undefined) {
    if (extension !== undefined) keys.push(partial(`${base}@${domain}`, extension));
    keys.push(partial(domain), ...parentDomainKeys(domain, options).map((key) => partial(key)));
  }
  keys.push(partial('*'));
  return keys;
}

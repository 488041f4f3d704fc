/*
 * smtp-nexthop - where the SMTP client connects for a next hop: "[host]",
 * "[host]:port" (no MX lookup), "domain" or "domain:port" (MX lookup). MX
 * hosts are tried by preference, in random order among equal preferences;
 * a domain without MX records is tried at its own addresses; A and AAAA
 * per inet_protocols; at most smtp_mx_address_limit addresses. An MX host
 * that is this machine (myhostname, or one of the addresses it listens on
 * per inet_interfaces) ends the list there, and when this machine is the
 * best MX the mail "loops back to myself". Name service failures are
 * permanent for a name that does not exist and temporary otherwise.
 * Follows smtp(8) "MX lookups" and postconf(5) smtp_mx_address_limit.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Params } from '../global/params/param-registry.js';
import { servicePort } from '../global/service-ports.js';

/** A parsed next hop. */
export interface NextHop {
  readonly host: string;
  readonly port: number;
  /** False for "[host]": connect to host's own addresses. */
  readonly mx: boolean;
  /** An LMTP server's UNIX-domain socket ("unix:/path"). */
  readonly path?: string;
}

/** One address to try, with the host name it came from. */
export interface Target {
  readonly hostname: string;
  readonly address: string;
  readonly port: number;
  /** A UNIX-domain socket instead of address and port. */
  readonly path?: string;
}

/** Why there is nowhere to connect: a DSN code, Postfix's text, and whether to try again later. */
export class NextHopError extends Error {
  constructor(
    readonly dsn: string,
    message: string,
  ) {
    super(message);
    this.name = 'NextHopError';
  }

  get temporary(): boolean {
    return this.dsn.startsWith('4');
  }
}

/** A port number or a service name (smtp, submission ...). */
export function portNumber(text: string): number {
  const port = servicePort(text);
  if (port === undefined) throw new NextHopError('4.3.5', `bad port "${text}" in next hop`);
  return port;
}

/**
 * Parses an LMTP next hop: "unix:/path", "inet:host:port", "inet:host",
 * "host:port" or "[host]"; LMTP never looks up MX records.
 */
export function parseLmtpNextHop(text: string, defaultPort: number): NextHop {
  if (text.startsWith('unix:')) return { host: '', port: 0, mx: false, path: text.slice('unix:'.length) };
  const hop = parseNextHop(text.replace(/^inet:/, ''), defaultPort);
  return { ...hop, mx: false };
}

/** Parses "[host]:port", "[host]", "host:port" or "host" (defaultPort when none). */
export function parseNextHop(text: string, defaultPort: number): NextHop {
  const bracketed = /^\[([^\]]+)\](?::([^:]+))?$/.exec(text);
  if (bracketed !== null) {
    const host = (bracketed[1] as string).replace(/^ipv6:/i, '');
    return { host, port: bracketed[2] === undefined ? defaultPort : portNumber(bracketed[2]), mx: false };
  }
  const colon = text.lastIndexOf(':');
  if (colon > 0 && isIP(text) === 0) return { host: text.slice(0, colon), port: portNumber(text.slice(colon + 1)), mx: true };
  return { host: text, port: defaultPort, mx: isIP(text) === 0 };
}

/** The addresses this machine receives mail on, per inet_interfaces. */
export function ownAddresses(params: Params): Set<string> {
  const own = new Set<string>();
  for (const item of params.inet_interfaces) {
    if (item === 'all') {
      for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) own.add(entry.address);
    } else if (item === 'loopback-only') {
      own.add('127.0.0.1');
      own.add('::1');
    } else {
      own.add(item.replace(/^\[(.*)\]$/, '$1'));
    }
  }
  return own;
}

function dnsCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? '';
}

/** Looks up and orders the addresses to try for hop. */
export class NextHopResolver {
  private readonly resolver = new Resolver();
  private readonly own: Set<string>;

  constructor(private readonly params: Params) {
    if (params.dns_servers.length > 0) this.resolver.setServers([...params.dns_servers]);
    this.own = ownAddresses(params);
  }

  private families(): (4 | 6)[] {
    const protocols = this.params.inet_protocols;
    if (protocols.includes('all')) return [4, 6];
    return [...(protocols.includes('ipv4') ? [4 as const] : []), ...(protocols.includes('ipv6') ? [6 as const] : [])];
  }

  /** The A/AAAA addresses of name; NextHopError when there are none. */
  private async addresses(name: string): Promise<string[]> {
    if (isIP(name) !== 0) return [name];
    const found: string[] = [];
    let failure: unknown;
    let missing = 0;
    const families = this.families();
    for (const family of families) {
      try {
        found.push(...(family === 4 ? await this.resolver.resolve4(name) : await this.resolver.resolve6(name)));
      } catch (err) {
        if (dnsCode(err) === 'ENOTFOUND' || dnsCode(err) === 'ENODATA') missing++;
        else failure = err;
      }
    }
    if (found.length > 0) return found;
    if (failure === undefined && missing === families.length) {
      throw new NextHopError('5.4.4', `Host or domain name not found. Name service error for name=${name} type=A: Host not found`);
    }
    throw new NextHopError('4.4.3', `Host or domain name not found. Name service error for name=${name} type=A: Host not found, try again`);
  }

  private isSelf(hostname: string, addresses: readonly string[]): boolean {
    return hostname.toLowerCase() === this.params.myhostname.toLowerCase() || addresses.some((a) => this.own.has(a));
  }

  /** The ordered targets for hop; NextHopError when there is nowhere to go. */
  async targets(hop: NextHop): Promise<Target[]> {
    // A relative socket path is below queue_directory, where Postfix's daemons run; logged as written.
    if (hop.path !== undefined) return [{ hostname: this.params.myhostname, address: hop.path, port: 0, path: isAbsolute(hop.path) ? hop.path : join(this.params.queue_directory, hop.path) }];
    const limit = this.params.smtp_mx_address_limit;
    const cap = (list: Target[]): Target[] => (limit > 0 ? list.slice(0, limit) : list);
    if (!hop.mx) return cap((await this.addresses(hop.host)).map((address) => ({ hostname: hop.host, address, port: hop.port })));
    let exchanges: { exchange: string; priority: number }[];
    try {
      exchanges = await this.resolver.resolveMx(hop.host);
    } catch (err) {
      if (dnsCode(err) === 'ENODATA') exchanges = [];
      else if (dnsCode(err) === 'ENOTFOUND') throw new NextHopError('5.4.4', `Host or domain name not found. Name service error for name=${hop.host} type=MX: Host not found`);
      else throw new NextHopError('4.4.3', `Host or domain name not found. Name service error for name=${hop.host} type=MX: Host not found, try again`);
    }
    if (exchanges.length === 0) {
      const addresses = await this.addresses(hop.host);
      if (this.isSelf(hop.host, addresses)) throw new NextHopError('5.4.6', `mail for ${hop.host} loops back to myself`);
      return cap(addresses.map((address) => ({ hostname: hop.host, address, port: hop.port })));
    }
    const ordered = exchanges.map((mx) => ({ ...mx, tiebreak: Math.random() })).sort((a, b) => a.priority - b.priority || a.tiebreak - b.tiebreak);
    const targets: Target[] = [];
    let lastFailure: NextHopError | undefined;
    let selfPreference = Infinity;
    for (const mx of ordered) {
      if (mx.priority >= selfPreference) break;
      let addresses: string[];
      try {
        addresses = await this.addresses(mx.exchange);
      } catch (err) {
        lastFailure = err as NextHopError;
        continue;
      }
      if (this.isSelf(mx.exchange, addresses)) {
        selfPreference = mx.priority;
        continue;
      }
      for (const address of addresses) targets.push({ hostname: mx.exchange, address, port: hop.port });
    }
    if (targets.length > 0) return cap(targets);
    if (selfPreference !== Infinity) throw new NextHopError('5.4.6', `mail for ${hop.host} loops back to myself`);
    throw lastFailure ?? new NextHopError('4.4.3', `no usable MX host for ${hop.host}`);
  }
}

/*
 * smtpd-check-dns - the DNS questions restrictions ask: does a host name
 * or a mail domain exist (reject_unknown_helo_hostname,
 * reject_unknown_sender_domain, reject_unknown_recipient_domain), the MX
 * and NS hosts of a domain and the addresses of a host (check_*_mx_access,
 * check_*_ns_access, check_*_a_access, permit_mx_backup), and the A and
 * TXT records of DNS list entries (smtpd-check-rbl.ts). Lookups go to
 * dns_servers when set, else to the system's resolvers. A lookup that
 * cannot answer for now is "temporary", never "not found". Used by
 * smtpd-check-names.ts, smtpd-check-access.ts and smtpd-check-rbl.ts.
 * Beyond Postfix, which leaves caching to a local resolver, a process
 * reuses a final answer (found, or not there) for petrel_dns_cache_time,
 * and A and AAAA answers no longer than their records' TTL; a temporary
 * failure is asked again every time.
 */
import { Resolver } from 'node:dns/promises';
import { ExpiringCache } from '../util/expiring-cache.js';

/** The answer about a name: found, not there, or not known for now. */
export type DnsAnswer<T> = { readonly status: 'found'; readonly value: T } | { readonly status: 'none' } | { readonly status: 'temporary' };

const ABSENT = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'NXDOMAIN', 'NODATA']);

/** The most answers a process keeps; the least recently used goes first beyond it. */
const CACHE_ENTRIES = 10_000;

/** A record with its time to live, as the resolver gives A and AAAA records with { ttl: true }. */
interface TimedRecord {
  readonly address: string;
  readonly ttl: number;
}

/** A DNS resolver for the checks of one smtpd process, with its answers kept for cacheSeconds (petrel_dns_cache_time). */
export class CheckDns {
  private readonly resolver = new Resolver({ timeout: 5000, tries: 2 });
  /** Final answers (found or not there) by "TYPE name"; never a temporary failure. */
  private readonly answers = new ExpiringCache<DnsAnswer<unknown[]>>(CACHE_ENTRIES);

  constructor(
    servers: readonly string[],
    private readonly cacheSeconds = 0,
  ) {
    if (servers.length > 0) this.resolver.setServers([...servers]);
  }

  /**
   * Asks query (its answer kept under key); ttl: the seconds the answer may
   * live by its records, when the resolver tells (A and AAAA), else the
   * cache time alone bounds it.
   */
  private async ask<T>(key: string, query: () => Promise<T[]>, ttl?: (value: T[]) => number): Promise<DnsAnswer<T[]>> {
    const kept = this.answers.get(key);
    if (kept !== undefined) return kept as DnsAnswer<T[]>;
    let answer: DnsAnswer<T[]>;
    try {
      const value = await query();
      answer = value.length > 0 ? { status: 'found', value } : { status: 'none' };
    } catch (err) {
      answer = ABSENT.has((err as NodeJS.ErrnoException).code ?? '') ? { status: 'none' } : { status: 'temporary' };
    }
    if (answer.status !== 'temporary') {
      const seconds = Math.min(this.cacheSeconds, answer.status === 'found' && ttl !== undefined ? ttl(answer.value) : this.cacheSeconds);
      this.answers.set(key, answer, seconds * 1000);
    }
    return answer;
  }

  /** The addresses of an A or AAAA lookup, kept no longer than their shortest TTL. */
  private async addressRecords(type: 'A' | 'AAAA', host: string): Promise<DnsAnswer<string[]>> {
    const shortest = (records: TimedRecord[]): number => Math.min(...records.map((r) => r.ttl));
    const lookup = (): Promise<TimedRecord[]> => (type === 'A' ? this.resolver.resolve4(host, { ttl: true }) : this.resolver.resolve6(host, { ttl: true }));
    const answer = await this.ask(`${type} ${host}`, lookup, shortest);
    return answer.status === 'found' ? { status: 'found', value: answer.value.map((r) => r.address) } : answer;
  }

  /** The IPv4 and IPv6 addresses of host. */
  async addresses(host: string): Promise<DnsAnswer<string[]>> {
    const [v4, v6] = await Promise.all([this.addressRecords('A', host), this.addressRecords('AAAA', host)]);
    const found = [...(v4.status === 'found' ? v4.value : []), ...(v6.status === 'found' ? v6.value : [])];
    if (found.length > 0) return { status: 'found', value: found };
    return v4.status === 'temporary' || v6.status === 'temporary' ? { status: 'temporary' } : { status: 'none' };
  }

  /** The IPv4 addresses (A records) of name: a DNS list entry. */
  async a(name: string): Promise<DnsAnswer<string[]>> {
    return this.addressRecords('A', name);
  }

  /** The TXT records of name, each record's strings joined: a DNS list entry's reason. */
  async txt(name: string): Promise<DnsAnswer<string[]>> {
    const answer = await this.ask(`TXT ${name}`, () => this.resolver.resolveTxt(name));
    return answer.status === 'found' ? { status: 'found', value: answer.value.map((chunks) => chunks.join('')) } : answer;
  }

  /** The MX host names of domain, best first. */
  async mxHosts(domain: string): Promise<DnsAnswer<string[]>> {
    const answer = await this.ask(`MX ${domain}`, () => this.resolver.resolveMx(domain));
    if (answer.status !== 'found') return answer;
    return { status: 'found', value: [...answer.value].sort((a, b) => a.priority - b.priority).map((mx) => mx.exchange) };
  }

  /** The NS host names of domain or, when it has none, of its nearest parent that has some. */
  async nsHosts(domain: string): Promise<DnsAnswer<string[]>> {
    for (let name = domain; name.includes('.'); name = name.slice(name.indexOf('.') + 1)) {
      const answer = await this.ask(`NS ${name}`, () => this.resolver.resolveNs(name));
      if (answer.status !== 'none') return answer;
    }
    return { status: 'none' };
  }

  /** Whether host has an address or an MX record (a HELO name or a mail domain that exists). */
  async hostOrMx(host: string): Promise<'found' | 'none' | 'temporary'> {
    const [addresses, mx] = await Promise.all([this.addresses(host), this.mxHosts(host)]);
    if (addresses.status === 'found' || mx.status === 'found') return 'found';
    return addresses.status === 'temporary' || mx.status === 'temporary' ? 'temporary' : 'none';
  }
}

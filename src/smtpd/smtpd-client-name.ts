/*
 * smtpd-client-name - the client's names as Postfix knows them: the
 * reverse name (PTR, through the system's resolver as getnameinfo does),
 * and the name proper only when that name's addresses include the
 * client's (forward-confirmed); "unknown" otherwise. Each lookup is
 * bounded in time: one that does not answer is a temporary failure
 * (reject_unknown_client_hostname then defers). Beyond Postfix, a process
 * reuses a final answer for the same address for
 * petrel_client_name_cache_time (a temporary failure is never kept), so a
 * client that connects again and again costs two lookups per that time,
 * not per connection. Used by smtpd-serve.ts.
 */
import { lookup, lookupService } from 'node:dns/promises';
import { ExpiringCache } from '../util/expiring-cache.js';

/** Seconds to wait for each lookup before calling the client "unknown". */
const LOOKUP_SECONDS = 5;

/** The most addresses remembered; the least recently used goes first beyond it. */
const CACHE_ENTRIES = 4096;

/** What the name lookups found about a client address. */
export interface ClientNames {
  readonly name: string;
  readonly reverseName: string;
  readonly nameTempFail: boolean;
}

/** Resolves as work does within LOOKUP_SECONDS, or 'timeout'. */
async function bounded<T>(work: Promise<T>): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), LOOKUP_SECONDS * 1000);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function lookUp(address: string): Promise<ClientNames> {
  const reverse = await bounded(lookupService(address, 0).then((r) => r.hostname).catch(() => undefined));
  if (reverse === 'timeout') return { name: 'unknown', reverseName: 'unknown', nameTempFail: true };
  if (reverse === undefined || reverse === address) return { name: 'unknown', reverseName: 'unknown', nameTempFail: false };
  const forward = await bounded(lookup(reverse, { all: true }).catch(() => []));
  if (forward === 'timeout') return { name: 'unknown', reverseName: reverse, nameTempFail: true };
  const confirmed = forward.some((a) => a.address.replace(/^::ffff:/, '') === address);
  return { name: confirmed ? reverse : 'unknown', reverseName: reverse, nameTempFail: false };
}

/** The client name lookups of one smtpd process, with their answers kept for cacheSeconds. */
export class ClientNameResolver {
  private readonly answers = new ExpiringCache<ClientNames>(CACHE_ENTRIES);

  constructor(private readonly cacheSeconds: number) {}

  async names(address: string): Promise<ClientNames> {
    const kept = this.answers.get(address);
    if (kept !== undefined) return kept;
    const names = await lookUp(address);
    if (!names.nameTempFail) this.answers.set(address, names, this.cacheSeconds * 1000);
    return names;
  }
}

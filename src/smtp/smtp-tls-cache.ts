/*
 * smtp-tls-cache - the SMTP/LMTP client's TLS session cache
 * (<smtp|lmtp>_tls_session_cache_database), shared by every smtp process
 * through one LMDB file in data_directory (btree:, hash: and lmdb: name
 * LMDB files in Petrel, as in table-lmdb.ts), so a new connection to a
 * server that was reached lately resumes the TLS session instead of
 * running a full handshake. Postfix keeps this cache in its tlsmgr(8)
 * process; Petrel's smtp processes read and write the file themselves
 * (LMDB serialises the writers). An entry is keyed by the next hop, the
 * server address and everything in the TLS policy that a resumed session
 * would not check again (level, the name verified, lowest protocol, the
 * trusted authorities), and holds its expiry time and the session. An
 * entry older than <smtp|lmtp>_tls_session_cache_timeout is ignored and
 * removed when it is met, and expired ones are swept when a process
 * opens the cache. A cache that cannot be opened or written is logged and
 * does without: sessions are only a speed-up. keepSessions, called by
 * smtp-session.ts on each STARTTLS socket, stores what the server sends.
 * Follows postconf(5) smtp_tls_session_cache_database and tlsmgr(8).
 */
import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { RootDatabase } from 'lmdb';
import { PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import { acquireIndexedFile, indexedFile, INDEXED_SUFFIXES } from '../global/tables/table-lmdb.js';
import { msg } from '../util/msg.js';

/** Postfix's floor for a positive timeout (seconds). */
const MIN_TIMEOUT = 120;

/** What identifies a reusable session. */
export interface SessionKey {
  readonly nexthop: string;
  readonly address: string;
  readonly port: number | string;
  readonly level: string;
  readonly servername: string | undefined;
  /** The TLS versions allowed ("TLSv1.2-TLSv1.3"). */
  readonly protocols: string;
  /** The OpenSSL cipher list (in the key as a short digest). */
  readonly ciphers: string;
  /** ClientTrust.id of the authorities the session was verified against. */
  readonly trust: string;
}

/** One connection's view of the cache: the session to offer, and where a new one goes. */
export interface SessionSlot {
  load(): Buffer | undefined;
  save(session: Buffer): void;
}

/** The key text of an entry. */
export function sessionKeyText(key: SessionKey): string {
  return [key.nexthop, `${key.address}:${key.port}`, key.level, key.servername ?? '', key.protocols, createHash('sha256').update(key.ciphers).digest('hex').slice(0, 8), key.trust].join('&').toLowerCase();
}

/** The cache file of one personality. */
export class TlsSessionCache {
  private warned = false;

  private constructor(
    private readonly db: RootDatabase<string, string>,
    readonly file: string,
    private readonly timeoutMs: number,
  ) {}

  /** Opens the configured cache, or undefined when there is none (or it cannot be opened, which is logged). */
  static open(params: Params, lmtp: boolean): TlsSessionCache | undefined {
    const parameter = lmtp ? 'lmtp_tls_session_cache_database' : 'smtp_tls_session_cache_database';
    const spec = params[parameter].trim();
    const timeout = lmtp ? params.lmtp_tls_session_cache_timeout : params.smtp_tls_session_cache_timeout;
    if (spec === '' || timeout <= 0) return undefined;
    const colon = spec.indexOf(':');
    const type = colon < 0 ? '' : spec.slice(0, colon);
    if (INDEXED_SUFFIXES[type] === undefined || colon === spec.length - 1) {
      throw new PetrelError('config', `${parameter}: unsupported cache "${spec}" (expected ${Object.keys(INDEXED_SUFFIXES).join(':, ')}: and a file name)`);
    }
    const file = indexedFile(type, spec.slice(colon + 1));
    let db: RootDatabase<string, string>;
    try {
      db = acquireIndexedFile(file, true);
    } catch (err) {
      msg.warn(`cannot open TLS session cache ${file}: ${(err as Error).message}; TLS sessions are not cached`);
      return undefined;
    }
    const cache = new TlsSessionCache(db, file, Math.max(timeout, MIN_TIMEOUT) * 1000);
    cache.sweep();
    return cache;
  }

  /** The slot for one connection. */
  slot(key: SessionKey): SessionSlot {
    const text = sessionKeyText(key);
    return { load: () => this.load(text), save: (session) => this.save(text, session) };
  }

  /** The session stored under key, unless it has expired (then it is removed). */
  load(key: string): Buffer | undefined {
    let value: string | undefined;
    try {
      value = this.db.get(key);
    } catch (err) {
      this.trouble('read', err);
      return undefined;
    }
    if (value === undefined) return undefined;
    const entry = parseEntry(value);
    if (entry !== undefined && entry.expires > Date.now()) return entry.session;
    this.remove(key);
    return undefined;
  }

  /** Stores session under key until the timeout. */
  save(key: string, session: Buffer): void {
    this.db.put(key, `${Date.now() + this.timeoutMs} ${session.toString('base64')}`).catch((err: unknown) => this.trouble('update', err));
  }

  /** Removes every expired (or unreadable) entry. */
  sweep(): void {
    const now = Date.now();
    try {
      for (const { key, value } of this.db.getRange()) {
        const entry = parseEntry(value);
        if (entry === undefined || entry.expires <= now) this.remove(key);
      }
    } catch (err) {
      this.trouble('read', err);
    }
  }

  private remove(key: string): void {
    this.db.remove(key).catch((err: unknown) => this.trouble('update', err));
  }

  /** Logs the first failure of this process: sessions are a speed-up, delivery goes on without them. */
  private trouble(what: string, err: unknown): void {
    if (this.warned) return;
    this.warned = true;
    msg.warn(`cannot ${what} TLS session cache ${this.file}: ${(err as Error).message}`);
  }
}

/**
 * Keeps the sessions a TLS socket receives, once the handshake has passed
 * the policy's checks (a session from a rejected server is never offered
 * again); TLS 1.3 sends them after the handshake, so later ones are kept too.
 */
export function keepSessions(socket: TLSSocket, slot: SessionSlot): void {
  let secured = false;
  let pending: Buffer | undefined;
  socket.on('session', (session: Buffer) => {
    if (secured) slot.save(session);
    else pending = session;
  });
  socket.once('secureConnect', () => {
    secured = true;
    if (pending !== undefined) slot.save(pending);
  });
}

function parseEntry(value: string): { expires: number; session: Buffer } | undefined {
  const space = value.indexOf(' ');
  const expires = Number(value.slice(0, space));
  if (space < 0 || !Number.isFinite(expires)) return undefined;
  return { expires, session: Buffer.from(value.slice(space + 1), 'base64') };
}

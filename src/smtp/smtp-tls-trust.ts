/*
 * smtp-tls-trust - the certificate authorities the SMTP/LMTP client
 * trusts: the PEM certificates of <smtp|lmtp>_tls_CAfile and of every file
 * in <smtp|lmtp>_tls_CApath, read once when the process starts (a file in
 * the directory that cannot be read or holds no certificate is skipped; a
 * directory that cannot be read, or holds no certificate at all, is a
 * configuration error). With neither set, Node's built-in store is used.
 * One TLS context is built per protocol range and cipher list and kept, so the
 * certificates are not parsed again for each connection. Also the word
 * the log gives a TLS connection (Verified, Trusted, Untrusted). Used by
 * smtp-main.ts and smtp-session.ts; follows postconf(5) smtp_tls_CAfile,
 * smtp_tls_CApath and TLS_README's client log levels.
 */
import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { PetrelError } from '../global/errors.js';
import { readAuthorities } from '../global/tls/tls-certs.js';
import type { VersionRange } from '../global/tls/tls-policy.js';

/** How far the server's certificate was checked, in Postfix's log words. */
export type TlsTrust = 'Verified' | 'Trusted' | 'Untrusted';

/** The client's trusted authorities and the TLS contexts built on them. */
export class ClientTrust {
  /** Names the trusted set in session cache keys: a session verified against other authorities is not resumed. */
  readonly id: string;
  /** How many distinct certificates were read (0: Node's built-in store). */
  readonly count: number;
  private readonly contexts = new Map<string, SecureContext>();

  private constructor(private readonly ca: readonly string[] | undefined) {
    this.count = ca?.length ?? 0;
    this.id = ca === undefined ? 'system' : createHash('sha256').update(ca.join('')).digest('hex').slice(0, 16);
  }

  /** Reads the CA file and directory of the smtp or lmtp personality; throws a config error for what cannot be used. */
  static load(prefix: 'smtp' | 'lmtp', file: string, dir: string): ClientTrust {
    const fileParameter = `${prefix}_tls_CAfile`;
    const dirParameter = `${prefix}_tls_CApath`;
    if (file === '' && dir === '') return new ClientTrust(undefined);
    // A CA directory holds each certificate several times (bundle, file, hash link): keep one of each, in order.
    const ca = [...new Set(readAuthorities(fileParameter, file, dirParameter, dir))];
    if (ca.length === 0) throw new PetrelError('config', `${fileParameter}: no certificates in ${file}`);
    return new ClientTrust(ca);
  }

  /** The TLS context for connections that speak the versions of protocols with the OpenSSL cipher list ciphers. */
  context(protocols: VersionRange, ciphers: string): SecureContext {
    const key = `${protocolsText(protocols)}/${ciphers}`;
    let context = this.contexts.get(key);
    if (context === undefined) {
      context = createSecureContext({ ...(this.ca === undefined ? {} : { ca: [...this.ca] }), minVersion: protocols.minVersion, maxVersion: protocols.maxVersion, ciphers });
      this.contexts.set(key, context);
    }
    return context;
  }
}

/** A version range as a key: "TLSv1.2-TLSv1.3". */
export function protocolsText(protocols: VersionRange): string {
  return `${protocols.minVersion}-${protocols.maxVersion}`;
}

/**
 * Verified: the chain and the name were checked (verify, secure: the
 * connection fails otherwise). Trusted: the chain leads to a trusted
 * authority, the name was not required. Untrusted: neither.
 */
export function trustOf(socket: TLSSocket, verify: boolean): TlsTrust {
  if (verify) return 'Verified';
  // Without a required name Node checks the certificate against the address: a mismatch there says the chain was good.
  return socket.authorized || socket.authorizationError?.toString() === 'ERR_TLS_CERT_ALTNAME_INVALID' ? 'Trusted' : 'Untrusted';
}

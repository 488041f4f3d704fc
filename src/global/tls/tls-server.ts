/*
 * tls-server - the SMTP server's TLS set-up from main.cf and master.cf -o:
 * the security level (smtpd_tls_security_level, or the obsolete
 * smtpd_use_tls / smtpd_enforce_tls), wrapper mode, the keys and
 * certificates (checked at start-up: a missing, expired or mismatched one
 * is a configuration error), the protocols and ciphers of the opportunistic
 * or the mandatory grade, client certificates, SNI (tls_server_sni_maps)
 * and session resumption shared by every smtpd process: the ticket key is
 * derived from a secret all of them read and changes every
 * smtpd_tls_session_cache_timeout. Used by smtpd and by "petrel check";
 * follows Postfix's TLS_README and postconf(5).
 */
import { constants, createHash, hkdfSync, X509Certificate, type BinaryLike } from 'node:crypto';
import { createSecureContext, type DetailedPeerCertificate, type PeerCertificate, type SecureContext, type SecureContextOptions, type TLSSocketOptions } from 'node:tls';
import { PetrelError } from '../errors.js';
import { msg } from '../../util/msg.js';
import type { Params } from '../params/param-registry.js';
import { splitList } from '../config/param-convert.js';
import { openTableList, type TableList } from '../tables/table-list.js';
import { tableContext } from '../tables/table.js';
import { parseChain, readAuthorities, readCertAndKey, readChainFile, type KeyAndChain } from './tls-certs.js';
import { readDhParams } from './tls-dh.js';
import { cipherList, protocolRange } from './tls-policy.js';

/** The server TLS security level. */
export type ServerTlsLevel = 'none' | 'may' | 'encrypt';

/** The most SNI names whose contexts are kept. */
const SNI_CACHE_LIMIT = 1000;

/** The level a configuration asks for. */
export function serverTlsLevel(params: Params): ServerTlsLevel {
  const level = params.smtpd_tls_security_level.toLowerCase();
  if (level === '') return params.smtpd_enforce_tls ? 'encrypt' : params.smtpd_use_tls ? 'may' : 'none';
  if (level === 'none' || level === 'may' || level === 'encrypt') return level;
  throw new PetrelError('config', `smtpd_tls_security_level: unknown level "${params.smtpd_tls_security_level}" (none, may or encrypt)`);
}

function pairsOf(params: Params): KeyAndChain[] {
  if (params.smtpd_tls_chain_files.length > 0) return params.smtpd_tls_chain_files.flatMap((file) => readChainFile('smtpd_tls_chain_files', file));
  const pairs: KeyAndChain[] = [];
  if (params.smtpd_tls_cert_file !== '') pairs.push(readCertAndKey('smtpd_tls_cert_file', params.smtpd_tls_cert_file, params.smtpd_tls_key_file || params.smtpd_tls_cert_file));
  if (params.smtpd_tls_eccert_file !== '') pairs.push(readCertAndKey('smtpd_tls_eccert_file', params.smtpd_tls_eccert_file, params.smtpd_tls_eckey_file || params.smtpd_tls_eccert_file));
  if (pairs.length === 0) throw new PetrelError('config', 'TLS is enabled but no server certificate is configured (smtpd_tls_cert_file or smtpd_tls_chain_files)');
  return pairs;
}

/**
 * The keys and chains of an SNI table value: Postfix's form, the files'
 * content base64-encoded by "postmap -F" (which lets a table built as root
 * carry keys the server could not read after dropping root), or file names.
 */
function sniChains(name: string, value: string): KeyAndChain[] {
  const trimmed = value.trim();
  if (/^[A-Za-z0-9+/=\s]+$/.test(trimmed) && !trimmed.startsWith('/')) {
    const text = Buffer.from(trimmed, 'base64').toString('utf8');
    if (text.includes('-----BEGIN ')) return parseChain('tls_server_sni_maps', `the entry for ${name}`, text);
  }
  return splitList(value).flatMap((file) => readChainFile('tls_server_sni_maps', file));
}

/** The SMTP server's TLS, built once per process. */
export class ServerTls {
  /** The fingerprint digest of client certificates, checked at start-up. */
  readonly digest: 'sha256' | 'sha1' | 'md5';
  /** True when TLS is mandatory: level encrypt, or wrapper mode. */
  readonly mandatory: boolean;
  /** True when client certificates can be verified (a CA file or directory is configured). */
  readonly canVerify: boolean;
  private readonly authorities: X509Certificate[];
  private readonly base: SecureContextOptions;
  private readonly pairs: KeyAndChain[];
  private epoch = -1;
  private context: SecureContext | undefined;
  private readonly sniContexts = new Map<string, SecureContext | null>();

  private constructor(
    readonly level: ServerTlsLevel,
    readonly wrapper: boolean,
    private readonly params: Params,
    private readonly secret: BinaryLike | undefined,
    private readonly sni: TableList | undefined,
  ) {
    this.mandatory = wrapper || level === 'encrypt';
    const mandatory = this.mandatory;
    if (params.smtpd_tls_req_ccert && !mandatory) msg.warn('smtpd_tls_req_ccert = yes has no effect while TLS is optional (smtpd_tls_security_level = may)');
    const protocols = mandatory ? params.smtpd_tls_mandatory_protocols : params.smtpd_tls_protocols;
    const range = protocolRange(mandatory ? 'smtpd_tls_mandatory_protocols' : 'smtpd_tls_protocols', protocols);
    const grade = mandatory ? params.smtpd_tls_mandatory_ciphers : params.smtpd_tls_ciphers;
    const exclusions = [...params.smtpd_tls_exclude_ciphers, ...(mandatory ? params.smtpd_tls_mandatory_exclude_ciphers : [])];
    const digest = params.smtpd_tls_fingerprint_digest.toLowerCase();
    if (digest !== 'sha256' && digest !== 'sha1' && digest !== 'md5') throw new PetrelError('config', `smtpd_tls_fingerprint_digest: unsupported digest "${digest}" (sha256, sha1 or md5)`);
    this.digest = digest;
    this.pairs = pairsOf(params);
    const ca = readAuthorities('smtpd_tls_CAfile', params.smtpd_tls_CAfile, 'smtpd_tls_CApath', params.smtpd_tls_CApath);
    this.canVerify = ca.length > 0;
    this.authorities = ca.map((pem) => new X509Certificate(pem));
    this.base = {
      ...range,
      ciphers: cipherList(params, mandatory ? 'smtpd_tls_mandatory_ciphers' : 'smtpd_tls_ciphers', grade, exclusions),
      honorCipherOrder: params.tls_preempt_cipherlist,
      sessionIdContext: 'petrel-smtpd',
      sessionTimeout: params.smtpd_tls_session_cache_timeout,
      ...(params.smtpd_tls_session_cache_timeout === 0 ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}),
      dhparam: readDhParams(params.smtpd_tls_dh1024_param_file),
      ...(ca.length > 0 ? { ca } : {}),
    };
    // Built now so that a cipher list or DH file OpenSSL refuses is a start-up error.
    try {
      this.current();
    } catch (err) {
      throw new PetrelError('config', `cannot set up TLS: ${(err as Error).message}`);
    }
  }

  /** The TLS of a service, or undefined when it has none; throws a config error for anything it cannot honour. */
  static async open(params: Params, secret: BinaryLike | undefined): Promise<ServerTls | undefined> {
    const level = serverTlsLevel(params);
    const wrapper = params.smtpd_tls_wrappermode;
    if (level === 'none' && !wrapper) return undefined;
    const sni = params.tls_server_sni_maps.length > 0 ? await openTableList(params.tls_server_sni_maps, tableContext(params)) : undefined;
    return new ServerTls(level === 'none' ? 'encrypt' : level, wrapper, params, secret, sni);
  }

  /** The earliest expiry among the configured certificates. */
  get expires(): Date {
    return new Date(Math.min(...this.pairs.map((p) => p.validTo.getTime())));
  }

  /** Options for a server TLSSocket over a client's socket. */
  socketOptions(): TLSSocketOptions {
    const ask = this.params.smtpd_tls_ask_ccert || this.params.smtpd_tls_req_ccert;
    return {
      isServer: true,
      secureContext: this.current(),
      requestCert: ask,
      rejectUnauthorized: false,
      ...(this.sni === undefined ? {} : { SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => this.sniContext(name).then((ctx) => cb(null, ctx), (err: Error) => cb(err)) }),
    };
  }

  /** A client certificate's fingerprint as Postfix prints it (XX:XX:...). */
  fingerprint(cert: PeerCertificate): string {
    return this.digestText(cert.raw);
  }

  /** The fingerprint of a client certificate's public key (its DER SubjectPublicKeyInfo), as Postfix's ccert_pubkey_fingerprint. */
  pubkeyFingerprint(cert: PeerCertificate): string {
    return cert.pubkey === undefined ? '' : this.digestText(cert.pubkey);
  }

  private digestText(bytes: Buffer): string {
    const hex = createHash(this.digest).update(bytes).digest('hex').toUpperCase();
    return hex.match(/../g)?.join(':') ?? '';
  }

  /**
   * True when the client's chain leads, within smtpd_tls_ccert_verifydepth
   * certificates each valid now and signed by the next, to one of the
   * configured authorities. Checked here because a server TLSSocket made
   * outside tls.Server never sets "authorized".
   */
  verifyClientChain(peer: DetailedPeerCertificate): boolean {
    if (this.authorities.length === 0 || peer.raw === undefined) return false;
    const now = Date.now();
    const valid = (cert: X509Certificate): boolean => new Date(cert.validFrom).getTime() <= now && now < new Date(cert.validTo).getTime();
    let node: DetailedPeerCertificate | undefined = peer;
    for (let depth = 0; node !== undefined && node.raw !== undefined && depth < this.params.smtpd_tls_ccert_verifydepth; depth++) {
      const cert = new X509Certificate(node.raw);
      if (!valid(cert)) return false;
      const cert0 = cert;
      if (this.authorities.some((ca) => valid(ca) && cert0.checkIssued(ca) && cert0.verify(ca.publicKey))) return true;
      const issuer: DetailedPeerCertificate | undefined = node.issuerCertificate;
      if (issuer === undefined || issuer === node || issuer.raw === undefined) return false;
      const issuerCert = new X509Certificate(issuer.raw);
      if (!cert.checkIssued(issuerCert) || !cert.verify(issuerCert.publicKey)) return false;
      node = issuer;
    }
    return false;
  }

  private contextFor(pairs: readonly KeyAndChain[]): SecureContext {
    const timeout = this.params.smtpd_tls_session_cache_timeout;
    let ticketKeys: Buffer | undefined;
    if (timeout > 0 && this.secret !== undefined) {
      ticketKeys = Buffer.from(hkdfSync('sha256', this.secret, String(this.epoch), 'petrel smtpd session tickets', 48));
    }
    return createSecureContext({ ...this.base, key: pairs.map((p) => p.key), cert: pairs.map((p) => p.chain), ...(ticketKeys === undefined ? {} : { ticketKeys }) });
  }

  /** The context of the current ticket key period (rebuilt when the period changes). */
  private current(): SecureContext {
    const timeout = this.params.smtpd_tls_session_cache_timeout;
    const epoch = timeout > 0 ? Math.floor(Date.now() / 1000 / timeout) : 0;
    if (this.context === undefined || epoch !== this.epoch) {
      this.epoch = epoch;
      this.context = this.contextFor(this.pairs);
      this.sniContexts.clear();
    }
    return this.context;
  }

  /** The context for an SNI name: the table's files for the name or a parent domain, else the default. */
  private async sniContext(name: string): Promise<SecureContext> {
    const fallback = this.current();
    const lower = name.toLowerCase();
    const cached = this.sniContexts.get(lower);
    if (cached !== undefined) return cached ?? fallback;
    const labels = lower.split('.');
    let value: string | undefined;
    for (let i = 0; i < labels.length && value === undefined; i++) {
      value = await (this.sni as TableList).lookup(i === 0 ? lower : `.${labels.slice(i).join('.')}`);
    }
    const ctx = value === undefined ? null : this.contextFor(sniChains(lower, value));
    if (this.sniContexts.size >= SNI_CACHE_LIMIT) this.sniContexts.clear();
    this.sniContexts.set(lower, ctx);
    return ctx ?? fallback;
  }
}

/*
 * smtpd-tls - TLS in the SMTP server: the STARTTLS command (refused when
 * TLS is already on; any plaintext the client sent after it is refused as
 * pipelining or thrown away, never read as TLS-protected: CVE-2011-0411),
 * the handshake of wrapper mode (port 465) before the greeting, the
 * handshake time limit, the client certificate (smtpd_tls_req_ccert), the
 * session's TLS facts for Received: and the restrictions, Postfix's log
 * lines ("Anonymous TLS connection established from ...") and the secret
 * every smtpd process derives its session ticket keys from. Follows
 * smtpd(8) and TLS_README.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import type { Params } from '../global/params/param-registry.js';
import { msg } from '../util/msg.js';
import { tlsRefused, tlsSessionCounted } from './smtpd-anvil.js';
import { SessionEnd, type SessionTls, type SmtpdSession } from './smtpd-session.js';

/** The ticket secret's file, shared by every smtpd process of the instance (private/ is mail_owner's only). */
export function ticketSecret(params: Params): Buffer {
  const path = join(params.queue_directory, 'private', 'smtpd-tls-ticket-secret');
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32);
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, secret);
    closeSync(fd);
    return secret;
  } catch (err) {
    // Another process made it first: use that one, so all share one key.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path);
    throw err;
  }
}

/** True when STARTTLS is offered to this session. */
export function starttlsOffered(s: SmtpdSession): boolean {
  return s.services.tls !== undefined && !s.services.tls.wrapper && s.tls === undefined;
}

/** The strength of a cipher by its name, as Postfix prints "(256/256 bits)". */
function cipherBits(name: string): number {
  if (/AES_?256|AES256|CHACHA20|CAMELLIA256|ARIA256/i.test(name)) return 256;
  if (/AES_?128|AES128|CAMELLIA128|ARIA128|SEED/i.test(name)) return 128;
  if (/3DES|DES-CBC3/i.test(name)) return 168;
  return 0;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * socket with bytes already read from it put back in front, as a stream
 * TLS can read (a PROXY header reader may have read the start of the
 * handshake). Only used then: TLS over the socket itself is cheaper.
 */
function prepended(socket: Socket, ahead: Buffer): Duplex {
  const joined: Duplex = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, callback) => void socket.write(chunk, callback),
    final: (callback) => void socket.end(callback),
    destroy: (err, callback) => {
      socket.destroy();
      callback(err);
    },
  });
  joined.push(ahead);
  socket.on('data', (chunk: Buffer) => {
    if (!joined.push(chunk)) socket.pause();
  });
  socket.on('end', () => joined.push(null));
  socket.on('close', () => joined.destroy());
  return joined;
}

/** Runs the server side of the handshake over socket (after ahead, bytes already read); the TLS socket, or undefined (logged) when it failed. */
export async function handshake(s: SmtpdSession, socket: Socket, ahead: Buffer = Buffer.alloc(0)): Promise<TLSSocket | undefined> {
  const tls = s.services.tls;
  if (tls === undefined) return undefined;
  s.input.detach();
  const secure = new TLSSocket(ahead.length > 0 ? prepended(socket, ahead) : socket, tls.socketOptions());
  const failure = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), s.params.smtpd_starttls_timeout * 1000);
    const done = (why: string | undefined): void => {
      clearTimeout(timer);
      resolve(why);
    };
    secure.once('secure', () => done(undefined));
    secure.once('error', (err: Error) => done(err.message));
    secure.once('close', () => done('lost connection'));
  });
  if (failure !== undefined) {
    msg.info(`SSL_accept error from ${s.peer}: ${failure}`);
    secure.destroy();
    return undefined;
  }
  const cipher = secure.getCipher();
  const cert = secure.getPeerCertificate(true);
  const presented = cert !== null && cert !== undefined && cert.raw !== undefined;
  const verified = presented && tls.verifyClientChain(cert);
  const state: SessionTls = {
    protocol: secure.getProtocol() ?? 'unknown',
    cipher: cipher.name,
    bits: cipherBits(cipher.name),
    fingerprint: presented ? tls.fingerprint(cert) : undefined,
    pubkeyFingerprint: presented ? tls.pubkeyFingerprint(cert) : undefined,
    verified,
    subject: presented ? firstValue(cert.subject?.CN) : undefined,
    issuer: presented ? firstValue(cert.issuer?.CN) : undefined,
  };
  if (s.params.smtpd_tls_loglevel >= 1) {
    const kind = verified ? 'Trusted' : presented ? 'Untrusted' : 'Anonymous';
    msg.info(`${kind} TLS connection established from ${s.peer}: ${state.protocol} with cipher ${state.cipher} (${state.bits}/${state.bits} bits)`);
  }
  if (presented && s.params.smtpd_tls_loglevel >= 1) {
    msg.info(`${s.peer}: client certificate subject="${state.subject ?? ''}" issuer="${state.issuer ?? ''}" fingerprint=${state.fingerprint ?? ''}`);
  }
  s.upgraded(secure, state);
  return secure;
}

/** After the handshake: a service that requires a client certificate (where TLS is mandatory: encrypt or wrapper mode) ends a session without a trusted one. */
export function requireClientCert(s: SmtpdSession): void {
  const tls = s.services.tls;
  if (tls === undefined || !s.params.smtpd_tls_req_ccert || !tls.mandatory) return;
  if (s.tls?.verified === true) return;
  msg.info(`NOQUEUE: reject: CONNECT from ${s.peer}: 421 4.7.1 Client certificate required; proto=SMTP`);
  s.reply(421, `4.7.1 ${s.params.myhostname} Error: a trusted client certificate is required`);
  throw new SessionEnd('no client certificate');
}

/** STARTTLS. */
export async function handleStarttls(s: SmtpdSession, arg: string): Promise<void> {
  if (arg.trim() !== '') return s.reply(501, '5.5.4 Syntax: STARTTLS');
  if (s.tls !== undefined) return s.reply(554, '5.5.1 Error: TLS already active');
  if (!starttlsOffered(s)) return s.reply(502, '5.5.1 Error: command not implemented');
  if (s.pipelinedAhead('STARTTLS')) throw new SessionEnd('pipelining');
  if (await tlsRefused(s, false)) return;
  s.transaction?.abort();
  s.transaction = undefined;
  s.reply(220, '2.0.0 Ready to start TLS');
  s.flush();
  const secure = await handshake(s, s.socket as Socket);
  if (secure === undefined) {
    msg.info(`lost connection after STARTTLS from ${s.peer}`);
    throw new SessionEnd('handshake');
  }
  await tlsSessionCounted(s, secure.isSessionReused());
  requireClientCert(s);
}

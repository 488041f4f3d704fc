/*
 * smtpd-serve - serves one client connection: the client's names
 * (smtpd-client-name.ts), the TLS handshake first in wrapper mode,
 * the early-talker check and the greeting, then the command loop with its
 * dispatch through smtpd-commands.ts, and at the end the connection closed,
 * "disconnect from ... commands=N" logged and the postmaster told of the
 * session's errors per notify_classes. A fault inside a session ends that
 * session with 421, never the process. Called by smtpd-main.ts.
 */
import type { Socket } from 'node:net';
import { msg } from '../util/msg.js';
import { connectionEnded, connectionRefused, countConnection, tlsRefused, tlsSessionCounted } from './smtpd-anvil.js';
import { checkStages } from './smtpd-check.js';
import type { ClientNameResolver } from './smtpd-client-name.js';
import { notifyPostmaster, SmtpChat } from './smtpd-chat.js';
import { COMMANDS, commandAllowed } from './smtpd-commands.js';
import { readProxyHeader, type ProxyHeader } from '../util/proxy-protocol.js';
import { SessionEnd, SmtpdSession, type SmtpdClient, type SmtpdServices } from './smtpd-session.js';
import { handshake, requireClientCert } from './smtpd-tls.js';
import { printable } from '../util/printable.js';

/** First words that show a client is not speaking SMTP at all (a web browser, a proxy probe). */
const NON_SMTP = new Set(['CONNECT', 'GET', 'POST', 'PUT', 'HEAD', 'USER']);

async function commandLoop(s: SmtpdSession): Promise<void> {
  for (;;) {
    const line = await s.nextLine(s.params.line_length_limit);
    if (line === undefined) return;
    const text = line.text.toString('utf8');
    s.chat.command(text);
    const space = text.search(/[ \t]/);
    const name = (space < 0 ? text : text.slice(0, space)).toUpperCase();
    const arg = space < 0 ? '' : text.slice(space + 1);
    if (line.tooLong) {
      s.reply(500, '5.5.2 Error: line too long');
      continue;
    }
    const handler = COMMANDS[name];
    if (handler === undefined) {
      if (NON_SMTP.has(name) || !/^[A-Za-z]/.test(text)) {
        msg.warn(`non-SMTP command from ${s.peer}: ${printable(text.slice(0, 100))}`);
        s.reply(521, '5.7.0 Error: I can break rules, too. Goodbye.');
        throw new SessionEnd('non-SMTP');
      }
      s.where = 'UNKNOWN';
      s.count('unknown', false);
      s.reply(502, '5.5.2 Error: command not recognized');
      s.junkCommand();
      continue;
    }
    s.where = name;
    if (name === 'EHLO' || name === 'RSET') s.chat.checkpoint();
    const before = s.errorCount;
    try {
      if (!commandAllowed(s, name)) continue;
      if (name !== 'STARTTLS' && name !== 'AUTH' && s.pipelinedAhead(name)) throw new SessionEnd('pipelining');
      await handler(s, arg);
    } finally {
      s.count(name.toLowerCase(), s.errorCount === before);
    }
  }
}

/** The client the PROXY header names (for "local" headers, the connection's own peer). */
function proxiedClient(direct: SmtpdClient, header: ProxyHeader): SmtpdClient {
  if (header.command === 'local' || header.sourceAddress === undefined) return direct;
  return {
    name: 'unknown',
    reverseName: 'unknown',
    nameTempFail: false,
    address: header.sourceAddress,
    port: header.sourcePort ?? 0,
    localAddress: header.destinationAddress ?? direct.localAddress,
    localPort: header.destinationPort ?? direct.localPort,
  };
}

/** Serves one client until it quits, goes away or is sent away. */
export async function serveClient(services: SmtpdServices, clientNames: ClientNameResolver, socket: Socket): Promise<void> {
  // Nothing may be read before a reader is attached (the skeleton resumed the socket in this same tick).
  socket.pause();
  // Replies go out at once: with Nagle's algorithm a reply written in two parts waits for the client's delayed ACK.
  socket.setNoDelay(true);
  let client: SmtpdClient = {
    name: 'unknown',
    reverseName: 'unknown',
    nameTempFail: false,
    address: (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, ''),
    port: socket.remotePort ?? 0,
    localAddress: (socket.localAddress ?? '').replace(/^::ffff:/, ''),
    localPort: socket.localPort ?? 0,
  };
  let ahead: Buffer = Buffer.alloc(0);
  if (services.params.smtpd_upstream_proxy_protocol !== '') {
    const proxied = await readProxyHeader(socket, services.params.smtpd_upstream_proxy_timeout * 1000).catch((err: Error) => {
      msg.warn(`haproxy read: ${err.message} from [${client.address}]:${client.port}`);
      return undefined;
    });
    if (proxied === undefined) return;
    client = proxiedClient(client, proxied.header);
    ahead = proxied.rest;
  }
  // The session reads from here on, so that a client talking before the greeting is seen during the lookup.
  const s = new SmtpdSession(services, client, socket, new SmtpChat(services.params.smtpd_history_flush_threshold));
  if (services.tls?.wrapper !== true) s.input.unshift(ahead);
  // anvil counts the connection while the name lookups run.
  countConnection(s);
  Object.assign(client, await clientNames.names(client.address));
  // One more turn of the event loop: bytes the kernel already holds are read before the early-talker check.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  await runSession(s, ahead);
}

/** The session from the connect line on: TLS first in wrapper mode, the greeting, the commands, the disconnect line and the postmaster notice. */
export async function runSession(s: SmtpdSession, ahead: Buffer): Promise<void> {
  const services = s.services;
  msg.info(`connect from ${s.peer}`);
  try {
    if (services.tls?.wrapper === true) {
      if (await tlsRefused(s, true)) throw new SessionEnd('too many new TLS sessions');
      const secure = await handshake(s, s.socket as Socket, ahead);
      if (secure === undefined) {
        msg.info(`lost connection after CONNECT from ${s.peer}`);
        throw new SessionEnd('handshake');
      }
      await tlsSessionCounted(s, secure.isSessionReused());
      requireClientCert(s);
    }
    if (await connectionRefused(s)) throw new SessionEnd('too many connections');
    if (s.pipelinedAhead('CONNECT')) throw new SessionEnd('pregreet');
    // With smtpd_delay_reject = no the client restrictions answer the connection; every later command is then refused.
    s.denied = services.local || services.params.smtpd_delay_reject ? undefined : await checkStages(services.checks, s.checkRequest('CONNECT'), ['client']);
    if (s.denied !== undefined) {
      s.reply(s.denied.code, `${s.denied.dsn} ${s.denied.text}`);
      // 421 and 521 (access(5)) disconnect at once, as in Postfix.
      if (s.denied.code === 421 || s.denied.code === 521) throw new SessionEnd(`${s.denied.code} disconnect`);
    } else s.reply(220, services.params.smtpd_banner);
    await commandLoop(s);
  } catch (err) {
    if (!(err instanceof SessionEnd)) {
      msg.warn(`${s.peer}: ${(err as Error).stack ?? String(err)}`);
      s.reply(421, `4.3.0 ${services.params.myhostname} Error: internal error`);
    }
  } finally {
    s.transaction?.abort();
    s.transaction = undefined;
    connectionEnded(s);
    await s.close();
    msg.info(`disconnect from ${s.peer} ${s.summary()}`);
  }
  if (services.local) return;
  await notifyPostmaster(services.params, s.chat, s.peer).catch((err: unknown) => msg.warn(`cannot send the postmaster a transcript of the session with ${s.peer}: ${(err as Error).message}`));
}

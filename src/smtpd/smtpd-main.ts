/*
 * smtpd - the SMTP server daemon (smtpd(8)) on smtp-server: EHLO with
 * PIPELINING, SIZE (message_size_limit), ENHANCEDSTATUSCODES, 8BITMIME,
 * SMTPUTF8 and DSN; the banner from smtpd_banner; the checks and the cleanup
 * hand-off of smtpd-session.ts; a transcript of each session for the
 * postmaster notices of notify_classes (smtpd-chat.ts). No STARTTLS or AUTH yet: they are not
 * offered. smtp-server adds its own enhanced status code to every reply, so
 * replies whose text already carries Postfix's code are sent without it
 * (a one-method wrapper on each connection).
 */
import { lookupService } from 'node:dns/promises';
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { AddressResolver } from '../global/addr/addr-resolve.js';
import { baseServerOptions } from '../global/smtp-server-options.js';
import type { Params } from '../global/params/param-registry.js';
import { openTableList } from '../global/tables/table-list.js';
import { runDaemon } from '../master/skeleton.js';
import { msg } from '../util/msg.js';
import { notifyPostmaster, SmtpChat } from './smtpd-chat.js';
import { SmtpdChecks } from './smtpd-checks.js';
import { onData, onMail, onRcpt, peerAddress, SmtpdState } from './smtpd-session.js';

/** Seconds to wait for a reverse name before calling the client "unknown". */
const REVERSE_LOOKUP_SECONDS = 5;
const OWN_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;
const COUNTED_COMMANDS = ['HELO', 'EHLO', 'STARTTLS', 'AUTH', 'RSET', 'QUIT', 'NOOP', 'VRFY'];

let smtp: SMTPServer | undefined;
const states = new WeakMap<SMTPServerSession, SmtpdState>();
let checks: SmtpdChecks | undefined;

async function reverseName(address: string): Promise<string> {
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), REVERSE_LOOKUP_SECONDS * 1000).unref());
  const found = await Promise.race([lookupService(address, 0).then((r) => r.hostname).catch(() => undefined), timeout]);
  return found === undefined || found === address ? 'unknown' : found;
}

function bannerParts(params: Params): { name: string; banner: string } {
  const prefix = `${params.myhostname} ESMTP`;
  if (params.smtpd_banner.startsWith(prefix)) return { name: params.myhostname, banner: params.smtpd_banner.slice(prefix.length).trim() };
  return { name: params.smtpd_banner, banner: '' };
}

function state(session: SMTPServerSession): SmtpdState {
  const found = states.get(session);
  if (found === undefined) throw new Error('no smtpd state for this session');
  return found;
}

function createServer(params: Params): SMTPServer {
  const { name, banner } = bannerParts(params);
  return new SMTPServer({
    ...baseServerOptions(params),
    name,
    banner,
    socketTimeout: params.smtpd_timeout * 1000,
    maxClients: 0,
    onMailFrom(address, session, callback) {
      state(session).count('mail');
      state(session).reset();
      onMail(state(session), address.address, session).then(() => callback(), callback);
    },
    onRcptTo(address, session, callback) {
      onRcpt(state(session), address, session).then(() => callback(), callback);
    },
    onData(stream, session, callback) {
      onData(state(session), stream, session).then(
        (reply) => callback(null, reply),
        (err: Error) => {
          stream.resume();
          callback(err);
        },
      );
    },
  });
}

async function serve(socket: Socket, params: Params): Promise<void> {
  const server = smtp as SMTPServer;
  // Replies go out at once: with Nagle's algorithm a reply written in two parts waits for the client's delayed ACK.
  socket.setNoDelay(true);
  const address = peerAddress(socket);
  const name = await reverseName(address);
  const st = new SmtpdState(params, checks as SmtpdChecks, name, address);
  msg.info(`connect from ${st.client}`);
  const before = new Set(server.connections);
  server.connect(socket, {});
  const connection = [...server.connections].find((c) => !before.has(c)) as unknown as Record<string, unknown> & { session: SMTPServerSession };
  states.set(connection.session, st);
  const send = connection.send as (code: number, data: unknown, context?: unknown) => void;
  const chat = new SmtpChat();
  connection.send = function (code: number, data: unknown, context?: unknown): void {
    chat.reply(code, Array.isArray(data) ? data.map(String) : [String(data ?? '')]);
    send.call(this, code, data, typeof data === 'string' && OWN_CODE.test(data) ? false : context);
  };
  const onCommand = connection._onCommand as (command: Buffer | string, callback: unknown) => unknown;
  connection._onCommand = function (command: Buffer | string, callback: unknown): unknown {
    chat.command(String(command ?? ''));
    return onCommand.call(this, command, callback);
  };
  for (const command of COUNTED_COMMANDS) {
    const handler = connection[`handler_${command}`] as ((...args: unknown[]) => unknown) | undefined;
    if (handler === undefined) continue;
    connection[`handler_${command}`] = function (this: unknown, ...args: unknown[]): unknown {
      st.count(command.toLowerCase());
      return handler.apply(this, args);
    };
  }
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  st.reset();
  msg.info(`disconnect from ${st.client} ${st.summary()}`);
  await notifyPostmaster(params, chat, st.client).catch((err: unknown) => msg.warn(`cannot send the postmaster a transcript of the session with ${st.client}: ${(err as Error).message}`));
}

runDaemon({
  name: 'smtpd',
  async postInit({ config }) {
    const { params } = config;
    const resolver = await AddressResolver.open(params);
    const local = await openTableList(params.local_recipient_maps, { configDir: params.config_directory });
    checks = new SmtpdChecks(params, resolver, local);
    smtp = createServer(params);
  },
  onConnection: (socket, { config }) => serve(socket, config.params),
});

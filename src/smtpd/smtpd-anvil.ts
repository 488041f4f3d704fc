/*
 * smtpd-anvil - the client limits smtpd enforces with the counts of the
 * anvil service (anvil-clnt.ts): simultaneous connections and connection
 * rate when the client connects (421 4.7.0), MAIL (450 4.7.1 "too much
 * mail"), RCPT (450 4.7.1 "too many recipients"), AUTH (450 4.7.1 "too many
 * AUTH commands") and new TLS sessions (454 4.7.0 before STARTTLS, 421
 * 4.7.0 after a handshake that made a new session; wrapper mode refuses
 * without a reply), each with Postfix's warning ("Connection rate limit
 * exceeded: 31 from host[addr] for service smtp"). Clients in
 * smtpd_client_event_limit_exceptions and the XCLIENT proxies are not
 * counted, as in Postfix. A process whose limits are all 0 has no anvil
 * client and asks nothing; an event whose limit is 0 is not sent; when
 * anvil does not answer, the session goes on unlimited. Follows smtpd(8).
 */
import { AnvilClient, type AnvilReply, type AnvilRequestName } from '../global/anvil-clnt.js';
import type { Params } from '../global/params/param-registry.js';
import { msg } from '../util/msg.js';
import { SessionEnd, type SmtpdSession } from './smtpd-session.js';

/** The anvil client of one smtpd process, and its limits. */
export interface SmtpdLimits {
  readonly anvil: AnvilClient;
}

/** The limits of a process, or undefined when every one is 0 (then anvil is never asked). */
export function openLimits(params: Params): SmtpdLimits | undefined {
  const limits = [
    params.smtpd_client_connection_count_limit,
    params.smtpd_client_connection_rate_limit,
    params.smtpd_client_message_rate_limit,
    params.smtpd_client_recipient_rate_limit,
    params.smtpd_client_new_tls_session_rate_limit,
    params.smtpd_client_auth_rate_limit,
  ];
  return limits.some((limit) => limit > 0) ? { anvil: new AnvilClient(params) } : undefined;
}

/** The anvil client when this session's client is counted. */
function counted(s: SmtpdSession): AnvilClient | undefined {
  const limits = s.services.limits;
  if (limits === undefined || s.services.local) return undefined;
  const checks = s.services.checks;
  if (checks.inNetworks(s.connectAddress, checks.xclientHosts) || checks.inNetworks(s.client.address, checks.eventLimitExceptions)) return undefined;
  return limits.anvil;
}

/** Asks anvil when limit is set and the client is counted. */
async function ask(s: SmtpdSession, limit: number, request: Exclude<AnvilRequestName, 'disconnect' | 'connect'>): Promise<AnvilReply | undefined> {
  const anvil = limit > 0 ? counted(s) : undefined;
  return anvil?.query(request, s.params.service_name, s.client.address);
}

function exceeded(s: SmtpdSession, what: string, value: number): void {
  msg.warn(`${what} limit exceeded: ${value} from ${s.peer} for service ${s.params.service_name}`);
}

/**
 * Tells anvil of the new connection when a connection limit is set (once
 * per session); its counts are read by connectionRefused, so that the
 * client's name lookups run meanwhile.
 */
export function countConnection(s: SmtpdSession): void {
  if (s.anvilCounts !== undefined) return;
  const p = s.params;
  const anvil = p.smtpd_client_connection_count_limit > 0 || p.smtpd_client_connection_rate_limit > 0 ? counted(s) : undefined;
  s.anvilConnected = anvil !== undefined;
  s.anvilCounts = anvil === undefined ? Promise.resolve(undefined) : anvil.query('connect', p.service_name, s.client.address);
}

/** At connect: true (after the 421 reply) when the client has too many connections, or makes them too fast. */
export async function connectionRefused(s: SmtpdSession): Promise<boolean> {
  const p = s.params;
  countConnection(s);
  const reply = await s.anvilCounts;
  if (reply === undefined) return false;
  const tooMany = p.smtpd_client_connection_count_limit > 0 && reply.count > p.smtpd_client_connection_count_limit;
  const tooFast = !tooMany && p.smtpd_client_connection_rate_limit > 0 && reply.rate > p.smtpd_client_connection_rate_limit;
  if (!tooMany && !tooFast) return false;
  exceeded(s, tooMany ? 'Connection concurrency' : 'Connection rate', tooMany ? reply.count : reply.rate);
  s.reply(421, `4.7.0 ${p.myhostname} Error: too many connections from ${s.client.address}`);
  return true;
}

/** At the end of the session: anvil stops counting the connection. */
export function connectionEnded(s: SmtpdSession): void {
  if (!s.anvilConnected) return;
  s.anvilConnected = false;
  s.services.limits?.anvil.disconnect(s.params.service_name, s.client.address);
}

/** The per-command rate limits: the limit, the warning's subject and the client's reply. */
const COMMAND_LIMITS = {
  message: { limit: 'smtpd_client_message_rate_limit', warning: 'Message delivery request rate', reply: 'too much mail from' },
  recipient: { limit: 'smtpd_client_recipient_rate_limit', warning: 'Recipient address rate', reply: 'too many recipients from' },
  auth: { limit: 'smtpd_client_auth_rate_limit', warning: 'AUTH command rate', reply: 'too many AUTH commands from' },
} as const satisfies Record<string, { limit: keyof Params; warning: string; reply: string }>;

/** At MAIL (message), RCPT (recipient) or AUTH (auth): true (after the 450 reply) when the client sends too many. */
export async function commandRefused(s: SmtpdSession, event: keyof typeof COMMAND_LIMITS): Promise<boolean> {
  const { limit, warning, reply: text } = COMMAND_LIMITS[event];
  const reply = await ask(s, s.params[limit], event);
  if (reply === undefined || reply.rate <= s.params[limit]) return false;
  exceeded(s, warning, reply.rate);
  s.reply(450, `4.7.1 Error: ${text} ${s.client.address}`);
  return true;
}

/**
 * Before a TLS handshake: true when the client made too many new TLS
 * sessions lately; STARTTLS is answered 454, wrapper mode ends the session
 * without a reply (after the warning Postfix logs for each).
 */
export async function tlsRefused(s: SmtpdSession, wrapper: boolean): Promise<boolean> {
  const reply = await ask(s, s.params.smtpd_client_new_tls_session_rate_limit, 'newtls_status');
  if (reply === undefined || reply.rate <= s.params.smtpd_client_new_tls_session_rate_limit) return false;
  if (wrapper) {
    msg.warn(`Refusing TLS service request from ${s.peer} for service ${s.params.service_name}`);
    return true;
  }
  exceeded(s, 'New TLS session rate', reply.rate);
  s.reply(454, `4.7.0 Error: too many new TLS sessions from ${s.client.address}`);
  return true;
}

/** After a handshake: a new (not resumed) session counts; past the limit the session ends with 421. */
export async function tlsSessionCounted(s: SmtpdSession, resumed: boolean): Promise<void> {
  if (resumed) return;
  const reply = await ask(s, s.params.smtpd_client_new_tls_session_rate_limit, 'newtls');
  if (reply === undefined || reply.rate <= s.params.smtpd_client_new_tls_session_rate_limit) return;
  exceeded(s, 'New TLS session rate', reply.rate);
  s.reply(421, `4.7.0 ${s.params.myhostname} Error: too many new TLS sessions from ${s.client.address}`);
  throw new SessionEnd('too many new TLS sessions');
}

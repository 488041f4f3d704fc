/*
 * smtpd-xclient - the XCLIENT and XFORWARD commands (Postfix's
 * XCLIENT_README and XFORWARD_README), for trusted proxies and content
 * filters only (smtpd_authorized_xclient_hosts,
 * smtpd_authorized_xforward_hosts; anyone else gets 550 5.7.0). XCLIENT
 * makes the session that of the named client (its address and name for
 * the checks and the log, its HELO, protocol and SASL login) and greets
 * again; XFORWARD only names the original client in the log lines and the
 * queue file of the next message. Values are xtext; [UNAVAILABLE] and
 * [TEMPUNAVAIL] mean unknown. Used by smtpd-commands.ts.
 */
import ipaddr from 'ipaddr.js';
import { decodeXtext } from '../global/xtext.js';
import type { Network } from './smtpd-check-config.js';
import type { SmtpdSession } from './smtpd-session.js';

/** The attributes XCLIENT takes. */
const XCLIENT_ATTRS = ['NAME', 'ADDR', 'PORT', 'PROTO', 'HELO', 'LOGIN', 'DESTADDR', 'DESTPORT', 'REVERSE_NAME'];
/** The attributes XFORWARD takes. */
const XFORWARD_ATTRS = ['NAME', 'ADDR', 'PORT', 'PROTO', 'HELO', 'IDENT', 'SOURCE'];

/** The original client a content filter names with XFORWARD, for the next message. */
export interface Forwarded {
  name?: string;
  address?: string;
  port?: string;
  proto?: string;
  helo?: string;
  ident?: string;
  source?: string;
}

/** The EHLO keywords of both commands, for the clients allowed to use them. */
export function xclientKeywords(s: SmtpdSession): string[] {
  const checks = s.services.checks;
  const words: string[] = [];
  if (checks.inNetworks(s.connectAddress, checks.xclientHosts)) words.push(`XCLIENT ${XCLIENT_ATTRS.join(' ')}`);
  if (checks.inNetworks(s.connectAddress, checks.xforwardHosts)) words.push(`XFORWARD ${XFORWARD_ATTRS.join(' ')}`);
  return words;
}

/** "ATTR=value ..." as a map of upper-case names to decoded values (undefined for [UNAVAILABLE] and [TEMPUNAVAIL]); a reply text when malformed. */
function attributes(arg: string, allowed: readonly string[]): Map<string, string | undefined> | string {
  const found = new Map<string, string | undefined>();
  const words = arg.trim().split(/[ \t]+/).filter((w) => w !== '');
  if (words.length === 0) return '501 5.5.4 Syntax: attribute=value ...';
  for (const word of words) {
    const eq = word.indexOf('=');
    const name = (eq < 0 ? word : word.slice(0, eq)).toUpperCase();
    if (eq < 0 || !allowed.includes(name)) return `501 5.5.4 Bad attribute name: ${name.slice(0, 32)}`;
    const raw = decodeXtext(word.slice(eq + 1));
    if (/[\x00-\x1f\x7f]/.test(raw)) return `501 5.5.4 Bad ${name} syntax`;
    found.set(name, raw === '[UNAVAILABLE]' || raw === '[TEMPUNAVAIL]' ? undefined : raw);
  }
  const address = found.get('ADDR');
  if (address !== undefined && !ipaddr.isValid(address.replace(/^IPV6:/i, ''))) return '501 5.5.4 Bad ADDR syntax';
  return found;
}

/** The command's attributes when the connecting client may use it outside a transaction; otherwise undefined, replied. */
function permitted(s: SmtpdSession, hosts: readonly Network[], arg: string, allowed: readonly string[]): Map<string, string | undefined> | undefined {
  if (!s.services.checks.inNetworks(s.connectAddress, hosts)) {
    s.reply(550, '5.7.0 Error: insufficient authorization');
    return undefined;
  }
  if (s.transaction !== undefined) {
    s.reply(503, '5.5.1 Error: MAIL transaction in progress');
    return undefined;
  }
  const attrs = attributes(arg, allowed);
  if (typeof attrs !== 'string') return attrs;
  s.reply(Number(attrs.slice(0, 3)), attrs.slice(4));
  return undefined;
}

/** XCLIENT: the session becomes the named client's, greeted afresh. */
export function handleXclient(s: SmtpdSession, arg: string): void {
  const attrs = permitted(s, s.services.checks.xclientHosts, arg, XCLIENT_ATTRS);
  if (attrs === undefined) return;
  const client = s.client;
  if (attrs.has('ADDR')) client.address = (attrs.get('ADDR') ?? 'unknown').replace(/^IPV6:/i, '');
  if (attrs.has('NAME')) {
    client.name = attrs.get('NAME') ?? 'unknown';
    client.nameTempFail = false;
  }
  if (attrs.has('REVERSE_NAME')) client.reverseName = attrs.get('REVERSE_NAME') ?? 'unknown';
  if (attrs.has('PORT')) client.port = Number(attrs.get('PORT') ?? 0) || 0;
  const helo = attrs.get('HELO');
  const proto = attrs.get('PROTO')?.toUpperCase();
  s.helo = attrs.has('HELO') ? helo : undefined;
  s.esmtp = proto === 'ESMTP';
  const login = attrs.get('LOGIN');
  s.sasl = login === undefined ? undefined : { method: 'XCLIENT', username: login };
  s.reply(220, s.params.smtpd_banner);
}

/** XFORWARD: names the original client of the next message. */
export function handleXforward(s: SmtpdSession, arg: string): void {
  const attrs = permitted(s, s.services.checks.xforwardHosts, arg, XFORWARD_ATTRS);
  if (attrs === undefined) return;
  const forwarded: Forwarded = s.forwarded ?? {};
  const keys: Record<string, keyof Forwarded> = { NAME: 'name', ADDR: 'address', PORT: 'port', PROTO: 'proto', HELO: 'helo', IDENT: 'ident', SOURCE: 'source' };
  for (const [name, value] of attrs) {
    const key = keys[name] as keyof Forwarded;
    if (value === undefined) delete forwarded[key];
    else forwarded[key] = name === 'ADDR' ? value.replace(/^IPV6:/i, '') : value;
  }
  s.forwarded = forwarded;
  s.reply(250, '2.0.0 Ok');
}

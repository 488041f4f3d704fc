/*
 * smtp - the SMTP and LMTP delivery agent (smtp(8), lmtp(8)): one program,
 * whose master.cf command name says which protocol it speaks (lmtp reads
 * the lmtp_ parameters, takes "unix:/path" and "inet:host:port" next hops
 * and never looks up MX records). It takes delivery requests from qmgr on
 * private/smtp (or relay, lmtp ...), finds the servers for the next hop (smtp-nexthop.ts), tries
 * them in order (the next one after a connection failure or a temporary
 * refusal, at most smtp_mx_session_limit sessions), runs the SMTP
 * transaction (smtp-session.ts), keeps the connection for the next
 * delivery to the same next hop for smtp_connection_cache_time_limit
 * (logged as conn_use=N), and logs Postfix's line per recipient:
 * "to=<...>, relay=host[addr]:port, delay=..., delays=a/b/c/d, dsn=...,
 * status=sent (250 ...)" or the reason it was deferred or bounced. For an
 * address verification probe the session ends after RCPT TO
 * (smtp-session.ts) and the line says deliverable or undeliverable.
 */
import { Readable } from 'node:stream';
import { findFirst } from '../global/addr/addr-find.js';
import { AddressResolver } from '../global/addr/addr-resolve.js';
import { mailAddrKeys, type SearchKey } from '../global/addr/addr-search-keys.js';
import { resultOf, serveDeliveries, type DeliveryReply, type DeliveryRequest, type DeliveryResult } from '../global/deliver-clnt.js';
import { logAgentDelivery } from '../global/deliver-log.js';
import { softBounce } from '../global/soft-bounce.js';
import { withQueueFile } from '../global/deliver-queue-file.js';
import type { Params } from '../global/params/param-registry.js';
import { contentStream, type QueueFileInfo } from '../global/queue/queue-file-read.js';
import { openTableList, type TableList } from '../global/tables/table-list.js';
import { tableContext } from '../global/tables/table.js';
import { runDaemon } from '../master/skeleton.js';
import { FramedConnection } from '../util/ipc-frame.js';
import { msg } from '../util/msg.js';
import { GenericMapper } from './smtp-generic.js';
import { NextHopError, NextHopResolver, parseLmtpNextHop, parseNextHop, portNumber, type NextHop, type Target } from './smtp-nexthop.js';
import { sourceAddresses, sourceFor, type SourceAddresses } from './smtp-bind.js';
import { SaslClientPolicy } from './smtp-sasl.js';
import { SmtpLink, type LinkRequest, type SessionOutcome, type Transaction } from './smtp-session.js';
import { TlsSessionCache } from './smtp-tls-cache.js';
import { defaultTlsPolicy, tlsPolicyFor, tlsProfiles, type TlsPolicyChoice, type TlsProfile } from './smtp-tls-policy.js';
import { ClientTrust, protocolsText } from './smtp-tls-trust.js';

interface SmtpContext {
  readonly params: Params;
  readonly lmtp: boolean;
  readonly resolver: NextHopResolver;
  /** smtp_sasl_password_maps and the mechanism choice, when smtp_sasl_auth_enable is on (SMTP only). */
  readonly sasl: { readonly passwords: TableList; readonly policy: SaslClientPolicy } | undefined;
  /** The level from <smtp|lmtp>_tls_security_level, or when unset from the obsolete _enforce_tls / _use_tls. */
  readonly tlsDefault: TlsPolicyChoice;
  /** smtp_tls_policy_maps (SMTP only). */
  readonly tlsPolicies: TableList | undefined;
  /** <smtp|lmtp>_tls_CAfile and _CApath. */
  readonly trust: ClientTrust;
  /** <smtp|lmtp>_tls_session_cache_database, when there is one. */
  readonly sessions: TlsSessionCache | undefined;
  readonly defaultPort: number;
  readonly heloName: string;
  /** Where connections come from (smtp_bind_address ...). */
  readonly sources: SourceAddresses;
  /** <smtp|lmtp>_tls_wrappermode: TLS from the first byte. */
  readonly wrapper: boolean;
  /** <smtp|lmtp>_tls_loglevel and _tls_note_starttls_offer. */
  readonly tlsLog: { readonly level: number; readonly noteOffer: boolean };
  /** The TLS versions and cipher list for level may (<smtp|lmtp>_tls_protocols, _tls_ciphers), encrypt (_tls_mandatory_*), and verify or secure (those without anonymous ciphers). */
  readonly tlsProfiles: { readonly opportunistic: TlsProfile; readonly mandatory: TlsProfile; readonly matching: TlsProfile };
  readonly timeouts: { readonly connect: number; readonly greeting: number; readonly reply: number };
  readonly lineLengthLimit: number;
  /** smtp_generic_maps (SMTP only). */
  readonly generic: GenericMapper | undefined;
}

let ctx: SmtpContext | undefined;

/** Connections kept after a delivery, by next hop, for the next delivery there. */
const links = new Map<string, { link: SmtpLink; target: Target; timer: NodeJS.Timeout }>();

function takeLink(context: SmtpContext, nexthop: string): { link: SmtpLink; target: Target } | undefined {
  const kept = links.get(nexthop);
  if (kept === undefined) return undefined;
  links.delete(nexthop);
  clearTimeout(kept.timer);
  const reuseLimit = context.lmtp ? context.params.lmtp_connection_reuse_time_limit : context.params.smtp_connection_reuse_time_limit;
  if (kept.link.usable && Date.now() - kept.link.openedAt < reuseLimit * 1000) return kept;
  kept.link.close();
  return undefined;
}

function keepLink(context: SmtpContext, nexthop: string, link: SmtpLink, target: Target): void {
  const limit = context.lmtp ? context.params.lmtp_connection_cache_time_limit : context.params.smtp_connection_cache_time_limit;
  // A connection logged in for one sender must not carry another sender's mail.
  const perSender = context.sasl !== undefined && context.params.smtp_sender_dependent_authentication;
  if (limit <= 0 || perSender || !link.usable || links.has(nexthop)) {
    link.close();
    return;
  }
  const timer = setTimeout(() => {
    if (links.get(nexthop)?.link === link) links.delete(nexthop);
    link.close();
  }, limit * 1000);
  timer.unref();
  links.set(nexthop, { link, target, timer });
}

/**
 * smtp_sasl_password_maps keys: with smtp_sender_dependent_authentication
 * the sender first, in Postfix's order for addresses (the address, without
 * its extension, @domain), then the next hop as written and its host.
 */
function passwordKeys(context: SmtpContext, request: DeliveryRequest, hop: NextHop): SearchKey[] {
  const keys = [...new Set([request.nexthop, hop.host])].map((key) => ({ key, fixedOnly: false }));
  const sender = request.sender.toLowerCase();
  if (!context.params.smtp_sender_dependent_authentication || sender === '') return keys;
  return [...mailAddrKeys(sender, { delimiters: context.params.recipient_delimiter, isLocalDomain: () => false }), ...keys];
}

async function credentials(context: SmtpContext, request: DeliveryRequest, hop: NextHop): Promise<LinkRequest['credentials']> {
  if (context.sasl === undefined) return undefined;
  const { passwords, policy } = context.sasl;
  const found = await findFirst(passwords, passwordKeys(context, request, hop));
  if (found !== undefined) {
    const { value } = found;
    const colon = value.indexOf(':');
    return { user: colon < 0 ? value : value.slice(0, colon), pass: colon < 0 ? '' : value.slice(colon + 1), choose: (offered, protection) => policy.choose(offered, protection) };
  }
  return undefined;
}

/** relay= in the log: host[address]:port, or host[/path] for a UNIX-domain socket. */
function relayName(relay: string, target: Target): string {
  return target.path === undefined ? `${relay}:${target.port}` : relay;
}

async function deliver(context: SmtpContext, request: DeliveryRequest): Promise<DeliveryReply> {
  const results: DeliveryResult[] = [];
  const record: RecordResult = (index, address, original, relay, connected, status, dsn, reason, connUse, notifyPassed) => {
    // A probe is not soft-bounced: an undeliverable address stays undeliverable.
    const outcome = softBounce({ status, dsn, reason }, context.params.soft_bounce && request.probe !== true);
    logAgentDelivery(request, { address, original }, { relay, connUse, connected, ...outcome });
    // A message handed to another MTA is "relayed" in a success report, unless that MTA took the report over.
    const handed = status === 'sent' && !context.lmtp ? (notifyPassed === true ? { notifyPassed: true } : { action: 'relayed' as const }) : {};
    results.push(resultOf(index, { ...outcome, ...handed }));
  };
  const all = (relay: string, status: DeliveryResult['status'], dsn: string, reason: string): DeliveryReply => {
    for (const r of request.recipients) record(r.index, r.address, r.original, relay, Date.now(), status, dsn, reason);
    return { results };
  };
  const reply = { results, record, all };
  return withQueueFile(request.queueFile, (file, info) => transmit(context, request, file, info, reply), (dsn, reason) => all('none', 'deferred', dsn, reason));
}

/** Logs and collects one recipient's result. */
type RecordResult = (index: number, address: string, original: string, relay: string, connected: number, status: DeliveryResult['status'], dsn: string, reason: string, connUse?: number, notifyPassed?: boolean) => void;

/** The reply being built: the results so far, one recipient's result, every recipient's. */
interface ReplyBuilder {
  readonly results: DeliveryResult[];
  readonly record: RecordResult;
  readonly all: (relay: string, status: DeliveryResult['status'], dsn: string, reason: string) => DeliveryReply;
}

/** Delivers the message of the open queue file to the request's next hop. */
async function transmit(context: SmtpContext, request: DeliveryRequest, file: number, info: QueueFileInfo, { results, record, all }: ReplyBuilder): Promise<DeliveryReply> {
  const { params } = context;
  try {
    const generic = context.generic;
    const tx: Transaction = {
      sender: generic === undefined ? request.sender : await generic.address(request.sender),
      recipients: generic === undefined ? request.recipients : await Promise.all(request.recipients.map(async (r) => ({ ...r, address: await generic.address(r.address) }))),
      ret: request.attrs.ret,
      envid: request.attrs.envid,
      size: info.contentSize,
      eightBit: request.attrs.body === '8BITMIME',
      downgradeNesting: context.params.disable_mime_output_conversion ? undefined : context.params.mime_nesting_limit,
      lineLengthLimit: context.lineLengthLimit,
      content: () => (generic === undefined ? contentStream(file, info) : Readable.from(generic.content(contentStream(file, info)))),
      probe: request.probe === true,
    };
    const report = (link: SmtpLink, target: Target, outcome: Extract<SessionOutcome, { kind: 'replied' }>): DeliveryReply => {
      const relay = relayName(outcome.relay, target);
      request.recipients.forEach((r, i) => {
        const result = outcome.recipients[i] as (typeof outcome.recipients)[number];
        record(r.index, r.address, r.original, relay, outcome.connectedAt, result.status, result.dsn, result.reason, link.uses, result.notifyPassed);
      });
      keepLink(context, request.nexthop, link, target);
      return { results };
    };
    const kept = takeLink(context, request.nexthop);
    if (kept !== undefined) {
      const outcome = await kept.link.send(tx);
      if (outcome.kind === 'replied') return report(kept.link, kept.target, outcome);
      // The kept connection failed before anything was accepted: start afresh.
      kept.link.close();
    }
    let hop: NextHop;
    let targets;
    try {
      hop = context.lmtp ? parseLmtpNextHop(request.nexthop, context.defaultPort) : parseNextHop(request.nexthop, context.defaultPort);
      targets = await context.resolver.targets(hop);
    } catch (err) {
      if (!(err instanceof NextHopError)) throw err;
      return all('none', err.temporary ? 'deferred' : 'bounced', err.dsn, err.message);
    }
    const policy = await tlsPolicyFor(context.tlsPolicies, request.nexthop, hop.host, context.tlsDefault);
    if ('unsupported' in policy) return all('none', 'deferred', '4.7.5', `TLS policy lookup for ${request.nexthop}: unsupported ${policy.unsupported}`);
    // TLS from the first byte cannot fall back to plain text: level may is encrypt there, and none a contradiction.
    const wrapper = context.wrapper;
    if (wrapper && policy.level === 'none') return all('none', 'deferred', '4.7.5', `${context.lmtp ? 'lmtp' : 'smtp'}_tls_wrappermode needs TLS, but the TLS security level for ${request.nexthop} is none`);
    const level = wrapper && policy.level === 'may' ? 'encrypt' : policy.level;
    const login = await credentials(context, request, hop);
    // The level's own protocols and ciphers; protocols= of the policy wins.
    const profile = level === 'may' ? context.tlsProfiles.opportunistic : level === 'encrypt' ? context.tlsProfiles.mandatory : context.tlsProfiles.matching;
    const protocols = policy.protocols ?? profile.protocols;
    let sessions = 0;
    let last: Extract<SessionOutcome, { kind: 'failed' }> | undefined;
    for (const target of targets) {
      if (params.smtp_mx_session_limit > 0 && sessions >= params.smtp_mx_session_limit) break;
      const servername = level === 'secure' ? hop.host : level === 'verify' ? target.hostname : undefined;
      // Sessions are cached from STARTTLS only (nodemailer makes a wrapper-mode socket where Petrel cannot see its session).
      const slot = wrapper ? undefined : context.sessions?.slot({ nexthop: request.nexthop, address: target.path ?? target.address, port: target.port, level, servername, protocols: protocolsText(protocols), ciphers: profile.ciphers, trust: context.trust.id });
      const linkRequest: LinkRequest = {
        target,
        lmtp: context.lmtp,
        heloName: context.heloName,
        timeouts: context.timeouts,
        tls: { level, wrapper, context: context.trust.context(protocols, profile.ciphers), servername, ...(slot === undefined ? {} : { sessions: slot }) },
        credentials: login,
      };
      const source = target.path === undefined ? sourceFor(context.sources, target.address) : undefined;
      let opened = await SmtpLink.open(source === undefined ? linkRequest : { ...linkRequest, localAddress: source });
      if (!(opened instanceof SmtpLink) && opened.unbindable === true && !context.sources.enforce) {
        msg.warn(`${context.lmtp ? 'lmtp' : 'smtp'}_bind_address: cannot connect from ${source}: ${opened.reason}; connecting from any address`);
        opened = await SmtpLink.open(linkRequest);
      }
      const outcome = opened instanceof SmtpLink ? await opened.send(tx) : opened;
      const relay = relayName(outcome.relay, target);
      if (outcome.kind === 'failed') {
        if (opened instanceof SmtpLink) opened.close();
        // A connection that never got a greeting is not an SMTP session.
        if (outcome.dsn !== '4.4.1') sessions++;
        last = outcome;
        if (outcome.tryNext) continue;
        return all(relay, 'bounced', outcome.dsn, outcome.reason);
      }
      const link = opened as SmtpLink;
      if (link.tls !== '' && context.tlsLog.level >= 1) msg.info(`${link.trust} TLS connection established to ${relay}: ${link.tls}`);
      if (level === 'none' && context.tlsLog.noteOffer && link.offeredStartTls) msg.info(`Host offered STARTTLS: [${target.hostname}]`);
      return report(link, target, outcome);
    }
    // Every server failed: try again later, as Postfix does even after 5xx greetings.
    return all('none', 'deferred', last === undefined ? '4.4.1' : `4${last.dsn.slice(1)}`, last?.reason ?? `no server to try for ${request.nexthop}`);
  } catch (err) {
    return all('none', 'deferred', '4.3.0', `delivery failed: ${(err as Error).message}`);
  }
}

runDaemon({
  name: 'smtp',
  async postInit({ config, command }) {
    const { params } = config;
    const lmtp = command === 'lmtp';
    ctx = {
      params,
      lmtp,
      resolver: new NextHopResolver(params),
      sasl: !lmtp && params.smtp_sasl_auth_enable ? { passwords: await openTableList(params.smtp_sasl_password_maps, tableContext(params)), policy: SaslClientPolicy.fromParams(params) } : undefined,
      tlsDefault: defaultTlsPolicy(params, lmtp),
      tlsPolicies: lmtp || params.smtp_tls_policy_maps.length === 0 ? undefined : await openTableList(params.smtp_tls_policy_maps, tableContext(params)),
      trust: lmtp ? ClientTrust.load('lmtp', params.lmtp_tls_CAfile, params.lmtp_tls_CApath) : ClientTrust.load('smtp', params.smtp_tls_CAfile, params.smtp_tls_CApath),
      sessions: TlsSessionCache.open(params, lmtp),
      defaultPort: portNumber(lmtp ? params.lmtp_tcp_port : params.smtp_tcp_port),
      heloName: lmtp ? params.lmtp_lhlo_name : params.smtp_helo_name,
      sources: sourceAddresses(params, lmtp),
      wrapper: lmtp ? params.lmtp_tls_wrappermode : params.smtp_tls_wrappermode,
      tlsLog: lmtp ? { level: params.lmtp_tls_loglevel, noteOffer: params.lmtp_tls_note_starttls_offer } : { level: params.smtp_tls_loglevel, noteOffer: params.smtp_tls_note_starttls_offer },
      tlsProfiles: tlsProfiles(params, lmtp),
      timeouts: lmtp
        ? { connect: params.lmtp_connect_timeout * 1000, greeting: params.lmtp_lhlo_timeout * 1000, reply: params.lmtp_data_done_timeout * 1000 }
        : { connect: params.smtp_connect_timeout * 1000, greeting: params.smtp_helo_timeout * 1000, reply: params.smtp_data_done_timeout * 1000 },
      lineLengthLimit: lmtp ? params.lmtp_line_length_limit : params.smtp_line_length_limit,
      generic:
        lmtp || params.smtp_generic_maps.length === 0
          ? undefined
          : new GenericMapper(await openTableList(params.smtp_generic_maps, tableContext(params)), await AddressResolver.open(params), params),
    };
  },
  onConnection: (socket, { retiring }) => {
    const context = ctx as SmtpContext;
    return serveDeliveries(new FramedConnection(socket), context.params.ipc_timeout * 1000, retiring, (request) => deliver(context, request));
  },
});

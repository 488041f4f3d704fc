/*
 * local-deliver - local(8) delivery of one recipient: Delivered-To: loop
 * detection, alias_maps (tried with and without the address extension,
 * owner- aliases as the sender of what they forward), the destinations an
 * alias or a .forward names (addresses forwarded as a new message through
 * cleanup, "|command", /file, :include:, each duplicate once, each subject
 * to allow_mail_to_commands / allow_mail_to_files), the user's ~/.forward
 * per forward_path, then mailbox_transport_maps / mailbox_transport (known
 * and unknown users), fallback_transport_maps / fallback_transport and
 * luser_relay for unknown users, and finally the mailbox. A recipient
 * handed to another transport is delivered and logged by that agent (for
 * Dovecot LMTP: mailbox_transport = lmtp:unix:private/dovecot-lmtp).
 * Files are written and commands run with the rights local-rights.ts
 * gives: the user's for their mailbox and .forward, default_privs' for
 * aliases. An instance that runs as its mail_owner (the development
 * instance) delivers as that user, and to any local name when the account
 * is missing.
 */
import { existsSync } from 'node:fs';
import { userInfo, type UserInfo } from 'node:os';
import { parsePasswdLine, type Account } from '../global/accounts.js';
import { CleanupClient } from '../global/cleanup-clnt.js';
import { expandText } from '../global/config/config-expand.js';
import { splitAddress, splitExtension } from '../global/addr/addr-parts.js';
import { requestDelivery, type DeliveryRecipient } from '../global/deliver-clnt.js';
import { pseudoAgentOutcome, type PseudoAgents } from '../global/pseudo-agents.js';
import type { OpenMessage } from '../global/deliver-recipients.js';
import { deliveryHeaders } from '../global/delivery-headers.js';
import { isTemporary, PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import { contentLines } from '../global/queue/queue-file-read.js';
import { splitAliasValue } from '../global/tables/alias-source.js';
import type { TableList } from '../global/tables/table-list.js';
import type { LookupTable } from '../global/tables/table.js';
import { deliverToCommand, type CommandEnv } from './local-command.js';
import type { Outcome } from '../global/mailbox-outcome.js';
import { deliverToMailbox, deliverToPath } from './local-mailbox.js';
import type { UserRights } from './local-rights.js';
import { readRegularFileSync } from '../util/file-io.js';
import { msg } from '../util/msg.js';

/** What local delivery keeps for its whole life. */
export interface LocalContext {
  readonly params: Params;
  readonly aliases: TableList;
  readonly passwd: LookupTable;
  readonly mailboxTransports: TableList;
  readonly fallbackTransports: TableList;
  /** The error, retry and discard transports of master.cf, answered without a process. */
  readonly agents: PseudoAgents;
  /** This service's master.cf name: a mailbox or fallback transport naming it would loop. */
  readonly service: string;
  /** True when this instance runs as its mail_owner: any local name has a mailbox. */
  readonly unprivileged: boolean;
  readonly rights: UserRights;
  /** Any parameter's expanded value, for $name in forward_path, luser_relay and mailbox_command. */
  readonly value: (name: string) => string | undefined;
}

type Source = 'alias' | 'forward' | 'include';

const ORDER: Record<Outcome['status'], number> = { sent: 0, bounced: 1, deferred: 2 };

function worst(outcomes: readonly Outcome[]): Outcome {
  return outcomes.reduce((a, b) => (ORDER[b.status] > ORDER[a.status] ? b : a));
}

let me: UserInfo<string> | undefined;

/** The account this process runs as (looked up once). */
function invokingUser(): UserInfo<string> {
  me ??= userInfo();
  return me;
}

/** Whether this instance runs as its mail_owner (nothing to switch between). */
export function runsAsMailOwner(params: Params): boolean {
  return invokingUser().username === params.mail_owner;
}

class RecipientDelivery {
  private readonly seen = new Set<string>();

  constructor(
    private readonly ctx: LocalContext,
    private readonly msg: OpenMessage,
    private readonly rcpt: DeliveryRecipient,
  ) {}

  private lines(): Generator<Buffer> {
    return contentLines(this.msg.file, this.msg.info, deliveryHeaders(this.msg.request.sender, this.rcpt));
  }

  /** local(8)'s $name macros for forward_path, luser_relay and mailbox_command. */
  private macros(account: Account | undefined, name: string, local: string): Record<string, string> {
    const { extension } = splitExtension(local, this.ctx.params.recipient_delimiter);
    return {
      user: account?.name ?? name,
      home: account?.home ?? '',
      shell: account?.shell ?? '',
      local,
      mailbox: name,
      domain: splitAddress(this.rcpt.address).domain ?? '',
      extension: extension === undefined ? '' : extension.slice(1),
      recipient_delimiter: extension === undefined ? '' : (extension[0] as string),
      recipient: this.rcpt.address,
      sender: this.msg.request.sender,
    };
  }

  /**
   * Expands template with macros, then other parameters; a name that is
   * neither stays as written ("$EXTENSION" in mailbox_command is the
   * shell's). filter, when given, replaces other characters in expansions
   * with "_". Expanded values are literal: a "$" in an address expands to
   * nothing more.
   */
  private expand(template: string, macros: Record<string, string>, filter?: string): string {
    const allowed = filter === undefined ? undefined : new Set(filter);
    const clean = (text: string): string => (allowed === undefined ? text : [...text].map((c) => (allowed.has(c) ? c : '_')).join(''));
    const literal = (text: string): string => clean(text).replaceAll('$', '$$$$');
    return expandText(template, (name) => {
      const value = macros[name] ?? this.ctx.value(name);
      return value === undefined ? `$$${name}` : literal(value);
    });
  }

  private env(account: Account, local: string): CommandEnv {
    const { base, extension } = splitExtension(local, this.ctx.params.recipient_delimiter);
    const { domain } = splitAddress(this.rcpt.address);
    return {
      home: account.home,
      user: account.name,
      shell: account.shell,
      sender: this.msg.request.sender,
      recipient: this.rcpt.address,
      local: base + (extension ?? ''),
      domain: domain ?? '',
      extension: extension === undefined ? '' : extension.slice(1),
      originalRecipient: this.rcpt.original,
    };
  }

  async deliver(): Promise<Outcome> {
    if (this.msg.deliveredTo.has(this.rcpt.address.toLowerCase())) {
      return { status: 'bounced', dsn: '5.4.6', reason: `mail forwarding loop for ${this.rcpt.address}` };
    }
    const { local } = splitAddress(this.rcpt.address);
    const user = local.toLowerCase();
    const { base } = splitExtension(user, this.ctx.params.recipient_delimiter);
    try {
      for (const key of new Set([user, base])) {
        const value = await this.ctx.aliases.lookup(key);
        if (value === undefined) continue;
        // A probe learns where the alias leads, nothing is delivered or forwarded.
        if (this.msg.request.probe === true) return { status: 'sent', dsn: '2.0.0', reason: `aliased to ${splitAliasValue(value).join(', ')}` };
        return await this.destinations(key, splitAliasValue(value), 'alias', 0);
      }
      return await this.user(base, user);
    } catch (err) {
      if (isTemporary(err)) return { status: 'deferred', dsn: '4.3.0', reason: (err as Error).message };
      return { status: 'bounced', dsn: '5.3.0', reason: (err as Error).message };
    }
  }

  private async account(name: string): Promise<Account | undefined> {
    const line = await this.ctx.passwd.lookup(name);
    if (line !== undefined) return parsePasswdLine(line);
    if (!this.ctx.unprivileged) return undefined;
    const self = invokingUser();
    return { name, uid: self.uid, gid: self.gid, home: self.homedir, shell: self.shell ?? '/bin/sh' };
  }

  /** Whose rights an item runs with: the .forward's user, else default_privs (aliases are root's). */
  private async runAs(account: Account | undefined): Promise<Account> {
    if (account !== undefined) return account;
    const privs = await this.account(this.ctx.params.default_privs);
    if (privs === undefined) throw new PetrelError('config', `default_privs: unknown account "${this.ctx.params.default_privs}"`, { temporary: true });
    return privs;
  }

  /** mailbox_transport_maps (by user name), else mailbox_transport: where mailbox delivery is handed, if anywhere. */
  private async mailboxTransport(name: string): Promise<string | undefined> {
    const { params } = this.ctx;
    return (await this.ctx.mailboxTransports.lookup(name)) ?? (params.mailbox_transport === '' ? undefined : params.mailbox_transport);
  }

  private async user(name: string, local: string): Promise<Outcome> {
    const account = await this.account(name);
    const { params } = this.ctx;
    if (account === undefined) {
      const handedTo =
        (await this.mailboxTransport(name)) ?? (await this.ctx.fallbackTransports.lookup(name)) ?? (params.fallback_transport === '' ? undefined : params.fallback_transport);
      if (handedTo !== undefined) return this.pass(handedTo);
      if (params.luser_relay !== '') {
        const relay = this.expand(params.luser_relay, this.macros(undefined, name, local));
        return this.forward([relay], name);
      }
      return { status: 'bounced', dsn: '5.1.1', reason: `unknown user: "${name}"` };
    }
    if (this.msg.request.probe === true) {
      const handedTo = await this.mailboxTransport(name);
      return handedTo === undefined ? { status: 'sent', dsn: '2.0.0', reason: 'delivers to mailbox' } : this.pass(handedTo);
    }
    if (!this.ctx.rights.canActFor(account)) {
      return { status: 'deferred', dsn: '4.3.0', reason: `cannot deliver as ${account.name}: the local delivery agent does not run as root` };
    }
    const forwarded = await this.dotForward(account, local);
    if (forwarded !== undefined) return forwarded;
    const handedTo = await this.mailboxTransport(name);
    if (handedTo !== undefined) return this.pass(handedTo);
    const command = this.expand(this.ctx.params.mailbox_command, this.macros(account, name, local), this.ctx.params.command_expansion_filter);
    return deliverToMailbox(this.ctx.params, command, account, this.env(account, local), this.lines(), this.ctx.rights);
  }

  /**
   * Hands the recipient to the delivery agent of spec (transport:nexthop;
   * without a next hop, this request's), as qmgr would, and passes on its
   * result, which that agent logged; an error, retry or discard transport
   * is answered here, as qmgr answers it. The agent gets half of
   * daemon_timeout, so that local answers qmgr before qmgr gives up on it
   * (and would try the delivery again while it still runs).
   */
  private async pass(spec: string): Promise<Outcome> {
    const colon = spec.indexOf(':');
    const transport = colon < 0 ? spec : spec.slice(0, colon);
    const { request } = this.msg;
    if (transport === this.ctx.service) return { status: 'deferred', dsn: '4.3.5', reason: `mail transport ${transport} hands mailbox delivery back to itself: fix mailbox_transport_maps or fallback_transport_maps` };
    const nexthop = colon < 0 || colon === spec.length - 1 ? request.nexthop : spec.slice(colon + 1);
    const agent = this.ctx.agents(transport);
    if (agent !== undefined) return pseudoAgentOutcome(agent.kind, nexthop);
    try {
      const reply = await requestDelivery(this.ctx.params, transport, { ...request, nexthop, recipients: [{ ...this.rcpt, index: 0 }] }, (this.ctx.params.daemon_timeout * 1000) / 2);
      const result = reply.results.find((r) => r.index === 0);
      if (result !== undefined) {
        const { index: _index, ...outcome } = result;
        return { ...outcome, loggedByAgent: true };
      }
      msg.warn(`${request.queueId}: transport ${transport}: no result for <${this.rcpt.address}>`);
    } catch (err) {
      msg.warn(`${request.queueId}: transport ${transport}: ${(err as Error).message}`);
    }
    return { status: 'deferred', dsn: '4.3.0', reason: 'mail transport unavailable' };
  }

  private async dotForward(account: Account, local: string): Promise<Outcome | undefined> {
    const macros = this.macros(account, account.name, local);
    for (const template of this.ctx.params.forward_path) {
      const path = this.expand(template, macros);
      // Most users have no .forward: a cheap look first spares a failed read (and its error) per delivery.
      if (!existsSync(path)) continue;
      const text = this.ctx.rights.asUser(account)(() => readTextFile(path));
      if (text === undefined) continue;
      const items = text.split('\n').filter((line) => !/^\s*(#|$)/.test(line)).flatMap(splitAliasValue);
      if (items.length === 0) continue;
      this.seen.add(account.name);
      return this.destinations(account.name, items, 'forward', 0, account);
    }
    return undefined;
  }

  private async destinations(owner: string, items: readonly string[], source: Source, depth: number, account?: Account): Promise<Outcome> {
    const params = this.ctx.params;
    if (depth > 10) return { status: 'bounced', dsn: '5.4.6', reason: `:include: nesting too deep for ${owner}` };
    const outcomes: Outcome[] = [];
    const addresses: string[] = [];
    for (const raw of items) {
      const item = raw.replace(/^\\/, '');
      if (this.seen.has(item.toLowerCase())) continue;
      this.seen.add(item.toLowerCase());
      if (item.startsWith(':include:')) {
        const path = item.slice(':include:'.length);
        const text = this.ctx.rights.asUser(await this.runAs(account))(() => readTextFile(path));
        if (text === undefined) {
          outcomes.push({ status: 'deferred', dsn: '4.3.0', reason: `cannot open include file ${path}` });
          continue;
        }
        const nested = text.split('\n').filter((line) => !/^\s*(#|$)/.test(line)).flatMap(splitAliasValue);
        outcomes.push(await this.destinations(owner, nested, 'include', depth + 1, account));
      } else if (item.startsWith('|')) {
        if (!params.allow_mail_to_commands.includes(source)) {
          outcomes.push({ status: 'bounced', dsn: '5.7.1', reason: `mail to command is restricted` });
          continue;
        }
        const runAs = await this.runAs(account);
        const failure = await deliverToCommand(item.slice(1).trim(), this.lines(), this.env(runAs, owner), {
          shell: params.local_command_shell === '' ? '/bin/sh' : params.local_command_shell,
          timeLimitSeconds: params.command_time_limit,
          exportEnvironment: params.export_environment,
          cwd: runAs.home,
          ids: this.ctx.rights.commandIds(runAs),
        });
        outcomes.push(failure === undefined ? { status: 'sent', dsn: '2.0.0', reason: `delivered to command: ${item.slice(1).trim()}` } : { status: failure.dsn.startsWith('4') ? 'deferred' : 'bounced', dsn: failure.dsn, reason: failure.text });
      } else if (item.startsWith('/')) {
        if (!params.allow_mail_to_files.includes(source)) {
          outcomes.push({ status: 'bounced', dsn: '5.7.1', reason: `mail to file is restricted` });
          continue;
        }
        const runAs = await this.runAs(account);
        outcomes.push(await deliverToPath(params, item, this.msg.request.sender, this.lines(), 'file', this.ctx.rights.asUser(runAs)));
      } else if (item.toLowerCase() === owner.toLowerCase() || item.toLowerCase() === `${owner.toLowerCase()}@${params.myorigin}`) {
        outcomes.push(await this.user(owner, owner));
      } else {
        addresses.push(item.includes('@') ? item : `${item}@${params.myorigin}`);
      }
    }
    if (addresses.length > 0) outcomes.push(await this.forward(addresses, owner));
    return outcomes.length === 0 ? { status: 'sent', dsn: '2.0.0', reason: 'discarded: no destinations' } : worst(outcomes);
  }

  private async forward(addresses: readonly string[], owner: string): Promise<Outcome> {
    if (this.msg.request.probe === true) return { status: 'sent', dsn: '2.0.0', reason: `forwards to ${addresses.join(', ')}` };
    const params = this.ctx.params;
    let sender = this.msg.request.sender;
    if (params.owner_request_special && sender !== '' && (await this.ctx.aliases.lookup(`owner-${owner}`)) !== undefined) {
      sender = `owner-${owner}@${params.myorigin}`;
    }
    const client = await CleanupClient.begin(
      params,
      { op: 'begin', sender, arrival: Date.now(), attrs: { ...this.msg.request.attrs, forwarded_by: this.msg.request.queueId }, local: false, noHeaderBodyChecks: true },
    ).catch((err: unknown) => ({ status: 'defer' as const, dsn: '4.3.0', text: (err as Error).message }));
    if (!(client instanceof CleanupClient)) return { status: 'deferred', dsn: '4.3.0', reason: `cannot forward: ${client.text}` };
    for (const address of addresses) await client.recipient({ address, original: this.rcpt.original, notify: this.rcpt.notify, orcpt: this.rcpt.orcpt });
    const lines = contentLines(this.msg.file, this.msg.info, [`Delivered-To: ${this.rcpt.address}`]);
    for await (const line of lines) await client.content(Buffer.concat([line, Buffer.from('\n')]));
    const reply = await client.finish();
    if (reply.status !== 'ok') return { status: reply.status === 'reject' ? 'bounced' : 'deferred', dsn: reply.dsn, reason: `cannot forward: ${reply.text}` };
    return { status: 'sent', dsn: '2.0.0', reason: `forwarded as ${reply.id}` };
  }
}

/**
 * The text of a .forward or :include: file, or undefined when it cannot be
 * read with the rights of the caller's section. Only a regular file is read:
 * a FIFO planted in its place must not hold up the process.
 */
function readTextFile(path: string): string | undefined {
  try {
    return readRegularFileSync(path)?.text;
  } catch {
    return undefined;
  }
}

/** Delivers one recipient of msg. */
export function deliverRecipient(ctx: LocalContext, msg: OpenMessage, rcpt: DeliveryRecipient): Promise<Outcome> {
  return new RecipientDelivery(ctx, msg, rcpt).deliver();
}

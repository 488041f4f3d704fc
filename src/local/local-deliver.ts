/*
 * local-deliver - local(8) delivery of one recipient: Delivered-To: loop
 * detection, alias_maps (tried with and without the address extension,
 * owner- aliases as the sender of what they forward), the destinations an
 * alias or a .forward names (addresses forwarded as a new message through
 * cleanup, "|command", /file, :include:, each duplicate once, each subject
 * to allow_mail_to_commands / allow_mail_to_files), the user's ~/.forward
 * per forward_path, luser_relay for unknown users, and finally the mailbox.
 * An instance that runs as its mail_owner (the development instance)
 * delivers as that user, and to any local name when the account is missing.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { CleanupClient } from '../global/cleanup-clnt.js';
import { expandText } from '../global/config/config-expand.js';
import { splitAddress, splitExtension } from '../global/addr/addr-parts.js';
import type { DeliveryRecipient, DeliveryRequest } from '../global/deliver-clnt.js';
import { isTemporary } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import type { QueueFileInfo } from '../global/queue/queue-file-read.js';
import { splitAliasValue } from '../global/tables/alias-source.js';
import type { TableList } from '../global/tables/table-list.js';
import type { LookupTable } from '../global/tables/table.js';
import { deliverToCommand, type CommandEnv } from './local-command.js';
import { messageLines } from './local-content.js';
import { deliverToMailbox, deliverToPath, type Account, type Outcome } from './local-mailbox.js';

/** What local delivery keeps for its whole life. */
export interface LocalContext {
  readonly params: Params;
  readonly aliases: TableList;
  readonly passwd: LookupTable;
  /** True when this instance runs as its mail_owner: no user switching, any local name has a mailbox. */
  readonly unprivileged: boolean;
}

/** One queue file being delivered. */
export interface LocalMessage {
  readonly request: DeliveryRequest;
  readonly info: QueueFileInfo;
  readonly deliveredTo: ReadonlySet<string>;
}

type Source = 'alias' | 'forward' | 'include';

const ORDER: Record<Outcome['status'], number> = { sent: 0, bounced: 1, deferred: 2 };

function worst(outcomes: readonly Outcome[]): Outcome {
  return outcomes.reduce((a, b) => (ORDER[b.status] > ORDER[a.status] ? b : a));
}

function parseAccount(line: string): Account {
  const [name = '', , uid = '0', gid = '0', , home = '/', shell = '/bin/sh'] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid), home, shell };
}

/** Whether this instance runs as its mail_owner (nothing to switch between). */
export function runsAsMailOwner(params: Params): boolean {
  return userInfo().username === params.mail_owner;
}

class RecipientDelivery {
  private readonly seen = new Set<string>();

  constructor(
    private readonly ctx: LocalContext,
    private readonly msg: LocalMessage,
    private readonly rcpt: DeliveryRecipient,
  ) {}

  private headers(): string[] {
    const out = [`Return-Path: <${this.msg.request.sender}>`, `Delivered-To: ${this.rcpt.address}`];
    if (this.rcpt.original !== '') out.push(`X-Original-To: ${this.rcpt.original}`);
    return out;
  }

  private lines(): AsyncGenerator<Buffer> {
    return messageLines(this.msg.request.queueFile, this.msg.info, this.headers());
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
        if (value !== undefined) return await this.destinations(key, splitAliasValue(value), 'alias', 0);
      }
      return await this.user(base, user);
    } catch (err) {
      if (isTemporary(err)) return { status: 'deferred', dsn: '4.3.0', reason: (err as Error).message };
      return { status: 'bounced', dsn: '5.3.0', reason: (err as Error).message };
    }
  }

  private async account(name: string): Promise<Account | undefined> {
    const line = await this.ctx.passwd.lookup(name);
    if (line !== undefined) return parseAccount(line);
    if (!this.ctx.unprivileged) return undefined;
    const me = userInfo();
    return { name, uid: me.uid, gid: me.gid, home: me.homedir, shell: me.shell ?? '/bin/sh' };
  }

  private async user(name: string, local: string): Promise<Outcome> {
    const account = await this.account(name);
    if (account === undefined) {
      if (this.ctx.params.luser_relay !== '') {
        const relay = expandText(this.ctx.params.luser_relay, (macro) => ({ user: name, local, recipient: this.rcpt.address })[macro]);
        return this.forward([relay], name);
      }
      return { status: 'bounced', dsn: '5.1.1', reason: `unknown user: "${name}"` };
    }
    if (!this.ctx.unprivileged && process.getuid?.() !== account.uid) {
      return { status: 'deferred', dsn: '4.3.0', reason: 'delivery as another user is not implemented yet' };
    }
    const forwarded = await this.dotForward(account, local);
    if (forwarded !== undefined) return forwarded;
    return deliverToMailbox(this.ctx.params, account, this.env(account, local), this.lines());
  }

  private async dotForward(account: Account, local: string): Promise<Outcome | undefined> {
    const { extension } = splitExtension(local, this.ctx.params.recipient_delimiter);
    const macros: Record<string, string> = {
      home: account.home,
      user: account.name,
      extension: extension === undefined ? '' : extension.slice(1),
      recipient_delimiter: extension === undefined ? '' : (extension[0] as string),
      local,
      recipient: this.rcpt.address,
      domain: splitAddress(this.rcpt.address).domain ?? '',
    };
    for (const template of this.ctx.params.forward_path) {
      const path = expandText(template, (name) => macros[name]);
      const text = await readFile(path, 'utf8').catch(() => undefined);
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
        const text = await readFile(path, 'utf8').catch(() => undefined);
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
        const runAs = account ?? (await this.account(params.default_privs)) ?? { name: params.default_privs, uid: 0, gid: 0, home: '/', shell: '/bin/sh' };
        const failure = await deliverToCommand(item.slice(1).trim(), this.lines(), this.env(runAs, owner), {
          shell: params.local_command_shell === '' ? '/bin/sh' : params.local_command_shell,
          timeLimitSeconds: params.command_time_limit,
          exportEnvironment: params.export_environment,
          cwd: runAs.home,
        });
        outcomes.push(failure === undefined ? { status: 'sent', dsn: '2.0.0', reason: `delivered to command: ${item.slice(1).trim()}` } : { status: failure.dsn.startsWith('4') ? 'deferred' : 'bounced', dsn: failure.dsn, reason: failure.text });
      } else if (item.startsWith('/')) {
        if (!params.allow_mail_to_files.includes(source)) {
          outcomes.push({ status: 'bounced', dsn: '5.7.1', reason: `mail to file is restricted` });
          continue;
        }
        outcomes.push(await deliverToPath(params, item, this.msg.request.sender, this.lines(), 'file'));
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
    const params = this.ctx.params;
    let sender = this.msg.request.sender;
    if (params.owner_request_special && sender !== '' && (await this.ctx.aliases.lookup(`owner-${owner}`)) !== undefined) {
      sender = `owner-${owner}@${params.myorigin}`;
    }
    const client = await CleanupClient.begin(
      params.queue_directory,
      { op: 'begin', sender, arrival: Date.now(), attrs: { ...this.msg.request.attrs, forwarded_by: this.msg.request.queueId }, local: false },
      params.ipc_timeout * 1000,
    ).catch((err: unknown) => ({ status: 'defer' as const, dsn: '4.3.0', text: (err as Error).message }));
    if (!(client instanceof CleanupClient)) return { status: 'deferred', dsn: '4.3.0', reason: `cannot forward: ${client.text}` };
    for (const address of addresses) await client.recipient({ address, original: this.rcpt.original, notify: this.rcpt.notify, orcpt: this.rcpt.orcpt });
    const lines = messageLines(this.msg.request.queueFile, this.msg.info, [`Delivered-To: ${this.rcpt.address}`]);
    for await (const line of lines) await client.content(Buffer.concat([line, Buffer.from('\n')]));
    const reply = await client.finish();
    if (reply.status !== 'ok') return { status: reply.status === 'reject' ? 'bounced' : 'deferred', dsn: reply.dsn, reason: `cannot forward: ${reply.text}` };
    return { status: 'sent', dsn: '2.0.0', reason: `forwarded as ${reply.id}` };
  }
}

/** Delivers one recipient of msg. */
export function deliverRecipient(ctx: LocalContext, msg: LocalMessage, rcpt: DeliveryRecipient): Promise<Outcome> {
  return new RecipientDelivery(ctx, msg, rcpt).deliver();
}

/*
 * pipe-args - what master.cf says to a pipe(8) service: flags= (D, O, R,
 * F, X, h, q, u, ".", ">"), user=name[:group], size=, eol= and argv= with
 * everything after it, and the expansion of argv for one delivery. An
 * element that names a per-recipient macro (${recipient}, ${user},
 * ${extension}, ${domain}, ${mailbox}, ${original_recipient}) is repeated
 * once per recipient; the others (${sender}, ${nexthop}, ${queue_id},
 * ${client_address}, ${client_hostname}, ${client_helo},
 * ${client_protocol}, ${sasl_username}, ${size}) expand once. The
 * command runs without a shell, so nothing in an address can become a
 * command. Follows pipe(8).
 */
import { splitAddress, splitExtension } from '../global/addr/addr-parts.js';
import { PetrelError } from '../global/errors.js';

/** A pipe service's settings. */
export interface PipeSettings {
  readonly flags: string;
  readonly user: string;
  readonly group?: string;
  /** The largest message accepted (0: no limit). */
  readonly size: number;
  readonly eol: string;
  readonly argv: readonly string[];
}

const KNOWN_FLAGS = 'DORFXhqu.>';

/** Parses the master.cf arguments of a pipe service. */
export function parsePipeArgs(args: readonly string[]): PipeSettings {
  let flags = '';
  let user = '';
  let group: string | undefined;
  let size = 0;
  let eol = '\n';
  const at = args.findIndex((a) => a.startsWith('argv='));
  if (at < 0) throw new PetrelError('config', 'pipe: missing argv= command');
  for (const arg of args.slice(0, at)) {
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? '' : arg.slice(eq + 1);
    if (name === 'flags') {
      const unknown = [...value].filter((f) => !KNOWN_FLAGS.includes(f));
      if (unknown.length > 0) throw new PetrelError('config', `pipe: unsupported flags "${unknown.join('')}" in flags=${value}`);
      flags = value;
    } else if (name === 'user') {
      [user = '', group] = value.split(':');
    } else if (name === 'size') {
      if (!/^\d+$/.test(value)) throw new PetrelError('config', `pipe: bad size=${value}`);
      size = Number(value);
    } else if (name === 'eol') {
      eol = value.replace(/\\r/g, '\r').replace(/\\n/g, '\n');
    } else {
      throw new PetrelError('config', `pipe: unknown attribute "${arg}"`);
    }
  }
  if (user === '') throw new PetrelError('config', 'pipe: missing user= attribute');
  if (user === 'root' || /^0+$/.test(user)) throw new PetrelError('config', 'pipe: user= may not be root');
  const argv = [(args[at] as string).slice('argv='.length), ...args.slice(at + 1)].filter((a) => a !== '');
  if (argv.length === 0) throw new PetrelError('config', 'pipe: empty argv= command');
  return { flags, user, ...(group === undefined ? {} : { group }), size, eol, argv };
}

/** One recipient of the delivery. */
export interface PipeRecipient {
  readonly address: string;
  readonly original: string;
}

/** What the macros expand from. */
export interface PipeContext {
  readonly sender: string;
  readonly nexthop: string;
  readonly queueId: string;
  readonly size: number;
  readonly recipientDelimiter: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly recipients: readonly PipeRecipient[];
}

const PER_RECIPIENT = ['recipient', 'user', 'extension', 'domain', 'mailbox', 'original_recipient'];

function recipientMacros(rcpt: PipeRecipient, flags: string, delimiter: string): Record<string, string> {
  const lowerUser = flags.includes('u');
  const lowerHost = flags.includes('h');
  const parts = splitAddress(rcpt.address);
  const local = lowerUser ? parts.local.toLowerCase() : parts.local;
  const domain = parts.domain ?? '';
  const { base, extension } = splitExtension(local, delimiter);
  const quote = (text: string): string => (flags.includes('q') && /[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/.test(text) ? `"${text.replace(/(["\\])/g, '\\$1')}"` : text);
  const host = lowerHost ? domain.toLowerCase() : domain;
  const mailbox = local;
  return {
    recipient: domain === '' ? quote(mailbox) : `${quote(mailbox)}@${host}`,
    user: quote(base),
    extension: extension === undefined ? '' : extension.slice(1),
    domain: host,
    mailbox: quote(mailbox),
    original_recipient: rcpt.original,
  };
}

/** The command line for one delivery. */
export function expandArgv(settings: PipeSettings, ctx: PipeContext): string[] {
  const common: Record<string, string> = {
    sender: ctx.sender,
    nexthop: ctx.nexthop,
    queue_id: ctx.queueId,
    size: String(ctx.size),
    client_address: ctx.attrs.client_address ?? '',
    client_hostname: ctx.attrs.client_name ?? '',
    client_helo: ctx.attrs.helo_name ?? '',
    client_protocol: ctx.attrs.protocol_name ?? '',
    sasl_username: ctx.attrs.sasl_username ?? '',
  };
  const out: string[] = [];
  for (const element of settings.argv) {
    const names = [...element.matchAll(/\$\{(\w+)\}|\$(\w+)/g)].map((m) => (m[1] ?? m[2]) as string);
    const unknown = names.filter((n) => common[n] === undefined && !PER_RECIPIENT.includes(n));
    if (unknown.length > 0) throw new PetrelError('config', `pipe: unknown macro $\{${unknown[0]}\} in argv`);
    const expand = (macros: Record<string, string>): string => element.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => macros[(a ?? b) as string] ?? '');
    if (names.some((n) => PER_RECIPIENT.includes(n))) {
      for (const rcpt of ctx.recipients) out.push(expand({ ...common, ...recipientMacros(rcpt, settings.flags, ctx.recipientDelimiter) }));
    } else {
      out.push(expand(common));
    }
  }
  return out;
}

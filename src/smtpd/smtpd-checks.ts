/*
 * smtpd-checks - the recipient checks smtpd(8) makes at RCPT TO with the
 * default policy Postfix ships: smtpd_relay_restrictions and
 * smtpd_recipient_restrictions made of permit_mynetworks,
 * permit_sasl_authenticated, reject_unauth_destination,
 * defer_unauth_destination, permit, reject and defer (the full restriction
 * language is a later piece of work: any other name is a configuration
 * error at start-up, never ignored), then the unknown-local-recipient check
 * against local_recipient_maps. Each check answers a reply or "no opinion".
 */
import ipaddr from 'ipaddr.js';
import { splitAddress, splitExtension } from '../global/addr/addr-parts.js';
import type { AddressResolver } from '../global/addr/addr-resolve.js';
import { PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';
import type { TableList } from '../global/tables/table-list.js';

/** An SMTP reply to a rejected command. */
export interface CheckReply {
  readonly code: number;
  readonly dsn: string;
  readonly text: string;
}

/** What a restriction sees. */
export interface RcptContext {
  readonly clientAddress: string;
  readonly authenticated: boolean;
  readonly recipient: string;
}

type Verdict = 'permit' | CheckReply | undefined;
type Restriction = (ctx: RcptContext, checks: SmtpdChecks) => Promise<Verdict>;

async function unauthDestination(ctx: RcptContext, checks: SmtpdChecks, code: number, dsn: string): Promise<Verdict> {
  const resolution = await checks.resolver.resolve(checks.resolver.rewrite(ctx.recipient));
  if (resolution.addressClass !== 'default') return undefined;
  return { code, dsn, text: `<${ctx.recipient}>: Relay access denied` };
}

/** Every restriction name Petrel implements so far. */
export const RESTRICTIONS: Readonly<Record<string, Restriction>> = {
  permit: async () => 'permit',
  reject: async () => ({ code: 554, dsn: '5.7.1', text: 'Access denied' }),
  defer: async () => ({ code: 450, dsn: '4.7.1', text: 'Try again later' }),
  permit_mynetworks: async (ctx, checks) => (checks.inMynetworks(ctx.clientAddress) ? 'permit' : undefined),
  permit_sasl_authenticated: async (ctx) => (ctx.authenticated ? 'permit' : undefined),
  reject_unauth_destination: (ctx, checks) => unauthDestination(ctx, checks, 554, '5.7.1'),
  defer_unauth_destination: (ctx, checks) => unauthDestination(ctx, checks, 454, '4.7.1'),
};

/** Checks a restriction list at start-up; an unknown name is a configuration error. */
export function validateRestrictions(name: string, list: readonly string[]): void {
  for (const item of list) {
    if (RESTRICTIONS[item] === undefined) {
      throw new PetrelError('config', `${name}: unsupported restriction "${item}" (Petrel implements ${Object.keys(RESTRICTIONS).join(', ')})`);
    }
  }
}

/** The checks of one smtpd process. */
export class SmtpdChecks {
  private readonly networks: [ipaddr.IPv4 | ipaddr.IPv6, number][];

  constructor(
    private readonly params: Params,
    readonly resolver: AddressResolver,
    private readonly localRecipients: TableList,
  ) {
    for (const [name, list] of this.lists()) validateRestrictions(name, list);
    validateRestrictions('smtpd_data_restrictions', params.smtpd_data_restrictions);
    this.networks = params.mynetworks.map((item) => {
      const text = item.replace(/^\[([^\]]+)\]/, '$1');
      try {
        return text.includes('/') ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), ipaddr.parse(text).kind() === 'ipv4' ? 32 : 128];
      } catch {
        throw new PetrelError('config', `mynetworks: bad network "${item}"`);
      }
    });
  }

  /** True when address is in mynetworks. */
  inMynetworks(address: string): boolean {
    if (!ipaddr.isValid(address)) return false;
    let parsed = ipaddr.parse(address);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    return this.networks.some(([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits));
  }

  private async runList(list: readonly string[], ctx: RcptContext): Promise<Verdict> {
    for (const name of list) {
      const verdict = await (RESTRICTIONS[name] as Restriction)(ctx, this);
      if (verdict !== undefined) return verdict;
    }
    return undefined;
  }

  /** The restriction lists evaluated at RCPT TO, in Postfix's order (client, helo and sender ones are delayed to RCPT, as with smtpd_delay_reject = yes). */
  private lists(): [string, readonly string[]][] {
    const p = this.params;
    return [
      ['smtpd_client_restrictions', p.smtpd_client_restrictions],
      ['smtpd_helo_restrictions', p.smtpd_helo_restrictions],
      ['smtpd_sender_restrictions', p.smtpd_sender_restrictions],
      ['smtpd_relay_restrictions', p.smtpd_relay_restrictions],
      ['smtpd_recipient_restrictions', p.smtpd_recipient_restrictions],
    ];
  }

  /** The reply rejecting DATA per smtpd_data_restrictions, or undefined. */
  async data(ctx: Omit<RcptContext, 'recipient'>): Promise<CheckReply | undefined> {
    const verdict = await this.runList(this.params.smtpd_data_restrictions, { ...ctx, recipient: '' });
    return verdict === 'permit' ? undefined : verdict;
  }

  /** The reply rejecting ctx.recipient, or undefined when it is accepted. */
  async recipient(ctx: RcptContext): Promise<CheckReply | undefined> {
    for (const [, list] of this.lists()) {
      const verdict = await this.runList(list, ctx);
      if (verdict !== undefined && verdict !== 'permit') return verdict;
    }
    const address = this.resolver.rewrite(ctx.recipient);
    const resolution = await this.resolver.resolve(address);
    if (resolution.addressClass !== 'local' || this.localRecipients.tables.length === 0) return undefined;
    const { local } = splitAddress(address);
    const lower = local.toLowerCase();
    const base = splitExtension(lower, this.params.recipient_delimiter).base;
    for (const key of new Set([lower, base, address.toLowerCase()])) {
      if ((await this.localRecipients.lookup(key)) !== undefined) return undefined;
    }
    return { code: this.params.unknown_local_recipient_reject_code, dsn: '5.1.1', text: `<${ctx.recipient}>: Recipient address rejected: User unknown in local recipient table` };
  }
}

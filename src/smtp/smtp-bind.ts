/*
 * smtp-bind - the source address of the SMTP (LMTP) client's connections:
 * smtp_bind_address for IPv4 servers and smtp_bind_address6 for IPv6 ones
 * (lmtp_bind_address, lmtp_bind_address6), or, when one is unset and
 * inet_interfaces names exactly one address of that family that is not a
 * loopback address, that address, as Postfix does on a host with many
 * addresses. A value that is not an address of its family stops the
 * agent at start. An address the host cannot bind to (it was removed, say)
 * is logged and the connection made from any address, unless
 * smtp_bind_address_enforce (lmtp_bind_address_enforce) asks to defer the
 * delivery instead.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { PetrelError } from '../global/errors.js';
import type { Params } from '../global/params/param-registry.js';

/** Where connections come from, by the server's address family. */
export interface SourceAddresses {
  readonly v4?: string;
  readonly v6?: string;
  /** Defer when the address cannot be bound, instead of connecting from any address. */
  readonly enforce: boolean;
}

const LOOPBACK = /^(127\.|::1$)/;

/** The one address of a family inet_interfaces names, when it names exactly one that is not a loopback address. */
function soleInterface(params: Params, family: (text: string) => boolean): string | undefined {
  const addresses = params.inet_interfaces.map((item) => item.replace(/^\[(.*)\]$/, '$1')).filter(family);
  return addresses.length === 1 && !LOOPBACK.test(addresses[0] as string) ? addresses[0] : undefined;
}

/** The configured source addresses; throws a configuration error for a value that is not an address of its family. */
export function sourceAddresses(params: Params, lmtp: boolean): SourceAddresses {
  const prefix = lmtp ? 'lmtp' : 'smtp';
  const v4 = lmtp ? params.lmtp_bind_address : params.smtp_bind_address;
  const v6 = lmtp ? params.lmtp_bind_address6 : params.smtp_bind_address6;
  if (v4 !== '' && !isIPv4(v4)) throw new PetrelError('config', `${prefix}_bind_address: "${v4}" is not an IPv4 address`);
  if (v6 !== '' && !isIPv6(v6)) throw new PetrelError('config', `${prefix}_bind_address6: "${v6}" is not an IPv6 address`);
  const chosen4 = v4 === '' ? soleInterface(params, isIPv4) : v4;
  const chosen6 = v6 === '' ? soleInterface(params, isIPv6) : v6;
  return {
    ...(chosen4 === undefined ? {} : { v4: chosen4 }),
    ...(chosen6 === undefined ? {} : { v6: chosen6 }),
    enforce: lmtp ? params.lmtp_bind_address_enforce : params.smtp_bind_address_enforce,
  };
}

/** The address to connect from to the server at address (undefined: any). */
export function sourceFor(sources: SourceAddresses, address: string): string | undefined {
  return isIPv6(address) ? sources.v6 : isIPv4(address) ? sources.v4 : undefined;
}

/*
 * master-listen - opens the listening sockets of a master.cf service, as the
 * master does before it forks any worker: inet services on every address of
 * inet_interfaces (all, loopback-only or a list; IPv4 and/or IPv6 per
 * inet_protocols) or on the host of a "host:port" service name, unix
 * services as sockets in the queue directory's private/ or public/ folder.
 * It binds them (as root, before any privilege is dropped) and hands the
 * bound sockets to master-service.ts. Follows master(5) and postconf(5)
 * inet_interfaces.
 */
import { lookup } from 'node:dns/promises';
import { chmodSync, unlinkSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { bindTcpHandle, bindUnixHandle, type ListenHandle } from '../util/listen-handle.js';
import { PetrelError } from '../global/errors.js';
import type { MasterEntry } from '../global/config/master-cf-read.js';
import type { Params } from '../global/params/param-registry.js';
import { servicePort } from '../global/service-ports.js';

/** Where one listener listens. */
export type ListenAddress = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

function port(text: string, entry: MasterEntry): number {
  const number = servicePort(text);
  if (number === undefined) throw new PetrelError('config', `master.cf: line ${entry.line}: unknown service port "${text}"`);
  return number;
}

function interfaceHosts(params: Params): string[] {
  const protocols = params.inet_protocols.includes('all') ? ['ipv4', 'ipv6'] : params.inet_protocols;
  const hosts: string[] = [];
  for (const item of params.inet_interfaces) {
    if (item === 'all') {
      if (protocols.includes('ipv6')) hosts.push('::');
      else hosts.push('0.0.0.0');
    } else if (item === 'loopback-only') {
      if (protocols.includes('ipv4')) hosts.push('127.0.0.1');
      if (protocols.includes('ipv6')) hosts.push('::1');
    } else {
      hosts.push(item.replace(/^\[(.*)\]$/, '$1'));
    }
  }
  return hosts;
}

/** The addresses an entry listens on (none for types Petrel does not listen for). */
export function listenAddresses(entry: MasterEntry, params: Params): ListenAddress[] {
  if (entry.type === 'unix') {
    const dir = entry.private === false ? 'public' : 'private';
    return [{ kind: 'unix', path: join(params.queue_directory, dir, entry.service) }];
  }
  if (entry.type !== 'inet') {
    throw new PetrelError('config', `master.cf: line ${entry.line}: service type ${entry.type} is not supported yet`);
  }
  const colon = entry.service.lastIndexOf(':');
  if (colon >= 0) {
    const host = entry.service.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    return [{ kind: 'tcp', host, port: port(entry.service.slice(colon + 1), entry) }];
  }
  return interfaceHosts(params).map((host) => ({ kind: 'tcp', host, port: port(entry.service, entry) }));
}

/** The listen(2) backlog of each kind of listener. */
const LISTEN_BACKLOG = { tcp: 511, unix: 128 } as const;

/** A bound socket and the backlog whoever accepts on it listens with. */
export interface Listener {
  readonly handle: ListenHandle;
  readonly backlog: number;
}

/** Where an address is, for error messages. */
export function describeAddress(address: ListenAddress): string {
  return address.kind === 'tcp' ? `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}` : address.path;
}

/**
 * Binds one listener (a host name is looked up first); rejects with a clear
 * error when the address is taken, unknown or not allowed. The socket starts
 * listening when a worker (or, for services the master hands connections to,
 * the master) accepts on it: see listen-handle.ts.
 */
export async function bindListener(address: ListenAddress): Promise<Listener> {
  try {
    if (address.kind === 'unix') {
      try {
        unlinkSync(address.path);
      } catch {
        // no stale socket to remove
      }
      const handle = bindUnixHandle(address.path);
      chmodSync(address.path, 0o666);
      return { handle, backlog: LISTEN_BACKLOG.unix };
    }
    const host = isIP(address.host) !== 0 ? address.host : (await lookup(address.host)).address;
    return { handle: bindTcpHandle(host, address.port), backlog: LISTEN_BACKLOG.tcp };
  } catch (err) {
    throw new PetrelError('config', `bind ${describeAddress(address)}: ${(err as Error).message}`, { cause: err });
  }
}

/*
 * master-listen - opens the listening sockets of a master.cf service, as the
 * master does before it forks any worker: inet services on every address of
 * inet_interfaces (all, loopback-only or a list; IPv4 and/or IPv6 per
 * inet_protocols) or on the host of a "host:port" service name, unix
 * services as sockets in the queue directory's private/ or public/ folder.
 * Follows master(5) and postconf(5) inet_interfaces.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
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

/** Opens one listener; rejects with a clear error when the address is taken or not allowed. */
export function listen(address: ListenAddress): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: true });
    server.once('error', (err) => {
      const where = address.kind === 'tcp' ? `${address.host}:${address.port}` : address.path;
      reject(new PetrelError('config', `bind ${where}: ${err.message}`, { cause: err }));
    });
    if (address.kind === 'unix') {
      try {
        unlinkSync(address.path);
      } catch {
        // no stale socket to remove
      }
      server.listen(address.path, 128, () => {
        chmodSync(address.path, 0o666);
        resolve(server);
      });
    } else {
      server.listen({ host: address.host, port: address.port, backlog: 511, ipv6Only: false }, () => resolve(server));
    }
  });
}

/*
 * param-computed - the defaults Postfix computes from the running system
 * rather than writes as text: the host and domain names, the trusted
 * networks for mynetworks_style, and Petrel's own version and install
 * directories. Used by the parameter declarations (global-params.ts);
 * postconf -d prints what these return, as Postfix's postconf does.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';

/** The package root: dist/src/global/params/ is four levels below it. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** The system's host name, made fully qualified with .localdomain when it has no dot. */
export function systemHostName(): string {
  const name = hostname().toLowerCase();
  return name.includes('.') ? name : `${name}.localdomain`;
}

/** The domain part of a host name: everything after the first label, or localdomain. */
export function domainOfHost(host: string): string {
  const dot = host.indexOf('.');
  return dot < 0 || dot === host.length - 1 ? 'localdomain' : host.slice(dot + 1);
}

/** The version in package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** Where the compiled daemons live: <package>/dist/src. */
export function installedDaemonDirectory(): string {
  return join(PACKAGE_ROOT, 'dist', 'src');
}

function classfulPrefix(address: ipaddr.IPv4): number {
  const first = address.octets[0] ?? 0;
  if (first < 128) return 8;
  if (first < 192) return 16;
  if (first < 224) return 24;
  return 32;
}

function formatNetwork(address: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): string {
  if (address.kind() === 'ipv4') {
    const network = ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
    return `${network.toString()}/${prefix}`;
  }
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
  return `[${network.toString()}]/${prefix}`;
}

/** The networks mynetworks defaults to for a mynetworks_style: host, subnet or class. */
export function networksForStyle(style: string): string {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const info of addresses ?? []) {
      const address = ipaddr.parse(info.address.replace(/%.*$/, ''));
      const bits = address.kind() === 'ipv4' ? 32 : 128;
      const subnet = info.cidr === null ? bits : Number(info.cidr.slice(info.cidr.lastIndexOf('/') + 1));
      let prefix = subnet;
      if (style === 'host') prefix = bits;
      else if (style === 'class' && address.kind() === 'ipv4') prefix = classfulPrefix(address as ipaddr.IPv4);
      const text = formatNetwork(address, prefix);
      const list = address.kind() === 'ipv4' ? ipv4 : ipv6;
      if (!list.includes(text)) list.push(text);
    }
  }
  return [...ipv4, ...ipv6].join(' ');
}

/*
 * smtp-bench-checks - what mode checks of smtp-bench adds (issue #12's
 * speed budget): a main.cf with the restrictions a port-25 server
 * typically runs, seventeen of them over five stages: HELO syntax, the
 * sender's syntax, domain and an access map, relay control, the
 * recipient's syntax and domain, a cidr client map and a recipient access
 * map, two DNS blocklists of the client, a domain blocklist of the sender,
 * a policy service, and the pipelining and multi-recipient-bounce checks
 * at DATA. The DNS answers come from a loopback DNS server (dns_servers):
 * the client, 127.0.0.1, is listed in neither blocklist (the common case,
 * which asks every list), the sender's and the recipient's domains exist.
 * The policy service is a small server here answering DUNNO to each
 * request, over connections smtpd keeps. mynetworks leaves the bench's
 * client out, so that every restriction runs. Used by smtp-bench.ts.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { startDnsServer, type DnsServer } from '../../test/support/dns-server.js';

/** What the restrictions need running while a system is measured. */
export interface CheckPeers {
  readonly dnsPort: number;
  readonly policyPort: number;
  /** Policy requests answered so far. */
  policyRequests(): number;
  close(): void;
}

/** A policy server (Postfix's policy delegation protocol) that answers DUNNO to every request. */
async function startPolicyServer(): Promise<{ server: Server; port: number; requests: () => number }> {
  let requests = 0;
  const server = createServer((socket) => {
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      pending += chunk;
      for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
        pending = pending.slice(end + 2);
        requests++;
        socket.write('action=DUNNO\n\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, requests: () => requests };
}

/** Starts the DNS server and the policy server the checks ask. */
export async function startCheckPeers(hostname: string): Promise<CheckPeers> {
  const dns: DnsServer = await startDnsServer({
    'example.org': { a: ['192.0.2.10'], mx: [{ preference: 10, exchange: 'mx.example.org' }] },
    [hostname]: { a: ['127.0.0.1'] },
    'bench.example': { a: ['127.0.0.1'] },
  });
  const policy = await startPolicyServer();
  return {
    dnsPort: dns.port,
    policyPort: policy.port,
    policyRequests: policy.requests,
    close() {
      dns.close();
      policy.server.close();
    },
  };
}

/** The access maps the checks consult (written into etc; built by the caller with postmap) and the main.cf settings. */
export function checksMainCf(peers: CheckPeers, etc: string): { settings: string[]; maps: string[] } {
  const senderAccess = join(etc, 'sender_access');
  const recipientAccess = join(etc, 'recipient_access');
  const clientAccess = join(etc, 'client_access');
  writeFileSync(senderAccess, ['spammer@example.com REJECT', 'example.net REJECT no mail from there', 'bulk.example.org DISCARD', ''].join('\n'));
  writeFileSync(recipientAccess, ['abuse@ OK', 'nobody@ REJECT no such person', ''].join('\n'));
  writeFileSync(clientAccess, ['192.0.2.0/24 REJECT', '198.51.100.7 OK', ''].join('\n'));
  return {
    maps: [`hash:${senderAccess}`, `hash:${recipientAccess}`],
    settings: [
      // The bench's client (127.0.0.1) is not a trusted network: every restriction applies to it.
      'mynetworks = 127.0.0.2/32',
      `dns_servers = 127.0.0.1:${peers.dnsPort}`,
      'smtpd_helo_required = yes',
      'smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname',
      `smtpd_sender_restrictions = reject_non_fqdn_sender, reject_unknown_sender_domain, check_sender_access hash:${senderAccess}`,
      'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
      [
        'smtpd_recipient_restrictions = reject_non_fqdn_recipient, reject_unknown_recipient_domain',
        `check_client_access cidr:${clientAccess}`,
        `check_recipient_access hash:${recipientAccess}`,
        'reject_rbl_client zen.bench.test, reject_rbl_client bl.bench.test, reject_rhsbl_sender dbl.bench.test',
        `check_policy_service inet:127.0.0.1:${peers.policyPort}`,
      ].join(', '),
      'smtpd_data_restrictions = reject_unauth_pipelining, reject_multi_recipient_bounce',
    ],
  };
}

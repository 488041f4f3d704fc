/*
 * smtpd-restrictions-postfix - the same restriction configurations given
 * to Debian's Postfix 3.7 and to Petrel: every reply code and enhanced
 * status code of the same SMTP dialogues must be the same. Postfix runs as
 * its own instance ("postfix -c DIR start" with its own queue and data
 * directories, on a loopback port, stopped after each case); the system's
 * /etc/postfix is never touched. Needs root (Postfix's master) and the
 * postfix package. For the DNS list cases both ask one loopback DNS server:
 * Petrel through dns_servers; Postfix, which only reads /etc/resolv.conf,
 * is started in its own mount namespace (unshare) where a resolv.conf
 * naming that server is bound over /etc/resolv.conf, so the system's file
 * is never touched either. A resolv.conf cannot name a port, so the server
 * listens on port 53 of a loopback address of its own. Those cases
 * compare whole replies.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { freePort, TestInstance } from '../support/instance.js';
import { needFile, needRoot } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';

const POSTFIX = '/usr/sbin/postfix';
const skip = needFile(POSTFIX, 'the reference implementation') || needRoot("Postfix's master starts as root");
const shared = mkdtempSync(join(tmpdir(), 'petrel-rstr-cmp-'));
chmodSync(shared, 0o755);
/** Where the DNS lists of the comparison are served: port 53, as resolv.conf cannot name another, on a loopback address of this process's own (another run may serve its own). */
const DNS_HOST = `127.53.${Math.floor(process.pid / 256) % 256}.${(process.pid % 254) + 1}`;
const LISTED = { a: ['127.0.0.2'] };
/** 2001:db8::1 with its nibbles reversed. */
const V6 = `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2`;
let dns: DnsServer | undefined;

/** The DNS server of the DNS list cases, started by the first of them. */
async function serveDnsLists(): Promise<void> {
  dns ??= await startDnsServer(
    {
      '7.2.0.192.bl.test': { a: ['127.0.0.2'], txt: ['first reason', 'second reason'] },
      '8.2.0.192.bl.test': { a: ['127.0.0.12'] },
      '14.2.0.192.bl.test': { a: ['127.0.0.14'] },
      '9.2.0.192.bl.test': LISTED,
      '9.2.0.192.wl.test': LISTED,
      '10.2.0.192.bl2.test': { a: ['127.0.0.3'], txt: ['bl2 says so'] },
      '11.2.0.192.bl.test': { fail: 'servfail' },
      '13.2.0.192.bl.test': LISTED,
      '13.2.0.192.wl.test': { fail: 'servfail' },
      [`${V6}.bl.test`]: { a: ['127.0.0.4'], txt: ['v6'] },
      'badhelo.example.rhs.test': LISTED,
      'badsender.example.rhs.test': { a: ['127.0.0.2'], txt: ['sender listed'] },
      'badrcpt.example.rhs.test': LISTED,
      'badclient.example.rhs.test': LISTED,
      'badreverse.example.rhs.test': LISTED,
      'goodclient.example.wl.test': LISTED,
    },
    DNS_HOST,
    53,
  );
}

after(() => {
  dns?.close();
  rmSync(shared, { recursive: true, force: true });
});

/** The services a Postfix instance needs to answer SMTP dialogues. */
const POSTFIX_MASTER = [
  'postlog unix-dgram n - n - 1 postlogd',
  'cleanup unix n - n - 0 cleanup',
  'qmgr unix n - n 300 1 qmgr',
  'rewrite unix - - n - - trivial-rewrite',
  'proxymap unix - - n - - proxymap',
  'anvil unix - - n - 1 anvil',
  'bounce unix - - n - 0 bounce',
  'defer unix - - n - 0 bounce',
  'trace unix - - n - 0 bounce',
  'verify unix - - n - 1 verify',
  'flush unix n - n 1000? 0 flush',
  'showq unix n - n - - showq',
  'error unix - - n - - error',
  'retry unix - - n - - error',
  'discard unix - - n - - discard',
  'pickup unix n - n 60 1 pickup',
];

/** Settings both get besides the case's own. */
const COMMON: Record<string, string> = {
  myhostname: 'mx.test.example',
  mydestination: 'localhost',
  mynetworks: '10.9.9.0/24',
  local_recipient_maps: '',
  alias_maps: '',
};

/** Runs dialogue on port: the code and enhanced code of each reply after the greeting (the code alone for EHLO; with fullText the whole reply to MAIL and RCPT). */
async function replies(port: number, dialogue: readonly string[], fullText = false): Promise<string[]> {
  const { client, greeting } = await SmtpClient.open(port);
  const out = [greeting.slice(0, 3)];
  for (const line of dialogue) {
    const reply = await client.command(line);
    const command = line.split(/[ :]/)[0] as string;
    const whole = fullText && /^(MAIL|RCPT)$/i.test(command);
    out.push(`${command} ${/^EHLO/i.test(line) ? reply.slice(0, 3) : whole ? reply : reply.slice(0, 9).trim()}`);
  }
  await client.quit();
  return out;
}

/** Starts Debian's Postfix with settings on a free port (with dns, resolving through the test's DNS server); returns the port and a stop function. */
async function startPostfix(settings: Readonly<Record<string, string>>, dns = false): Promise<{ port: number; stop: () => void }> {
  const root = mkdtempSync(join(tmpdir(), 'petrel-pfx-'));
  // Postfix's daemons run as postfix and must reach their queue and data directories.
  chmodSync(root, 0o755);
  const etc = join(root, 'etc');
  const data = join(root, 'data');
  mkdirSync(etc);
  mkdirSync(data);
  mkdirSync(join(root, 'queue'));
  chownSync(data, Number(spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).stdout.trim()), 0);
  const port = await freePort();
  const main = { ...COMMON, ...settings, compatibility_level: '3.6', queue_directory: join(root, 'queue'), data_directory: data, mail_owner: 'postfix', setgid_group: 'postdrop', inet_interfaces: '127.0.0.1', maillog_file: join(root, 'maillog'), maillog_file_prefixes: tmpdir() };
  writeFileSync(join(etc, 'main.cf'), `${Object.entries(main).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
  writeFileSync(join(etc, 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd\n${POSTFIX_MASTER.join('\n')}\n`);
  writeFileSync(join(root, 'resolv.conf'), `nameserver ${DNS_HOST}\n`);
  // The master and every daemon it starts stay in the namespace where resolv.conf names the test's server.
  const started = dns
    ? spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /etc/resolv.conf && exec "$2" -c "$3" start', 'sh', join(root, 'resolv.conf'), POSTFIX, etc], { encoding: 'utf8' })
    : spawnSync(POSTFIX, ['-c', etc, 'start'], { encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`postfix start: ${started.stderr}`);
  const stop = (): void => {
    spawnSync(POSTFIX, ['-c', etc, 'stop'], { encoding: 'utf8' });
    rmSync(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const probe = await SmtpClient.open(port).catch(() => undefined);
    if (probe !== undefined) {
      await probe.client.quit();
      return { port, stop };
    }
    if (Date.now() > deadline) {
      stop();
      throw new Error('postfix never listened');
    }
    await sleep(100);
  }
}

/** A configuration and the dialogues to compare. */
interface Case {
  readonly name: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly dialogues: readonly (readonly string[])[];
  /** DNS lists: both resolve through the test's DNS server, and the whole MAIL and RCPT replies are compared. */
  readonly dns?: boolean;
}

const ACCESS = join(shared, 'access');
writeFileSync(
  ACCESS,
  ['reject@localhost REJECT go away', 'defer@localhost DEFER', 'nnn@localhost 550 custom', 'odd@localhost 451 5.1.1 odd', 'dip@localhost DEFER_IF_PERMIT dip', 'class@localhost strict_class', 'ok@localhost OK', 'localhost REJECT parent', 's@bad.example REJECT', ''].join('\n'),
);

const RBL_REPLY = join(shared, 'rbl_reply');
writeFileSync(RBL_REPLY, 'bl2.test=127.0.0.[1..3] $rbl_code Custom: $client_address is in $rbl_domain ($rbl_reason) for <$recipient>\n');

/** A dialogue as the client XCLIENT names: EHLO helo, MAIL FROM sender, RCPT to a local and to a far recipient. */
function xclientDialogue(xclient: string, helo = 'client.example', sender = 's@example.org'): string[] {
  return ['EHLO relay.example', `XCLIENT ${xclient}`, `EHLO ${helo}`, `MAIL FROM:<${sender}>`, 'RCPT TO:<a@localhost>', 'RCPT TO:<a@far.example>'];
}

const TRANSPORT = join(shared, 'transport');
writeFileSync(TRANSPORT, ['dest.example discard:', 'gone.example error:5.1.1 no such user', ''].join('\n'));

/** Address verification through the error and discard transports, which answer probes without any other server. */
const VERIFY: Readonly<Record<string, string>> = { relay_domains: 'dest.example, gone.example', transport_maps: `texthash:${TRANSPORT}` };

const CASES: readonly Case[] = [
  {
    name: 'access actions in check_recipient_access, a restriction class, relay control',
    settings: { smtpd_restriction_classes: 'strict_class', strict_class: 'reject_non_fqdn_sender, reject', smtpd_recipient_restrictions: `check_recipient_access texthash:${ACCESS}, reject_unauth_destination` },
    dialogues: [['EHLO client.example', 'MAIL FROM:<s@example.org>', 'RCPT TO:<reject@localhost>', 'RCPT TO:<defer@localhost>', 'RCPT TO:<nnn@localhost>', 'RCPT TO:<odd@localhost>', 'RCPT TO:<dip@localhost>', 'RCPT TO:<class@localhost>', 'RCPT TO:<other@localhost>', 'RCPT TO:<ok@localhost>', 'RCPT TO:<x@far.example>', 'RSET']],
  },
  {
    name: 'HELO and sender checks, delayed to RCPT',
    settings: { smtpd_helo_restrictions: 'reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname', smtpd_sender_restrictions: `reject_non_fqdn_sender, check_sender_access texthash:${ACCESS}` },
    dialogues: [
      ['EHLO bad!name', 'MAIL FROM:<s@example.org>', 'RCPT TO:<a@localhost>'],
      ['HELO single', 'MAIL FROM:<s@example.org>', 'RCPT TO:<a@localhost>'],
      ['EHLO client.example', 'MAIL FROM:<nodomain>', 'RCPT TO:<a@localhost>', 'RSET', 'MAIL FROM:<s@bad.example>', 'RCPT TO:<a@localhost>', 'RSET', 'MAIL FROM:<>', 'RCPT TO:<a@localhost>'],
    ],
  },
  {
    name: 'smtpd_delay_reject = no, smtpd_helo_required, client restrictions at connect',
    settings: { smtpd_delay_reject: 'no', smtpd_helo_required: 'yes', smtpd_helo_restrictions: 'reject_non_fqdn_helo_hostname', smtpd_sender_restrictions: 'reject_non_fqdn_sender' },
    dialogues: [['MAIL FROM:<s@example.org>', 'HELO single', 'HELO client.example', 'MAIL FROM:<nodomain>', 'MAIL FROM:<s@example.org>', 'RCPT TO:<a@localhost>']],
  },
  {
    name: 'client restrictions refuse the connection with smtpd_delay_reject = no',
    settings: { smtpd_delay_reject: 'no', smtpd_client_restrictions: 'reject' },
    dialogues: [['HELO client.example', 'MAIL FROM:<s@example.org>', 'RCPT TO:<a@localhost>', 'DATA', 'NOOP']],
  },
  {
    name: 'defer, defer_if_permit, defer_if_reject, warn_if_reject; data and end-of-data restrictions',
    settings: { smtpd_client_restrictions: 'warn_if_reject, reject', smtpd_sender_restrictions: 'defer_if_reject, reject_non_fqdn_sender', smtpd_data_restrictions: 'reject_multi_recipient_bounce' },
    dialogues: [['EHLO client.example', 'MAIL FROM:<nodomain>', 'RCPT TO:<a@localhost>', 'RSET', 'MAIL FROM:<>', 'RCPT TO:<a@localhost>', 'RCPT TO:<b@localhost>', 'DATA']],
  },
  {
    name: 'reject_unknown_client_hostname for a client XCLIENT names unknown',
    settings: { smtpd_authorized_xclient_hosts: '127.0.0.1', smtpd_client_restrictions: 'reject_unknown_client_hostname' },
    dialogues: [['EHLO client.example', 'XCLIENT NAME=[UNAVAILABLE] ADDR=192.0.2.7', 'EHLO client.example', 'MAIL FROM:<s@example.org>', 'RCPT TO:<a@localhost>']],
  },
  {
    name: 'reject_unknown_reverse_client_hostname for a client XCLIENT names unknown',
    settings: { smtpd_authorized_xclient_hosts: '127.0.0.1', smtpd_client_restrictions: 'reject_unknown_reverse_client_hostname' },
    dialogues: [
      ['EHLO client.example', 'XCLIENT NAME=[UNAVAILABLE] ADDR=192.0.2.7', 'EHLO client.example', 'MAIL FROM:<s@example.org>', 'RCPT TO:<a@localhost>'],
      ['EHLO client.example', 'XCLIENT NAME=[UNAVAILABLE] REVERSE_NAME=[UNAVAILABLE] ADDR=192.0.2.7', 'EHLO client.example', 'MAIL FROM:<s@example.org>', 'RCPT TO:<a@localhost>'],
    ],
  },
  {
    name: 'ETRN and smtpd_etrn_restrictions',
    settings: { smtpd_etrn_restrictions: `check_client_access texthash:${ACCESS}, reject_invalid_helo_hostname` },
    dialogues: [['ETRN example.com', 'EHLO client.example', 'ETRN', 'ETRN example.com', 'MAIL FROM:<s@example.org>', 'ETRN example.com', 'RSET', 'EHLO bad!name', 'ETRN example.com']],
  },
  {
    name: 'reject_unverified_sender and _recipient while the probe runs (address_verify_poll_count = 1)',
    settings: { ...VERIFY, address_verify_poll_count: '1', smtpd_sender_restrictions: 'reject_unverified_sender', smtpd_recipient_restrictions: 'reject_unauth_destination, reject_unverified_recipient' },
    dialogues: [['EHLO client.example', 'MAIL FROM:<s@gone.example>', 'RCPT TO:<a@dest.example>', 'RSET', 'MAIL FROM:<>', 'RCPT TO:<b@gone.example>']],
  },
  {
    name: 'reject_unverified_recipient with the probe result within the poll delay, unverified_recipient_reject_code = 550',
    settings: { ...VERIFY, unverified_recipient_reject_code: '550', smtpd_recipient_restrictions: 'reject_unauth_destination, reject_unverified_recipient' },
    dialogues: [['EHLO client.example', 'MAIL FROM:<s@example.org>', 'RCPT TO:<c@gone.example>', 'RCPT TO:<c@dest.example>']],
  },
  {
    name: 'unlisted sender and recipient, unknown_local_recipient_reject_code = 450, MAIL before HELO',
    settings: { local_recipient_maps: 'inline:{root=x}', unknown_local_recipient_reject_code: '450', smtpd_reject_unlisted_sender: 'yes' },
    dialogues: [['MAIL FROM:<s@example.org>', 'RCPT TO:<nobody@localhost>', 'RCPT TO:<root@localhost>', 'RSET', 'MAIL FROM:<nobody@localhost>', 'RCPT TO:<root@localhost>']],
  },
  {
    name: 'DNS lists: reject_rbl_client with reply filters (IPv4, IPv6), permit_dnswl_client (listed, failing, against relay control), rbl_reply_maps, a failing list',
    dns: true,
    settings: {
      smtpd_authorized_xclient_hosts: '127.0.0.1',
      smtpd_client_restrictions: 'permit_dnswl_client wl.test, reject_rbl_client bl.test=127.0.0.[2..11;14], reject_rbl_client bl2.test=127.0.0.[1..3]',
      rbl_reply_maps: `texthash:${RBL_REPLY}`,
    },
    // 192.0.2.13: the allow list fails, so a refusal is deferred (DEFER_IF_REJECT). One RCPT only: Postfix caches the failure
    // as "not listed" and so refuses a second RCPT outright, where Petrel keeps deferring as postconf(5) documents.
    dialogues: [7, 8, 14, 9, 10, 11]
      .map((n) => xclientDialogue(`NAME=host.example ADDR=192.0.2.${n}`))
      .concat([xclientDialogue('NAME=host.example ADDR=IPV6:2001:db8::1'), xclientDialogue('NAME=host.example ADDR=192.0.2.13').slice(0, -1)]),
  },
  {
    name: 'DNS lists: reject_rhsbl_helo, _sender, _client, _reverse_client, _recipient, permit_rhswl_client',
    dns: true,
    settings: {
      smtpd_authorized_xclient_hosts: '127.0.0.1',
      smtpd_client_restrictions: 'permit_rhswl_client wl.test, reject_rhsbl_client rhs.test, reject_rhsbl_reverse_client rhs.test',
      smtpd_helo_restrictions: 'reject_rhsbl_helo rhs.test',
      smtpd_sender_restrictions: 'reject_rhsbl_sender rhs.test',
      smtpd_recipient_restrictions: 'reject_rhsbl_recipient rhs.test',
    },
    dialogues: [
      xclientDialogue('NAME=host.example REVERSE_NAME=host.example ADDR=192.0.2.20', 'badhelo.example'),
      xclientDialogue('NAME=host.example REVERSE_NAME=host.example ADDR=192.0.2.20', 'client.example', 'x@badsender.example'),
      xclientDialogue('NAME=badclient.example REVERSE_NAME=host.example ADDR=192.0.2.20'),
      xclientDialogue('NAME=host.example REVERSE_NAME=badreverse.example ADDR=192.0.2.20'),
      xclientDialogue('NAME=goodclient.example REVERSE_NAME=badreverse.example ADDR=192.0.2.20'),
      [...xclientDialogue('NAME=host.example REVERSE_NAME=host.example ADDR=192.0.2.20').slice(0, -1), 'RCPT TO:<u@badrcpt.example>', 'RSET', 'MAIL FROM:<>', 'RCPT TO:<a@localhost>'],
    ],
  },
  {
    name: 'DNS lists: a customised default_rbl_reply and maps_rbl_reject_code',
    dns: true,
    settings: {
      smtpd_authorized_xclient_hosts: '127.0.0.1',
      smtpd_sender_restrictions: 'reject_rbl_client bl.test',
      maps_rbl_reject_code: '550',
      default_rbl_reply: '$rbl_code 4.7.2 Go away $client ($rbl_class $rbl_what in $rbl_domain${rbl_reason?: $rbl_reason}) helo=$helo_name from $sender_name at $sender_domain to $recipient',
    },
    dialogues: [xclientDialogue('NAME=host.example ADDR=192.0.2.7'), xclientDialogue('NAME=host.example ADDR=192.0.2.10')],
  },
];

for (const c of CASES) {
  test(`same replies as Postfix 3.7: ${c.name}`, { skip }, async () => {
    if (c.dns === true) await serveDnsLists();
    const petrel = await TestInstance.create('', 'postmaster: root\n', { ...COMMON, mail_owner: userInfo().username, ...c.settings, ...(c.dns === true ? { dns_servers: `${DNS_HOST}:53` } : {}) });
    petrel.start();
    const postfix = await startPostfix(c.settings, c.dns);
    try {
      for (const dialogue of c.dialogues) {
        const theirs = await replies(postfix.port, dialogue, c.dns);
        const ours = await replies(petrel.port, dialogue, c.dns);
        assert.deepEqual(ours, theirs, `${c.name}\n${petrel.logText()}`);
      }
    } finally {
      postfix.stop();
      petrel.remove();
    }
  });
}

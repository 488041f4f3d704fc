/*
 * smtpd-restrictions-postfix - the same restriction configurations given
 * to Debian's Postfix 3.7 and to Petrel: every reply code and enhanced
 * status code of the same SMTP dialogues must be the same. Postfix runs as
 * its own instance ("postfix -c DIR start" with its own queue and data
 * directories, on a loopback port, stopped after each case); the system's
 * /etc/postfix is never touched. Needs root (Postfix's master) and the
 * postfix package.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { needFile, needRoot } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';

const POSTFIX = '/usr/sbin/postfix';
const skip = needFile(POSTFIX, 'the reference implementation') || needRoot("Postfix's master starts as root");
const shared = mkdtempSync(join(tmpdir(), 'petrel-rstr-cmp-'));
chmodSync(shared, 0o755);
after(() => rmSync(shared, { recursive: true, force: true }));

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

/** Runs dialogue on port: the code and enhanced code of each reply after the greeting (the code alone for EHLO). */
async function replies(port: number, dialogue: readonly string[]): Promise<string[]> {
  const { client, greeting } = await SmtpClient.open(port);
  const out = [greeting.slice(0, 3)];
  for (const line of dialogue) {
    const reply = await client.command(line);
    out.push(`${line.split(/[ :]/)[0] as string} ${/^EHLO/i.test(line) ? reply.slice(0, 3) : reply.slice(0, 9).trim()}`);
  }
  await client.quit();
  return out;
}

/** Starts Debian's Postfix with settings on a free port; returns the port and a stop function. */
async function startPostfix(settings: Readonly<Record<string, string>>): Promise<{ port: number; stop: () => void }> {
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
  const started = spawnSync(POSTFIX, ['-c', etc, 'start'], { encoding: 'utf8' });
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
}

const ACCESS = join(shared, 'access');
writeFileSync(
  ACCESS,
  ['reject@localhost REJECT go away', 'defer@localhost DEFER', 'nnn@localhost 550 custom', 'odd@localhost 451 5.1.1 odd', 'dip@localhost DEFER_IF_PERMIT dip', 'class@localhost strict_class', 'ok@localhost OK', 'localhost REJECT parent', 's@bad.example REJECT', ''].join('\n'),
);

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
];

for (const c of CASES) {
  test(`same replies as Postfix 3.7: ${c.name}`, { skip }, async () => {
    const petrel = await TestInstance.create('', 'postmaster: root\n', { ...COMMON, mail_owner: userInfo().username, ...c.settings });
    petrel.start();
    const postfix = await startPostfix(c.settings);
    try {
      for (const dialogue of c.dialogues) {
        const theirs = await replies(postfix.port, dialogue);
        const ours = await replies(petrel.port, dialogue);
        assert.deepEqual(ours, theirs, `${c.name}\n${petrel.logText()}`);
      }
    } finally {
      postfix.stop();
      petrel.remove();
    }
  });
}

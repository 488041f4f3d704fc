/*
 * The virtual delivery agent end to end: a real instance, started as root,
 * takes mail over SMTP for virtual mailbox domains and writes it into
 * Maildir and mbox folders below virtual_mailbox_base as the uid and gid
 * of virtual_uid_maps / virtual_gid_maps (a test system user), creating the
 * folders on first delivery; the @domain catch-all and virtual aliases
 * reach their mailboxes; smtpd refuses unknown users of virtual mailbox,
 * virtual alias and relay domains at RCPT, and answers 451 4.3.0 when a
 * table cannot be reached; a Maildir over its quota defers, or bounces
 * where virtual_overquota_bounce says so, and is delivered once maildirsize
 * shows room again.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { findAccount, type Account } from '../../src/global/accounts.js';
import { freePort, TestInstance } from '../support/instance.js';
import { needRoot } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';

const skip = needRoot('the virtual agent writes mailboxes as the uid and gid its tables give');
const VMAIL = 'ptvmail';
let mx: TestInstance;
let vmail: Account;
let base: string;
let downPort: number;

before(async () => {
  if (skip !== false) return;
  if (findAccount(VMAIL) === undefined) execFileSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', VMAIL]);
  vmail = findAccount(VMAIL) as Account;
  mx = await TestInstance.create('', 'postmaster: root\n');
  const etc = mx.etc;
  base = join(mx.root, 'vmail');
  mkdirSync(base);
  chownSync(base, vmail.uid, vmail.gid);
  chmodSync(mx.root, 0o755);
  writeFileSync(
    join(etc, 'vmailbox'),
    [
      'alice@vmail.example vmail.example/alice/',
      'bob@vmail.example vmail.example/bob',
      'small@vmail.example vmail.example/small/',
      'tiny@vmail.example vmail.example/tiny/',
      '@catch.example catch.example/all/',
      '',
    ].join('\n'),
  );
  writeFileSync(join(etc, 'valias'), ['info@vmail.example alice@vmail.example', 'sales@alias.example bob@vmail.example', ''].join('\n'));
  writeFileSync(join(etc, 'relayrcpt'), ['known@relay.example x', ''].join('\n'));
  writeFileSync(join(etc, 'vlimits'), ['small@vmail.example 2500', 'tiny@vmail.example 2500', ''].join('\n'));
  writeFileSync(join(etc, 'transport'), ['tiny@vmail.example strict:', ''].join('\n'));
  const settings = {
    virtual_mailbox_domains: 'vmail.example, catch.example',
    virtual_mailbox_maps: `texthash:${join(etc, 'vmailbox')}`,
    virtual_alias_domains: 'alias.example',
    virtual_alias_maps: `texthash:${join(etc, 'valias')}`,
    virtual_mailbox_base: base,
    virtual_uid_maps: `static:${vmail.uid}`,
    virtual_gid_maps: `static:${vmail.gid}`,
    virtual_maildir_extended: 'yes',
    virtual_mailbox_limit_maps: `texthash:${join(etc, 'vlimits')}`,
    relay_domains: 'relay.example',
    relay_recipient_maps: `texthash:${join(etc, 'relayrcpt')}`,
    transport_maps: `texthash:${join(etc, 'transport')}`,
  };
  appendFileSync(join(etc, 'main.cf'), Object.entries(settings).map(([name, value]) => `${name} = ${value}\n`).join(''));
  downPort = await freePort();
  appendFileSync(
    join(etc, 'master.cf'),
    [
      'virtual unix - n n - - virtual',
      'strict unix - n n - - virtual',
      '  -o virtual_overquota_bounce=yes',
      `127.0.0.1:${downPort} inet n - n - - smtpd`,
      '  -o virtual_mailbox_maps=fail:down',
      '',
    ].join('\n'),
  );
  const check = mx.run('petrel', ['check']);
  assert.equal(check.status, 0, check.stderr);
  mx.start();
});

after(() => {
  if (skip !== false) return;
  mx.remove();
  spawnSync('userdel', [VMAIL]);
});

/** The files of a Maildir's new/ below the base. */
function maildir(path: string): string[] {
  const dir = join(base, path, 'new');
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
}

test('Maildir, mbox, catch-all and alias recipients are delivered below virtual_mailbox_base as the virtual uid and gid', { skip }, async () => {
  const id = await mx.submit('sender@example.org', ['alice@vmail.example', 'bob@vmail.example', 'Someone@catch.example', 'info@vmail.example', 'sales@alias.example'], 'Subject: virtual\n\nhello virtual\n');
  for (const rcpt of ['alice@vmail.example', 'bob@vmail.example', 'someone@catch.example']) {
    await mx.waitForLog(new RegExp(`${id}: to=<${rcpt}>, (orig_to=<[^>]+>, )?relay=virtual, .*status=sent \\(delivered to (maildir|mailbox)\\)`, 'i'));
  }
  await mx.waitForLog(new RegExp(`${id}: to=<alice@vmail.example>, orig_to=<info@vmail.example>, relay=virtual, .*status=sent \\(delivered to maildir\\)`));
  await mx.waitForLog(new RegExp(`${id}: to=<bob@vmail.example>, orig_to=<sales@alias.example>, relay=virtual, .*status=sent \\(delivered to mailbox\\)`));
  const alice = maildir('vmail.example/alice');
  assert.equal(alice.length, 2, 'alice and info (an alias of alice) each get a copy');
  const texts = alice.map((path) => readFileSync(path, 'utf8'));
  for (const text of texts) {
    assert.match(text, /^Return-Path: <sender@example.org>\nDelivered-To: alice@vmail.example\nX-Original-To: (alice|info)@vmail.example\n/);
    assert.match(text, /hello virtual/);
  }
  for (const path of [...alice, join(base, 'vmail.example'), join(base, 'vmail.example/alice'), join(base, 'vmail.example/alice/new'), join(base, 'vmail.example/bob')]) {
    const st = statSync(path);
    assert.deepEqual([st.uid, st.gid], [vmail.uid, vmail.gid], path);
  }
  const mbox = readFileSync(join(base, 'vmail.example/bob'), 'utf8');
  assert.match(mbox, /^From sender@example\.org {2}\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nReturn-Path: <sender@example.org>\nDelivered-To: bob@vmail.example\nX-Original-To: bob@vmail.example\n/);
  assert.equal(mbox.match(/^From /gm)?.length, 2, 'bob and sales (an alias of bob)');
  const caught = maildir('catch.example/all');
  assert.equal(caught.length, 1);
  assert.match(readFileSync(caught[0] as string, 'utf8'), /Delivered-To: Someone@catch.example/i);
  assert.equal(statSync(caught[0] as string).uid, vmail.uid);
});

test('unknown users of virtual mailbox, virtual alias and relay domains are refused at RCPT with 550 5.1.1', { skip }, async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<sender@example.org>');
  assert.equal(await client.command('RCPT TO:<nobody@vmail.example>'), '550 5.1.1 <nobody@vmail.example>: Recipient address rejected: User unknown in virtual mailbox table');
  assert.equal(await client.command('RCPT TO:<nobody@alias.example>'), '550 5.1.1 <nobody@alias.example>: Recipient address rejected: User unknown in virtual alias table');
  assert.equal(await client.command('RCPT TO:<nobody@relay.example>'), '550 5.1.1 <nobody@relay.example>: Recipient address rejected: User unknown in relay recipient table');
  assert.match(await client.command('RCPT TO:<alice@vmail.example>'), /^250 /);
  assert.match(await client.command('RCPT TO:<anyone@catch.example>'), /^250 /);
  assert.match(await client.command('RCPT TO:<known@relay.example>'), /^250 /);
  await client.command('RSET');
  await client.quit();
  await mx.waitForLog(/NOQUEUE: reject: RCPT from \S+: 550 5\.1\.1 <nobody@vmail\.example>: Recipient address rejected: User unknown in virtual mailbox table; from=<sender@example\.org> to=<nobody@vmail\.example> proto=ESMTP helo=<client\.example>/);
});

test('a virtual_mailbox_maps that cannot be reached gives 451 4.3.0 at RCPT, never "unknown"', { skip }, async () => {
  const { client } = await SmtpClient.open(downPort);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<sender@example.org>');
  assert.equal(await client.command('RCPT TO:<alice@vmail.example>'), '451 4.3.0 <alice@vmail.example>: Temporary lookup failure');
  await client.quit();
});

test('a Maildir over its quota (virtual_mailbox_limit_maps, maildirsize) defers with virtual_maildir_limit_message, or bounces with virtual_overquota_bounce', { skip }, async () => {
  const body = `Subject: big\n\n${'0123456789'.repeat(150)}\n`;
  const first = await mx.submit('sender@example.org', ['small@vmail.example', 'tiny@vmail.example'], body);
  await mx.waitForLog(new RegExp(`${first}: to=<small@vmail.example>, relay=virtual, .*status=sent`));
  await mx.waitForLog(new RegExp(`${first}: to=<tiny@vmail.example>, relay=strict, .*status=sent`));
  const size = Number(/,S=(\d+)$/.exec(maildir('vmail.example/small')[0] as string)?.[1]);
  assert.ok(size > 1500 && size < 2500, String(size));
  assert.equal(readFileSync(join(base, 'vmail.example/small/maildirsize'), 'utf8'), `2500S\n0 0\n${size} 1\n`);
  assert.equal(statSync(join(base, 'vmail.example/small/maildirsize')).uid, vmail.uid);
  const second = await mx.submit('sender@example.org', ['small@vmail.example', 'tiny@vmail.example'], body);
  await mx.waitForLog(new RegExp(`${second}: to=<small@vmail.example>, relay=virtual, .*dsn=4\\.2\\.2, status=deferred \\(Sorry, the user's maildir has overdrawn his diskspace quota, please try again later\\.\\)`));
  await mx.waitForLog(new RegExp(`${second}: to=<tiny@vmail.example>, relay=strict, .*dsn=5\\.2\\.2, status=bounced \\(Sorry, the user's maildir has overdrawn`));
  assert.equal(maildir('vmail.example/small').length, 1);
  assert.equal(maildir('vmail.example/tiny').length, 1);
  assert.deepEqual(readdirSync(join(base, 'vmail.example/small/tmp')), [], 'the refused message left nothing behind');
  // A mail reader removes the first message and records it in maildirsize, as Dovecot does on expunge: the deferred mail now fits.
  const [old] = maildir('vmail.example/small');
  unlinkSync(old as string);
  appendFileSync(join(base, 'vmail.example/small/maildirsize'), `-${size} -1\n`);
  await mx.waitForLog(new RegExp(`${second}: to=<small@vmail.example>, relay=virtual, .*status=sent \\(delivered to maildir\\)`));
  assert.equal(readFileSync(join(base, 'vmail.example/small/maildirsize'), 'utf8'), `2500S\n0 0\n${size} 1\n-${size} -1\n${size} 1\n`);
});

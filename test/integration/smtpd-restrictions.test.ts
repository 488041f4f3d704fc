/*
 * smtpd-restrictions - the restriction engine against the real daemon:
 * access(5) actions in check_recipient_access (REJECT, DEFER, NNN text,
 * DEFER_IF_PERMIT, WARN, a restriction class, and the message actions
 * HOLD, DISCARD, REDIRECT, BCC, PREPEND, FILTER carried through cleanup and
 * qmgr), the HELO and sender checks, smtpd_delay_reject = no,
 * smtpd_helo_required, smtpd_reject_unlisted_sender and a 450
 * unknown_local_recipient_reject_code, with Postfix's replies and log lines,
 * which fail2ban's postfix filter must match.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { needFile } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';
import { waitFor } from '../support/wait.js';

const FAIL2BAN_REGEX = '/usr/bin/fail2ban-regex';
let mx: TestInstance;
let strict: TestInstance;

before(async () => {
  mx = await TestInstance.create('', 'postmaster: root\n', {
    mynetworks: '127.0.0.2/32',
    smtpd_restriction_classes: 'strict_class',
    strict_class: 'reject_non_fqdn_sender, reject',
    smtpd_helo_restrictions: 'reject_invalid_helo_hostname',
    smtpd_sender_restrictions: 'reject_non_fqdn_sender',
    smtpd_recipient_restrictions: 'check_recipient_access texthash:$config_directory/rcpt_access, permit_mynetworks, reject_unauth_destination',
  });
  writeFileSync(
    join(mx.etc, 'rcpt_access'),
    [
      'reject@localhost REJECT go away',
      'defer@localhost DEFER later',
      'nnn@localhost 550 5.7.9 custom',
      'class@localhost strict_class',
      'dip@localhost DEFER_IF_PERMIT dip',
      'warn@localhost WARN looked at',
      'hold@localhost HOLD',
      'discard@localhost DISCARD',
      'redirect@localhost REDIRECT root@localhost',
      'bcc@localhost BCC archive@localhost',
      'prepend@localhost PREPEND X-Tag: tagged',
      'filter@localhost FILTER discard:filtered',
      'bye@localhost 421 4.7.0 go away now',
      '',
    ].join('\n'),
  );
  appendFileSync(join(mx.etc, 'master.cf'), 'discard unix - - n - - discard\n');
  mx.start();
  strict = await TestInstance.create('', 'postmaster: root\n', {
    local_recipient_maps: 'inline:{root=x}',
    unknown_local_recipient_reject_code: '450',
    smtpd_reject_unlisted_sender: 'yes',
    smtpd_helo_required: 'yes',
    smtpd_delay_reject: 'no',
    smtpd_helo_restrictions: 'reject_non_fqdn_helo_hostname',
  });
  strict.start();
});

after(() => {
  mx?.remove();
  strict?.remove();
});

test('access actions that answer RCPT: REJECT, DEFER, NNN text, a class, DEFER_IF_PERMIT, WARN; HELO and relay checks', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO bad!name');
  await client.command('MAIL FROM:<s@example.org>');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '501 5.5.2 <bad!name>: Helo command rejected: Invalid name');
  await client.command('RSET');
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<s@example.org>');
  assert.equal(await client.command('RCPT TO:<reject@localhost>'), '554 5.7.1 <reject@localhost>: Recipient address rejected: go away');
  assert.equal(await client.command('RCPT TO:<defer@localhost>'), '450 4.7.1 <defer@localhost>: Recipient address rejected: later');
  assert.equal(await client.command('RCPT TO:<nnn@localhost>'), '550 5.7.9 <nnn@localhost>: Recipient address rejected: custom');
  assert.equal(await client.command('RCPT TO:<class@localhost>'), '554 5.7.1 <class@localhost>: Recipient address rejected: Access denied');
  assert.equal(await client.command('RCPT TO:<dip@localhost>'), '450 4.7.1 <dip@localhost>: Recipient address rejected: dip');
  // The default smtpd_relay_restrictions end in defer_unauth_destination.
  assert.equal(await client.command('RCPT TO:<someone@far.example>'), '454 4.7.1 <someone@far.example>: Relay access denied');
  assert.match(await client.command('RCPT TO:<warn@localhost>'), /^250 2\.1\.5 /);
  await client.command('RSET');
  await client.command('MAIL FROM:<nodomain>');
  assert.equal(await client.command('RCPT TO:<root@localhost>'), '504 5.5.2 <nodomain>: Sender address rejected: need fully-qualified address');
  await client.quit();
  const log = await mx.waitForLog(/warn: RCPT from localhost\[127\.0\.0\.1\]: looked at; from=<s@example\.org> to=<warn@localhost> proto=ESMTP helo=<client\.example>/);
  assert.match(log, /NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 454 4\.7\.1 <someone@far\.example>: Relay access denied; from=<s@example\.org> to=<someone@far\.example> proto=ESMTP helo=<client\.example>/);
  assert.match(log, /reject: RCPT from localhost\[127\.0\.0\.1\]: 501 5\.5\.2 <bad!name>: Helo command rejected: Invalid name; from=<s@example\.org> to=<root@localhost> proto=ESMTP helo=<bad!name>/);
});

test('an access table answer of 421 refuses and disconnects, as in Postfix', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<s@example.org>');
  assert.equal(await client.command('RCPT TO:<bye@localhost>'), '421 4.7.0 <bye@localhost>: Recipient address rejected: go away now');
  await waitFor(() => client.isClosed, 'smtpd to close the connection after 421');
  await mx.waitForLog(/NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 421 4\.7\.0 <bye@localhost>: Recipient address rejected: go away now; from=<s@example\.org> to=<bye@localhost> proto=ESMTP helo=<client\.example>/);
  await mx.waitForLog(/disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=0\/1 commands=2\/3/);
});

test('message actions: HOLD keeps the message in hold/, DISCARD drops it, REDIRECT, BCC, PREPEND and FILTER take effect', async () => {
  const held = await mx.submit('s@example.org', ['hold@localhost'], 'Subject: held\n\nx\n');
  await mx.waitForLog(/hold: RCPT from localhost\[127\.0\.0\.1\]: <hold@localhost>: Recipient address triggers HOLD action; from=<s@example\.org> to=<hold@localhost>/);
  assert.deepEqual(mx.queued('hold'), [held]);
  await mx.submit('s@example.org', ['discard@localhost', 'root@localhost'], 'Subject: dropped\n\nx\n');
  await mx.waitForLog(/discard: RCPT from localhost\[127\.0\.0\.1\]: <discard@localhost>: Recipient address triggers DISCARD action/);
  await mx.submit('s@example.org', ['redirect@localhost'], 'Subject: redirected\n\nx\n');
  await mx.waitForLog(/to=<root@localhost>, orig_to=<redirect@localhost>, .*status=sent/);
  await mx.submit('s@example.org', ['bcc@localhost'], 'Subject: copied\n\nx\n');
  await mx.waitForLog(/to=<archive@localhost>.*status=sent/);
  await mx.submit('s@example.org', ['prepend@localhost'], 'Subject: tagged\n\nx\n');
  await mx.waitForLog(/to=<prepend@localhost>.*status=sent/);
  await mx.submit('s@example.org', ['filter@localhost'], 'Subject: filtered\n\nx\n');
  await mx.waitForLog(/to=<filter@localhost>, relay=none, .*status=sent \(discarded: filtered\)/);
  assert.match(mx.logText(), /filter: RCPT from localhost\[127\.0\.0\.1\]: <filter@localhost>: Recipient address triggers FILTER discard:filtered/);
  assert.equal(mx.maildir('hold').length, 0);
  assert.equal(mx.maildir('discard').length, 0);
  assert.equal(mx.maildir('filter').length, 0);
  assert.equal(mx.maildir('redirect').length, 0);
  assert.match(mx.maildir('root').join('\n'), /Subject: redirected/);
  assert.doesNotMatch(mx.maildir('root').join('\n'), /Subject: dropped/);
  assert.match(mx.maildir('archive').join('\n'), /Subject: copied/);
  assert.match(mx.maildir('prepend')[0] ?? '', /\nX-Tag: tagged\nReceived: from client\.example/);
  // postsuper -H releases the held message, which is then delivered.
  assert.equal(mx.run('postsuper', ['-H', held]).status, 0);
  await mx.waitForLog(new RegExp(`${held}: to=<hold@localhost>.*status=sent`));
});

test('smtpd_delay_reject = no, smtpd_helo_required, smtpd_reject_unlisted_sender, unknown_local_recipient_reject_code = 450 (for senders too)', async () => {
  const { client } = await SmtpClient.open(strict.port);
  assert.equal(await client.command('MAIL FROM:<s@example.org>'), '503 5.5.1 Error: send HELO/EHLO first');
  assert.equal(await client.command('HELO x'), '504 5.5.2 <x>: Helo command rejected: need fully-qualified hostname');
  assert.match(await client.command('HELO client.example'), /^250 /);
  assert.equal(await client.command('MAIL FROM:<nobody@localhost>'), '450 4.1.0 <nobody@localhost>: Sender address rejected: User unknown in local recipient table');
  assert.match(await client.command('MAIL FROM:<s@example.org>'), /^250 2\.1\.0 /);
  assert.equal(await client.command('RCPT TO:<nobody@localhost>'), '450 4.1.1 <nobody@localhost>: Recipient address rejected: User unknown in local recipient table');
  await client.quit();
  const log = await strict.waitForLog(/NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 450 4\.1\.1 /);
  assert.match(log, /NOQUEUE: reject: HELO from localhost\[127\.0\.0\.1\]: 504 5\.5\.2 <x>: Helo command rejected: need fully-qualified hostname; proto=SMTP helo=<x>/);
  assert.match(log, /NOQUEUE: reject: MAIL from localhost\[127\.0\.0\.1\]: 450 4\.1\.0 <nobody@localhost>: Sender address rejected: User unknown in local recipient table; from=<nobody@localhost> proto=SMTP helo=<client\.example>/);
  // Without smtpd_helo_required, MAIL before HELO is accepted, as in Postfix.
  const plain = await SmtpClient.open(mx.port);
  assert.match(await plain.client.command('MAIL FROM:<s@example.org>'), /^250 2\.1\.0 /);
  await plain.client.quit();
});

test("fail2ban's postfix filter matches the reject lines (modes normal, more, aggressive)", { skip: needFile(FAIL2BAN_REGEX, "fail2ban's postfix filter reads the log") }, async () => {
  const lines = [...mx.logText().split('\n'), ...strict.logText().split('\n')].filter((l) => /: reject: (RCPT|HELO) from .*: (454 4\.7\.1 <[^>]*>: Relay access denied|504 5\.5\.2 <[^>]*>: Helo command rejected: need fully-qualified hostname)/.test(l));
  assert.equal(lines.length, 2);
  const file = join(mx.root, 'reject.log');
  writeFileSync(file, `${lines.join('\n')}\n`);
  for (const mode of ['normal', 'more', 'aggressive']) {
    const result = spawnSync(FAIL2BAN_REGEX, [file, `postfix[mode=${mode}]`], { encoding: 'utf8' });
    assert.match(result.stdout, new RegExp(`Lines: ${lines.length} lines, 0 ignored, ${lines.length} matched`), `${mode}: ${result.stdout}`);
  }
});

test('an unknown restriction stops smtpd at start-up; once main.cf is fixed, "petrel reload" lifts the throttle at once', async () => {
  const broken = await TestInstance.create('', 'postmaster: root\n', { service_throttle_time: '300s', smtpd_recipient_restrictions: 'check_weather_access static:DUNNO, permit' });
  try {
    broken.start();
    await broken.waitForLog(/smtpd_recipient_restrictions: unknown restriction "check_weather_access"/);
    await broken.waitForLog(/bad command startup -- throttling/);
    assert.equal(broken.run('postconf', ['-e', 'smtpd_recipient_restrictions = permit_mynetworks, reject']).status, 0);
    assert.equal(broken.run('petrel', ['reload']).status, 0);
    const deadline = Date.now() + 20_000;
    let greeting = '';
    while (!greeting.startsWith('220') && Date.now() < deadline) {
      const opened = await SmtpClient.open(broken.port).catch(() => undefined);
      greeting = opened?.greeting ?? '';
      await opened?.client.quit();
      if (!greeting.startsWith('220')) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.match(greeting, /^220 /);
  } finally {
    broken.remove();
  }
});

test('a relay policy that stops nobody is refused at start-up, as Postfix refuses it: never an open relay', async () => {
  const open = await TestInstance.create('', 'postmaster: root\n', { smtpd_relay_restrictions: 'permit_mynetworks', smtpd_recipient_restrictions: 'permit' });
  try {
    open.start();
    await open.waitForLog(/smtpd\[\d+\]: fatal: in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains/);
    await open.waitForLog(/bad command startup -- throttling/);
    const opened = await SmtpClient.open(open.port).catch((err: Error) => err);
    assert.ok(opened instanceof Error || !opened.greeting.startsWith('220'), 'no SMTP service runs with that policy');
    if (!(opened instanceof Error)) await opened.client.quit().catch(() => undefined);
  } finally {
    open.remove();
  }
});

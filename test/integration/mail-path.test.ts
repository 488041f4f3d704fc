import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';

let mx: TestInstance;

before(async () => {
  mx = await TestInstance.create('', '', { mynetworks: '127.0.0.2/32', local_recipient_maps: '$alias_maps' });
  const fileTarget = join(mx.root, 'archive.mbox');
  const commandTarget = join(mx.root, 'command-output');
  writeFileSync(
    join(mx.etc, 'aliases'),
    [
      'postmaster: alice',
      'alice: alice',
      'bob: bob',
      `team: alice, bob, ${fileTarget}, "|cat > ${commandTarget}; echo $RECIPIENT >> ${commandTarget}"`,
      'loop: loop2@localhost',
      'loop2: loop@localhost',
      '',
    ].join('\n'),
  );
  assert.equal(mx.run('newaliases', []).status, 0);
  mx.start();
});

after(() => mx.remove());

test('SMTP to a local user lands in the Maildir with the delivery headers, with Postfix\'s log lines', async () => {
  const { client, greeting } = await SmtpClient.open(mx.port);
  assert.equal(greeting, '220 mx.test.example ESMTP Petrel');
  const ehlo = await client.command('EHLO client.example');
  for (const ext of ['PIPELINING', 'SIZE 10240000', 'ENHANCEDSTATUSCODES', '8BITMIME', 'SMTPUTF8', 'DSN']) assert.match(ehlo, new RegExp(`250[- ]${ext}`));
  const reply = await client.send('sender@example.org', ['Alice@localhost'], 'Subject: hello\n\nfirst line\n.leading dot\n');
  const id = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)$/.exec(reply)?.[1];
  assert.ok(id, reply);
  await client.quit();
  const log = await mx.waitForLog(new RegExp(`${id}: removed`));
  assert.match(log, /postfix\/smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]/);
  assert.match(log, new RegExp(`postfix/smtpd\\[\\d+\\]: ${id}: client=localhost\\[127\\.0\\.0\\.1\\]`));
  assert.match(log, new RegExp(`postfix/qmgr\\[\\d+\\]: ${id}: from=<sender@example\\.org>, size=\\d+, nrcpt=1 \\(queue active\\)`));
  assert.match(log, new RegExp(`postfix/local\\[\\d+\\]: ${id}: to=<Alice@localhost>, relay=local, delay=[\\d.]+, delays=[\\d.]+/[\\d.]+/[\\d.]+/[\\d.]+, dsn=2\\.0\\.0, status=sent \\(delivered to maildir\\)`));
  assert.match(log, /disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5/);
  const [message] = mx.maildir('alice');
  assert.ok(message);
  assert.match(message, /^Return-Path: <sender@example\.org>\nDelivered-To: Alice@localhost\nX-Original-To: Alice@localhost\nReceived: from client\.example \(localhost \[127\.0\.0\.1\]\)\n\tby mx\.test\.example \(Petrel\) with ESMTP id [0-9A-Z]+\n\tfor <Alice@localhost>;/);
  assert.match(message, /\n\nfirst line\n\.leading dot\n$/);
  assert.doesNotMatch(message, /\r/);
});

test('relaying is refused to clients outside mynetworks; unknown local users are refused at RCPT', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.equal(await client.command('MAIL FROM:<a@example.org>'), '250 2.1.0 Ok');
  assert.equal(await client.command('RCPT TO:<victim@elsewhere.example>'), '454 4.7.1 <victim@elsewhere.example>: Relay access denied');
  assert.equal(await client.command('RCPT TO:<nobody@localhost>'), '550 5.1.1 <nobody@localhost>: Recipient address rejected: User unknown in local recipient table');
  await client.quit();
  const log = await mx.waitForLog(/NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 550/);
  assert.match(log, /NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 454 4\.7\.1 <victim@elsewhere\.example>: Relay access denied; from=<a@example\.org> to=<victim@elsewhere\.example> proto=ESMTP helo=<client\.example>/);
});

test('an alias fans out to users, a file and a command; a forwarding loop bounces', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.match(await client.send('sender@example.org', ['team@localhost'], 'Subject: team\n\nto the team\n'), /^250 2\.0\.0 Ok/);
  assert.match(await client.send('sender@example.org', ['loop@localhost'], 'Subject: loop\n\nround and round\n'), /^250 2\.0\.0 Ok/);
  await client.quit();
  await mx.waitForLog(/to=<bob@mx\.test\.example>, orig_to=<team@localhost>, relay=local, .*status=sent \(delivered to maildir\)/);
  const log = await mx.waitForLog(/mail forwarding loop for loop[2]?@localhost/);
  assert.match(log, /to=<team@localhost>, relay=local, .*status=sent/);
  assert.ok(mx.maildir('alice').some((m) => m.includes('to the team')));
  assert.ok(mx.maildir('bob').some((m) => m.includes('to the team')));
  const archive = readFileSync(join(mx.root, 'archive.mbox'), 'utf8');
  assert.match(archive, /^From sender@example\.org  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nReturn-Path: <sender@example\.org>\nDelivered-To: team@localhost\n/);
  const output = readFileSync(join(mx.root, 'command-output'), 'utf8');
  assert.match(output, /to the team\nteam@localhost\n$/);
  await mx.waitForLog(/sender non-delivery notification: /);
});

test('a garbage file in incoming goes to corrupt with a log line; the system keeps working', async () => {
  writeFileSync(join(mx.queue, 'incoming', '0ZZZZZZZZ0000000'), 'this is not a queue file\n');
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const reply = await client.send('sender@example.org', ['bob@localhost'], 'Subject: after\n\nstill working\n');
  assert.match(reply, /^250 2\.0\.0 Ok/);
  await client.quit();
  await mx.waitForLog(/0ZZZZZZZZ0000000: .*moved to corrupt/);
  assert.deepEqual(mx.queued('corrupt'), ['0ZZZZZZZZ0000000']);
  await mx.waitForLog(/to=<bob@localhost>.*status=sent/);
  assert.ok(mx.maildir('bob').some((m) => m.includes('still working')));
});

test('a Maildir removed while Petrel runs is made again and the next delivery goes through at once', async () => {
  const first = await mx.submit('sender@example.org', ['bob@localhost'], 'Subject: before\n\nbefore removal\n');
  await mx.waitForLog(new RegExp(`${first}: removed`));
  rmSync(join(mx.mail, 'bob'), { recursive: true });
  const second = await mx.submit('sender@example.org', ['bob@localhost'], 'Subject: after\n\nafter removal\n');
  const log = await mx.waitForLog(new RegExp(`${second}: (removed|to=<bob@localhost>.*status=deferred)`));
  assert.doesNotMatch(log, new RegExp(`${second}: to=<bob@localhost>.*status=deferred`));
  assert.match(log, new RegExp(`${second}: to=<bob@localhost>, relay=local, .*status=sent \\(delivered to maildir\\)`));
  assert.deepEqual(mx.maildir('bob').map((m) => /Subject: (\w+)/.exec(m)?.[1]), ['after']);
});

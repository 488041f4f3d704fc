import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';

const instances: TestInstance[] = [];
after(() => {
  for (const instance of instances) instance.remove();
});

test('smtpd_recipient_limit, always_bcc and masquerade_domains', async () => {
  const mx = await TestInstance.create('', 'postmaster: root\n', {
    smtpd_recipient_limit: '2',
    always_bcc: 'archive@localhost',
    masquerade_domains: 'test.example',
    masquerade_exceptions: 'root',
  });
  instances.push(mx);
  mx.start();
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<s@mx.test.example>');
  assert.match(await client.command('RCPT TO:<a@localhost>'), /^250 /);
  assert.match(await client.command('RCPT TO:<b@localhost>'), /^250 /);
  assert.equal(await client.command('RCPT TO:<c@localhost>'), '452 4.5.3 Error: too many recipients');
  assert.match(await client.command('DATA'), /^354 /);
  assert.match(await client.command('From: S <s@mx.test.example>\r\nCc: root@mx.test.example, c@other.example\r\nSubject: limits\r\n\r\nbody s@mx.test.example\r\n.'), /^250 2\.0\.0 Ok/);
  await client.quit();
  for (const user of ['a', 'b', 'archive']) await mx.waitForLog(new RegExp(`to=<${user}@localhost>, .*status=sent`));
  assert.equal(mx.maildir('c').length, 0);
  assert.match(mx.logText(), /from=<s@test\.example>, size=/);
  const [message] = mx.maildir('a');
  assert.match(message ?? '', /^Return-Path: <s@test\.example>\n/);
  assert.match(message ?? '', /\nFrom: S <s@test\.example>\nCc: root@mx\.test\.example, c@other\.example\n/);
  assert.match(message ?? '', /\n\nbody s@mx\.test\.example\n$/);
});

test('client restrictions are applied at RCPT TO; an unsupported lock method stops local with a clear log line', async () => {
  const mx = await TestInstance.create('', 'postmaster: root\n', {
    mynetworks: '127.0.0.2/32',
    smtpd_client_restrictions: 'permit_mynetworks, reject',
    mailbox_delivery_lock: 'fcntl, dotlock',
  });
  instances.push(mx);
  mx.start();
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<s@example.org>');
  assert.equal(await client.command('RCPT TO:<a@localhost>'), '554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied');
  await client.quit();
  await mx.waitForLog(/NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 554 5\.7\.1 <localhost\[127\.0\.0\.1\]>: Client host rejected: Access denied; from=<s@example\.org> to=<a@localhost>/);
  assert.match(mx.run('sendmail', ['a@localhost'], 'Subject: x\n\ny\n').stderr, /^$/);
  await mx.waitForLog(/mailbox_delivery_lock: fcntl not available \(Petrel locks mailboxes with dotlock only\)/);
});

test('notify_classes policy and protocol: the postmaster gets a transcript of a session with a refused relay and an unknown command', async () => {
  const mx = await TestInstance.create('', 'postmaster: root\n', { notify_classes: 'policy, protocol', mynetworks: '127.0.0.2/32' });
  instances.push(mx);
  mx.start();
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.match(await client.command('BOGUS'), /^50[02] /);
  await client.command('MAIL FROM:<s@example.org>');
  assert.match(await client.command('RCPT TO:<victim@far.example>'), /^[45]54 [45]\.7\.1 /);
  await client.quit();
  const log = await mx.waitForLog(/postmaster notice of SMTP server errors \(protocol, policy\) from localhost\[127\.0\.0\.1\]/);
  assert.match(log, /[0-9A-Z]+: postmaster notice of SMTP server errors/);
  await mx.waitForLog(/to=<root@mx\.test\.example>, orig_to=<postmaster>.*status=sent \(delivered to maildir\)/);
  const [notice] = mx.maildir('root');
  assert.match(notice ?? '', /^Return-Path: <double-bounce@mx\.test\.example>\n/);
  assert.match(notice ?? '', /\nSubject: Petrel SMTP server: errors from localhost\[127\.0\.0\.1\]\n/);
  assert.match(notice ?? '', /\nTranscript of session follows\.\n\n Out: 220 [^\n]+\n In:  EHLO client\.example\n/);
  assert.match(notice ?? '', /\n In:  BOGUS\n Out: 50[02] [^\n]+\n/);
  assert.match(notice ?? '', /\n In:  RCPT TO:<victim@far\.example>\n Out: [45]54 [45]\.7\.1 [^\n]*Relay access denied\n/);
  // A clean session sends nothing: once the notice of a later session with an error is logged, the clean
  // one's would have been (it is sent right after its disconnect), so the count shows there was none.
  await mx.submit('s@example.org', ['root@localhost'], 'Subject: fine\n\nok\n');
  await mx.waitForLog(/to=<root@localhost>.*status=sent[\s\S]*disconnect from|disconnect from[\s\S]*disconnect from[\s\S]*to=<root@localhost>.*status=sent/);
  const marker = await SmtpClient.open(mx.port);
  await marker.client.command('EHLO marker.example');
  assert.match(await marker.client.command('MARKER'), /^50[02] /);
  await marker.client.quit();
  await mx.waitForLog(/postmaster notice of SMTP server errors \(protocol\) from/);
  assert.equal(mx.logText().split('postmaster notice of SMTP server errors').length, 3, 'notices for the two sessions with errors only');
});

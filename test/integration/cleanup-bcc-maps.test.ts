/*
 * sender_bcc_maps and recipient_bcc_maps in cleanup: a blind copy by the
 * envelope sender and by each envelope recipient, added to mail smtpd
 * receives, resolved through virtual aliases like any recipient, and not
 * added where receive_override_options has no_address_mappings (the
 * smtpd after a content filter, in Postfix's setups). Also the Bcc:
 * header message_drop_headers takes out of all mail.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';

let mx: TestInstance;
let unmappedPort: number;

before(async () => {
  unmappedPort = await freePort();
  mx = await TestInstance.create('', 'postmaster: root\n', {
    sender_bcc_maps: 'inline:{ boss@example.org=boss-archive@localhost }',
    recipient_bcc_maps: 'inline:{ carol@localhost=carol-copy@localhost }',
    virtual_alias_maps: 'inline:{ carol-copy@localhost=audit@localhost }',
  });
  appendFileSync(join(mx.etc, 'master.cf'), `127.0.0.1:${unmappedPort} inet n - n - - smtpd -o receive_override_options=no_address_mappings\n`);
  mx.start();
});

after(() => mx.remove());

async function send(port: number, sender: string, recipient: string, subject: string): Promise<string> {
  const { client } = await SmtpClient.open(port);
  await client.command('EHLO client.example');
  const reply = await client.send(sender, [recipient], `Subject: ${subject}\n\nbody\n`);
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1];
  assert.ok(id !== undefined, reply);
  return id;
}

test('sender_bcc_maps: a copy for the sender in the table', async () => {
  const id = await send(mx.port, 'boss@example.org', 'dave@localhost', 'from the boss');
  await mx.waitForLog(new RegExp(`${id}: to=<dave@localhost>, relay=local, .*status=sent`));
  await mx.waitForLog(new RegExp(`${id}: to=<boss-archive@localhost>, relay=local, .*status=sent`));
  await mx.waitForLog(new RegExp(`${id}: removed`));
  assert.match(mx.maildir('boss-archive')[0] as string, /\nSubject: from the boss\n/);
});

test('recipient_bcc_maps: a copy for the recipient in the table, through virtual_alias_maps', async () => {
  const id = await send(mx.port, 'someone@example.org', 'carol@localhost', 'to carol');
  await mx.waitForLog(new RegExp(`${id}: to=<audit@localhost>, orig_to=<carol-copy@localhost>, relay=local, .*status=sent`));
  await mx.waitForLog(new RegExp(`${id}: to=<carol@localhost>, relay=local, .*status=sent`));
  assert.match(mx.maildir('audit')[0] as string, /\nSubject: to carol\n/);
});

test('receive_override_options = no_address_mappings: no blind copies', async () => {
  const id = await send(unmappedPort, 'boss@example.org', 'carol@localhost', 'unmapped');
  await mx.waitForLog(new RegExp(`${id}: removed`));
  const lines = mx.logText().split('\n').filter((line) => line.includes(`${id}: to=<`));
  assert.deepEqual(lines.map((line) => /to=<([^>]+)>/.exec(line)?.[1]), ['carol@localhost']);
});

test('message_drop_headers: a Bcc: header a client left in SMTP mail does not reach the recipients', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const reply = await client.send('someone@example.org', ['erin@localhost'], 'Subject: with bcc\nBcc: secret@example.org\n\nbody\n');
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;
  await mx.waitForLog(new RegExp(`${id}: to=<erin@localhost>, relay=local, .*status=sent`));
  const message = mx.maildir('erin')[0] as string;
  assert.match(message, /\nSubject: with bcc\n/);
  assert.doesNotMatch(message, /Bcc:|secret@example\.org/);
});

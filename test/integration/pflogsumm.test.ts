/*
 * pflogsumm - Debian's pflogsumm, the log summariser Postfix administrators
 * run every night, reads Petrel's mail log and counts what happened as it
 * would for Postfix's: messages received and delivered, rejected at RCPT,
 * reject warnings, held and discarded, with the reject detail by reply.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { needFile } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';

const PFLOGSUMM = '/usr/sbin/pflogsumm';
const skip = needFile(PFLOGSUMM, 'the log summariser under test');
let mx: TestInstance | undefined;
after(() => mx?.remove());

/** The count pflogsumm's "Grand Totals" gives for a label ("received", "rejected" ...). */
function total(report: string, label: string): number {
  const match = new RegExp(`^\\s*(\\d+)\\s+${label}\\b`, 'm').exec(report);
  assert.ok(match !== null, `no "${label}" line in:\n${report}`);
  return Number(match[1]);
}

test('pflogsumm counts received, delivered, rejected, reject warnings, held and discarded mail', { skip }, async () => {
  const instance = await TestInstance.create('', 'postmaster: root\n', {
    // 127.0.0.2 only: the test's client (127.0.0.1) may not relay.
    mynetworks: '127.0.0.2/32',
    smtpd_sender_restrictions: 'warn_if_reject reject_non_fqdn_sender',
  });
  mx = instance;
  const access = join(instance.etc, 'recipient_access');
  writeFileSync(access, 'hold@localhost HOLD\ndrop@localhost DISCARD\n');
  assert.equal(instance.run('postmap', [`hash:${access}`]).status, 0);
  assert.equal(instance.run('postconf', ['-e', `smtpd_recipient_restrictions = check_recipient_access hash:${access}, permit_mynetworks, reject_unauth_destination`]).status, 0);
  instance.start();

  const { client } = await SmtpClient.open(instance.port);
  await client.command('EHLO client.example');
  for (const user of ['alice', 'bob']) assert.match(await client.send('sender@example.org', [`${user}@localhost`], `Subject: to ${user}\n\nhello\n`), /^250 /);
  // A sender without a domain: only a warning (warn_if_reject), the mail is taken.
  assert.match(await client.send('nodomain', ['carol@localhost'], 'Subject: warned\n\nhello\n'), /^250 /);
  assert.match(await client.send('sender@example.org', ['hold@localhost'], 'Subject: held\n\nhello\n'), /^250 /);
  assert.match(await client.send('sender@example.org', ['drop@localhost'], 'Subject: dropped\n\nhello\n'), /^250 /);
  await client.command('MAIL FROM:<sender@example.org>');
  assert.match(await client.command('RCPT TO:<someone@elsewhere.example>'), /^454 4\.7\.1 /);
  await client.command('RSET');
  await client.quit();
  for (const user of ['alice', 'bob', 'carol']) await instance.waitForLog(new RegExp(`to=<${user}@localhost>, .*status=sent`));
  await instance.waitForLog(/: discard: /);

  const result = spawnSync(PFLOGSUMM, ['--detail', '5', instance.log], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const report = result.stdout;
  // pflogsumm counts a message as received where cleanup first logs it: the discarded one too.
  assert.equal(total(report, 'received'), 5, report);
  assert.equal(total(report, 'delivered'), 3, report);
  assert.equal(total(report, 'rejected'), 1, report);
  assert.equal(total(report, 'reject warnings'), 1, report);
  assert.equal(total(report, 'held'), 1, report);
  assert.equal(total(report, 'discarded'), 1, report);
  assert.match(report, /message reject detail[\s\S]*RCPT[\s\S]*Relay access denied/, report);
  assert.match(report, /message reject warning detail[\s\S]*Sender address rejected/, report);
});

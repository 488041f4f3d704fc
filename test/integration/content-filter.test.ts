/*
 * content_filter, set up as an after-queue filter (amavis style) is: every
 * message smtpd or pickup receives leaves through the "scanner" transport
 * to the filter, which sends it back to a second smtpd with
 * "-o content_filter=", from where it is delivered. The filter is another
 * Petrel relaying to that smtpd and marking what it passed with a header
 * (header_checks PREPEND), so the Maildir shows which mail went through it,
 * and how often. A FILTER or REDIRECT action of a content check wins over
 * content_filter, as in Postfix.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;
let filter: TestInstance;

before(async () => {
  const reinjectPort = await freePort();
  filter = await TestInstance.create('', 'postmaster: root\n', { myhostname: 'filter.test.example', mydestination: '', relayhost: `[127.0.0.1]:${reinjectPort}` });
  writeFileSync(join(filter.etc, 'scan_marks'), '/^Subject:/ PREPEND X-Scanned: by the filter\n');
  appendFileSync(join(filter.etc, 'main.cf'), `header_checks = regexp:${join(filter.etc, 'scan_marks')}\n`);
  appendFileSync(join(filter.etc, 'master.cf'), 'smtp unix - - n - - smtp\n');
  filter.start();
  mx = await TestInstance.create('', 'postmaster: root\n', { content_filter: `scanner:[127.0.0.1]:${filter.port}` });
  writeFileSync(join(mx.etc, 'header_checks'), '/^Subject: quarantine/ FILTER sink:\n/^Subject: for bob/ REDIRECT bob@localhost\n');
  appendFileSync(join(mx.etc, 'main.cf'), `header_checks = regexp:${join(mx.etc, 'header_checks')}\n`);
  appendFileSync(
    join(mx.etc, 'master.cf'),
    [
      'scanner unix - - n - - smtp',
      'sink unix - - n - - discard',
      `127.0.0.1:${reinjectPort} inet n - n - - smtpd -o content_filter= -o receive_override_options=no_header_body_checks,no_unknown_recipient_checks`,
      '',
    ].join('\n'),
  );
  mx.start();
});

after(() => {
  mx.remove();
  filter.remove();
});

/** Sends one message to the MX's port 25; returns its queue ID. */
async function send(recipient: string, subject: string): Promise<string> {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const reply = await client.send('sender@example.org', [recipient], `Subject: ${subject}\n\nbody\n`);
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1];
  assert.ok(id !== undefined, reply);
  return id;
}

const scanMarks = (message: string): number => message.split('\n').filter((line) => line === 'X-Scanned: by the filter').length;

test('mail from the network goes through the filter once and comes back to be delivered', async () => {
  const id = await send('alice@localhost', 'hello');
  await mx.waitForLog(new RegExp(`${id}: to=<alice@localhost>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${filter.port}, .*status=sent \\(250 2\\.0\\.0 Ok: queued as`));
  await mx.waitForLog(/to=<alice@localhost>, relay=local, .*status=sent \(delivered to maildir\)/);
  const [message] = mx.maildir('alice');
  assert.ok(message);
  assert.equal(scanMarks(message), 1, message);
  assert.match(message, /\nSubject: hello\n/);
});

test('mail submitted with sendmail (pickup) goes through the filter too', async () => {
  assert.equal(mx.run('sendmail', ['-f', 'local@example.org', 'carol@localhost'], 'Subject: from a local user\n\nbody\n').status, 0);
  await mx.waitForLog(new RegExp(`to=<carol@localhost>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${filter.port}, .*status=sent`));
  await waitFor(() => mx.maildir('carol').length === 1, "carol's message in her Maildir");
  assert.equal(scanMarks(mx.maildir('carol')[0] as string), 1);
});

test("a content check's FILTER or REDIRECT wins over content_filter", async () => {
  const quarantined = await send('dave@localhost', 'quarantine me');
  await mx.waitForLog(new RegExp(`${quarantined}: to=<dave@localhost>, relay=none, .*status=sent \\(discarded`));
  const redirected = await send('erin@localhost', 'for bob');
  await mx.waitForLog(new RegExp(`${redirected}: to=<bob@localhost>, orig_to=<erin@localhost>, relay=local, .*status=sent \\(delivered to maildir\\)`));
  assert.equal(scanMarks(mx.maildir('bob')[0] as string), 0);
  assert.equal(mx.maildir('dave').length, 0);
  assert.doesNotMatch(mx.logText(), new RegExp(`${quarantined}: to=<dave@localhost>, relay=127\\.0\\.0\\.1`));
});

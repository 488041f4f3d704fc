import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';

let edge: TestInstance;
let inner: TestInstance;

before(async () => {
  inner = await TestInstance.create('', 'postmaster: root\n', { myhostname: 'inner.test.example', mydestination: '$myhostname, inner.test' });
  inner.start();
  edge = await TestInstance.create('', 'postmaster: root\n', { relayhost: `[127.0.0.1]:${inner.port}` });
  appendFileSync(join(edge.etc, 'master.cf'), 'smtp unix - - n - - smtp\n');
  edge.start();
});

after(() => {
  edge.remove();
  inner.remove();
});

test('one Petrel relays through relayhost to another, which delivers to its Maildir with both Received headers', async () => {
  const { client } = await SmtpClient.open(edge.port);
  await client.command('EHLO client.example');
  const reply = await client.send('sender@example.org', ['zoe@inner.test'], 'Subject: two hops\n\nthrough two Petrels\n');
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;
  const log = await edge.waitForLog(new RegExp(`${id}: to=<zoe@inner\\.test>.*status=sent`));
  assert.match(log, new RegExp(`${id}: to=<zoe@inner\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${inner.port}, .*dsn=2\\.0\\.0, status=sent \\(250 2\\.0\\.0 Ok: queued as [0-9A-Z]+\\)`));
  await inner.waitForLog(/to=<zoe@inner\.test>, relay=local,.*status=sent \(delivered to maildir\)/);
  const [message] = inner.maildir('zoe');
  assert.ok(message);
  assert.match(message, /^Return-Path: <sender@example\.org>\nDelivered-To: zoe@inner\.test\n/);
  assert.match(message, /Received: from mx\.test\.example \(localhost \[127\.0\.0\.1\]\)\n\tby inner\.test\.example \(Petrel\) with ESMTP id [0-9A-Z]+\n\tfor <zoe@inner\.test>;\n\t[^\n]*\nReceived: from client\.example \(localhost \[127\.0\.0\.1\]\)\n\tby mx\.test\.example \(Petrel\)/);
  assert.match(message, /\n\nthrough two Petrels\n$/);
});

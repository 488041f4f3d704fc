/*
 * smtp_tls_wrappermode: the SMTP client speaks TLS from the first byte to a
 * server that expects it (SMTPS, as a relay on port 465 does), where
 * STARTTLS would never be offered; level may is encrypt there.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;
let smtps: SmtpPeer;

before(async () => {
  const port = await freePort();
  smtps = await startSmtpPeer('127.0.0.1', port, { implicitTls: true });
  mx = await TestInstance.create('', 'postmaster: root\n', { relayhost: `[127.0.0.1]:${port}`, smtp_tls_loglevel: '1' });
  appendFileSync(join(mx.etc, 'master.cf'), 'smtp unix - - n - - smtp -o smtp_tls_wrappermode=yes -o smtp_tls_security_level=may\n');
  mx.start();
});

after(async () => {
  mx.remove();
  await smtps.close();
});

test('mail reaches an SMTPS relay over TLS from the first byte', async () => {
  const id = await mx.submit('alice@localhost', ['remote@example.net'], 'Subject: over smtps\n\nbody\n');
  await mx.waitForLog(new RegExp(`${id}: to=<remote@example\\.net>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:\\d+, .*status=sent`));
  await waitFor(() => smtps.received.length === 1, 'the message at the relay');
  assert.equal(smtps.received[0]?.secure, true);
  assert.match(mx.logText(), /Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.[23] with cipher/);
});

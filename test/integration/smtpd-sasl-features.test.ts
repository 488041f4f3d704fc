/*
 * SMTP AUTH settings beyond smtpd-auth.test.ts, against the real master and
 * smtpd with the petrel SASL type (users written by "petrel saslpasswd"):
 * mechanisms filtered by smtpd_sasl_security_options before TLS and
 * smtpd_sasl_tls_security_options after it, no AUTH for
 * smtpd_sasl_exceptions_networks, the extra "AUTH=" line of
 * broken_sasl_auth_clients, the login in Received: with
 * smtpd_sasl_authenticated_header, smtpd_sasl_response_limit, and failed
 * AUTH commands counting toward smtpd_hard_error_limit.
 */
import assert from 'node:assert/strict';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { makeTestPki } from '../support/tls-cert.js';
import { waitFor } from '../support/wait.js';

let instance: TestInstance;
let pkiDir: string;
let exceptionsPort: number;
const PLAIN = (user: string, password: string): string => `AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`;

/** A session on port after EHLO, over TLS when tls; the EHLO reply. */
async function session(port: number, tls: boolean): Promise<{ client: SmtpClient; ehlo: string }> {
  const { client } = await SmtpClient.open(port);
  let ehlo = await client.command('EHLO client.example');
  if (tls) {
    await client.startTls();
    ehlo = await client.command('EHLO client.example');
  }
  return { client, ehlo };
}

before(async () => {
  const pki = makeTestPki();
  pkiDir = pki.dir;
  instance = await TestInstance.create('', 'postmaster: root\n', {
    smtpd_sasl_auth_enable: 'yes',
    smtpd_sasl_type: 'petrel',
    smtpd_tls_security_level: 'may',
    smtpd_tls_cert_file: pki.serverCert,
    smtpd_tls_key_file: pki.serverKey,
    mynetworks: '192.0.2.0/24',
    smtpd_sasl_security_options: 'noplaintext, noanonymous',
    smtpd_sasl_tls_security_options: 'noanonymous',
    broken_sasl_auth_clients: 'yes',
    smtpd_sasl_authenticated_header: 'yes',
    smtpd_sasl_response_limit: '200',
    smtpd_hard_error_limit: '4',
    smtpd_error_sleep_time: '0',
  });
  const users = join(instance.etc, 'sasl_users');
  const added = instance.run('petrel', ['saslpasswd', users, 'alice'], 'alice secret\n');
  assert.equal(added.status, 0, added.stderr);
  appendFileSync(join(instance.etc, 'main.cf'), `smtpd_sasl_path = texthash:${users}\n`);
  exceptionsPort = await freePort();
  appendFileSync(join(instance.etc, 'master.cf'), `127.0.0.1:${exceptionsPort} inet n - n - - smtpd -o syslog_name=postfix/exceptions -o smtpd_sasl_exceptions_networks=127.0.0.0/8\n`);
  instance.start();
});

after(() => {
  instance.remove();
  rmSync(pkiDir, { recursive: true, force: true });
});

test('noplaintext before TLS hides PLAIN and LOGIN; over TLS (noanonymous) both are offered, with the AUTH= line for broken clients', async () => {
  const plain = await session(instance.port, false);
  assert.doesNotMatch(plain.ehlo, /AUTH/);
  assert.match(await plain.client.command(PLAIN('alice', 'alice secret')), /^503 5\.5\.1 /);
  await plain.client.quit();
  const secure = await session(instance.port, true);
  assert.match(secure.ehlo, /^250-AUTH PLAIN LOGIN$/m);
  assert.match(secure.ehlo, /^250-AUTH=PLAIN LOGIN$/m);
  assert.match(await secure.client.command(PLAIN('alice', 'alice secret')), /^235 2\.7\.0 /);
  await secure.client.quit();
});

test('smtpd_sasl_exceptions_networks: no AUTH is offered or accepted, with TLS or without', async () => {
  for (const tls of [false, true]) {
    const { client, ehlo } = await session(exceptionsPort, tls);
    assert.doesNotMatch(ehlo, /AUTH/);
    assert.match(await client.command(PLAIN('alice', 'alice secret')), /^503 5\.5\.1 /);
    await client.quit();
  }
});

test('smtpd_sasl_authenticated_header: Received: names the login', async () => {
  const { client } = await session(instance.port, true);
  assert.match(await client.command(PLAIN('alice', 'alice secret')), /^235 /);
  assert.match(await client.send('alice@example.org', ['authuser@mx.test.example'], 'Subject: authenticated\n\nhi\n'), /^250 2\.0\.0 Ok: queued as/);
  await client.quit();
  await instance.waitForLog(/to=<authuser@mx\.test\.example>.*status=sent/);
  const [message] = instance.maildir('authuser');
  assert.match(message ?? '', /^Received: from client\.example \(localhost \[127\.0\.0\.1\]\)\n(\t.*\n)*\t\(Authenticated sender: alice\)\n(\t.*\n)*\tby mx\.test\.example \(Petrel\) with ESMTPSA id /m);
});

test('smtpd_sasl_response_limit: a longer response is refused and the session stays in step', async () => {
  const { client } = await session(instance.port, true);
  assert.match(await client.command('AUTH LOGIN'), /^334 /);
  assert.match(await client.command(Buffer.from('x'.repeat(300)).toString('base64')), /^5\d\d 5\.\d\.\d /);
  assert.match(await client.command('NOOP'), /^250 /);
  assert.match(await client.command(PLAIN('alice', `alice secret${' '.repeat(200)}`)), /^5\d\d 5\.\d\.\d /, 'an initial response is held to the limit too');
  assert.match(await client.command('AUTH LOGIN'), /^334 /);
  assert.match(await client.command(Buffer.from('alice').toString('base64')), /^334 /);
  assert.match(await client.command(Buffer.from('alice secret').toString('base64')), /^235 /);
  await client.quit();
  await instance.waitForLog(/warning: localhost\[127\.0\.0\.1\]: SASL LOGIN authentication failed: SASL response too long/);
  await instance.waitForLog(/warning: localhost\[127\.0\.0\.1\]: SASL PLAIN authentication failed: SASL response too long/);
});

test('failed AUTH commands count toward smtpd_hard_error_limit: the fourth ends the session with 421', async () => {
  const { client } = await session(instance.port, true);
  for (let i = 0; i < 4; i++) assert.match(await client.command(PLAIN('alice', `guess ${i}`)), /^535 5\.7\.8 /);
  assert.match(await client.reply(), /^421 4\.7\.0 mx\.test\.example Error: too many errors/);
  await waitFor(() => client.isClosed, 'the server to close the connection');
  await instance.waitForLog(/too many errors after AUTH from localhost\[127\.0\.0\.1\]/);
});

/*
 * STARTTLS on port 25, wrapper mode (465) and a submission service that
 * requires TLS, against the real master and smtpd, with certificates from a
 * test CA: the handshake and its log line, TLS required before MAIL, no
 * plaintext carried across STARTTLS, a second STARTTLS refused, protocol
 * limits as openssl s_client sees them, client certificates, the Received:
 * header, and certificates that must stop the service from starting.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { makeTestPki, type TestPki } from '../support/tls-cert.js';
import { waitFor } from '../support/wait.js';

let pki: TestPki;
let instance: TestInstance;
let smtpsPort: number;
let submissionPort: number;

before(async () => {
  pki = makeTestPki();
  instance = await TestInstance.create('', 'postmaster: root\n', {
    smtpd_tls_security_level: 'may',
    smtpd_tls_cert_file: pki.serverCert,
    smtpd_tls_key_file: pki.serverKey,
    smtpd_tls_loglevel: '1',
    smtpd_tls_received_header: 'yes',
    smtpd_tls_CAfile: pki.caCert,
    smtpd_tls_ask_ccert: 'yes',
    mynetworks: '192.0.2.0/24',
  });
  smtpsPort = await freePort();
  submissionPort = await freePort();
  appendFileSync(
    `${instance.etc}/master.cf`,
    [
      `127.0.0.1:${smtpsPort} inet n - n - - smtpd -o syslog_name=postfix/smtps -o smtpd_tls_wrappermode=yes`,
      `127.0.0.1:${submissionPort} inet n - n - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt`,
      `  -o smtpd_tls_mandatory_protocols=>=TLSv1.3`,
      '',
    ].join('\n'),
  );
  instance.start();
});

after(() => instance.remove());

test('STARTTLS on port 25: offered, the handshake logged, mail accepted over TLS with the cipher in Received:', async () => {
  const { client, greeting } = await SmtpClient.open(instance.port);
  assert.match(greeting, /^220 /);
  assert.match(await client.command('EHLO client.example'), /250-STARTTLS/);
  const secure = await client.startTls({ ca: [pki.caCert].map((f) => spawnSync('cat', [f]).stdout.toString()), servername: 'mx.test.example', rejectUnauthorized: true });
  assert.equal(secure.authorized, true);
  const ehlo = await client.command('EHLO client.example');
  assert.doesNotMatch(ehlo, /STARTTLS/);
  assert.match(await client.command('STARTTLS'), /^554 5\.5\.1 Error: TLS already active/);
  const reply = await client.send('a@example.org', ['user@mx.test.example'], 'Subject: over tls\n\nhello\n');
  assert.match(reply, /^250 2\.0\.0 Ok: queued as /);
  await client.quit();
  const log = await instance.waitForLog(/Anonymous TLS connection established from localhost\[127\.0\.0\.1\]: TLSv1\.3 with cipher \S+ \(\d+\/\d+ bits\)/);
  assert.match(log, /Anonymous TLS connection established/);
  await instance.waitForLog(/to=<user@mx\.test\.example>.*status=sent/);
  const [message] = instance.maildir('user');
  assert.match(message ?? '', /\(using TLSv1\.3 with cipher [A-Z0-9_-]+ \(\d+\/\d+ bits\)\)\n\t\(Client did not present a certificate\)\n\tby mx\.test\.example \(Petrel\) with ESMTPS id/);
});

test('plaintext pipelined after STARTTLS is never read as if it came over TLS', async () => {
  const { client } = await SmtpClient.open(instance.port);
  await client.command('EHLO client.example');
  client.write('STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n');
  assert.match(await client.reply(), /^554 5\.5\.0 Error: SMTP protocol synchronization/);
  await instance.waitForLog(/improper command pipelining after STARTTLS from localhost\[127\.0\.0\.1\]: MAIL FROM:<injected@example\.org>/);
});

test('a client certificate signed by the CA is verified and named in the log', async () => {
  const read = (f: string): string => spawnSync('cat', [f]).stdout.toString();
  const { client } = await SmtpClient.open(instance.port);
  await client.command('EHLO client.example');
  await client.startTls({ cert: read(pki.clientCert), key: read(pki.clientKey) });
  await client.quit();
  await instance.waitForLog(/Trusted TLS connection established from localhost\[127\.0\.0\.1\]: TLSv1\.3/);
  await instance.waitForLog(/client certificate subject="client\.test\.example" issuer="Petrel Test CA" fingerprint=([0-9A-F]{2}:){31}[0-9A-F]{2}/);
});

test('wrapper mode (smtps): TLS from the first byte, a plaintext client gets no greeting', async () => {
  const { client, greeting } = await SmtpClient.openTls(smtpsPort);
  assert.match(greeting, /^220 mx\.test\.example ESMTP/);
  const ehlo = await client.command('EHLO client.example');
  assert.doesNotMatch(ehlo, /STARTTLS/);
  assert.match(await client.send('a@example.org', ['user@mx.test.example'], 'Subject: smtps\n\nhi\n'), /^250 2\.0\.0 Ok/);
  await client.quit();
  const plain = connect(smtpsPort, '127.0.0.1');
  let answer = '';
  plain.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  plain.write('EHLO plain.example\r\n');
  await new Promise((resolve) => plain.on('close', resolve));
  assert.doesNotMatch(answer, /^220/);
  await instance.waitForLog(/postfix\/smtps\/smtpd\[\d+\]: SSL_accept error from localhost\[127\.0\.0\.1\]/);
});

test('smtpd_tls_security_level=encrypt: MAIL before STARTTLS is refused; mandatory protocols apply', async () => {
  const { client } = await SmtpClient.open(submissionPort);
  assert.match(await client.command('EHLO client.example'), /250-STARTTLS/);
  assert.match(await client.command('MAIL FROM:<a@example.org>'), /^530 5\.7\.0 Must issue a STARTTLS command first/);
  await client.quit();
  const tls12 = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${submissionPort}`, '-starttls', 'smtp', '-tls1_2'], { input: '', timeout: 15_000 });
  assert.match(tls12.stdout.toString(), /Cipher is \(NONE\)/);
  const tls13 = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${submissionPort}`, '-starttls', 'smtp', '-tls1_3'], { input: '', timeout: 15_000 });
  assert.match(tls13.stdout.toString(), /New, TLSv1\.3, Cipher is TLS_/);
  const port25 = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${instance.port}`, '-starttls', 'smtp', '-tls1_1'], { input: '', timeout: 15_000 });
  assert.match(port25.stdout.toString(), /Cipher is \(NONE\)/);
});

test('petrel reload takes a renewed certificate for new connections; a session in progress finishes on the old one', async () => {
  const read = (f: string): string => spawnSync('cat', [f]).stdout.toString();
  const before = await SmtpClient.open(instance.port);
  await before.client.command('EHLO client.example');
  const oldCert = (await before.client.startTls()).getPeerX509Certificate();
  await before.client.command('EHLO client.example');
  appendFileSync(`${instance.etc}/main.cf`, `smtpd_tls_cert_file = ${pki.ecCert}\nsmtpd_tls_key_file = ${pki.ecKey}\n`);
  assert.equal(instance.run('petrel', ['reload']).status, 0);
  await instance.waitForLog(/reload/i);
  assert.match(await before.client.send('a@example.org', ['user@mx.test.example'], 'Subject: across reload\n\nhi\n'), /^250 2\.0\.0 Ok/);
  await before.client.quit();
  // The processes started by the reload present the new certificate.
  const newCert = await waitFor(async () => {
    const after = await SmtpClient.open(instance.port);
    await after.client.command('EHLO client.example');
    const cert = (await after.client.startTls({ ca: read(pki.caCert), servername: 'mx.test.example' })).getPeerX509Certificate();
    await after.client.quit();
    return cert?.fingerprint256 !== oldCert?.fingerprint256 && cert;
  }, 'a connection with the renewed certificate');
  assert.equal(newCert?.fingerprint256, new X509Certificate(read(pki.ecCert)).fingerprint256);
});

test('an expired certificate, a missing one, a key that does not match, impossible protocols, a SASL type or configuration Petrel refuses: petrel check and petrel start refuse, naming the service', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ smtpd_tls_cert_file: pki.expiredCert, smtpd_tls_key_file: pki.expiredKey }, /smtpd_tls_cert_file: the certificate in .*expired on 2020-01-02/],
    [{ smtpd_tls_cert_file: `${pki.dir}/missing.pem`, smtpd_tls_key_file: pki.serverKey }, /smtpd_tls_cert_file: cannot read .*missing\.pem: ENOENT/],
    [{ smtpd_tls_cert_file: pki.serverCert, smtpd_tls_key_file: pki.ecKey }, /the private key does not match the certificate/],
    [{ smtpd_tls_cert_file: '' }, /TLS is enabled but no server certificate is configured/],
    [{ smtpd_tls_cert_file: pki.serverCert, smtpd_tls_key_file: pki.serverKey, smtpd_tls_protocols: '!TLSv1.2' }, /smtpd_tls_protocols: the enabled TLS versions must be contiguous/],
    [{ smtpd_tls_cert_file: pki.serverCert, smtpd_tls_key_file: pki.serverKey, smtpd_sasl_auth_enable: 'yes', smtpd_sasl_type: 'bogus' }, /unsupported SASL server implementation "bogus"/],
    [{ smtpd_tls_cert_file: pki.serverCert, smtpd_tls_key_file: pki.serverKey, smtpd_sasl_auth_enable: 'yes', smtpd_sasl_type: 'cyrus', cyrus_sasl_config_path: pki.dir }, /smtpd\.conf/],
  ];
  for (const [settings, expected] of cases) {
    const bad = await TestInstance.create('', 'postmaster: root\n', { smtpd_tls_security_level: 'may', ...settings });
    try {
      const check = bad.run('petrel', ['check']);
      assert.equal(check.status, 1);
      assert.match(check.stderr, expected);
      const started = bad.run('petrel', ['start']);
      assert.notEqual(started.status, 0);
      assert.match(started.stderr, expected);
      assert.match(bad.logText(), /master\[\d+\]: fatal: .*master\.cf, line 1: service 127\.0\.0\.1:\d+\/inet: /);
    } finally {
      bad.remove();
    }
  }
});

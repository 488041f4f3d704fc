/*
 * The SMTP client logging in to a relay (smtp_sasl_auth_enable), end to
 * end: one Petrel relays to another whose smtpd accepts mail only after
 * AUTH, checked by a private Dovecot. The relay offers CRAM-MD5, PLAIN and
 * LOGIN on one port and PLAIN and LOGIN only on another. With Postfix's
 * default security options (noplaintext, noanonymous) the client logs in
 * with CRAM-MD5 and defers rather than send a password in plain text;
 * "noanonymous", as every relayhost guide sets, lets it use PLAIN, as do
 * the TLS options inside STARTTLS. With sender-dependent authentication a
 * sender's own login is used, on a connection of its own.
 */
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DOVECOT } from '../support/dovecot.js';
import { DovecotAuth } from '../support/dovecot-auth.js';
import { freePort, TestInstance } from '../support/instance.js';
import { needFile } from '../support/need.js';
import { makeTestPki } from '../support/tls-cert.js';

const skip = needFile(DOVECOT, 'Dovecot checks the logins at the relay');

let relay: TestInstance;
let edge: TestInstance;
let dovecot: DovecotAuth | undefined;
/** The relay's port that offers CRAM-MD5, PLAIN and LOGIN, and the one that offers PLAIN and LOGIN only. */
let ports: { all: number; plain: number };

before(async () => {
  if (skip !== false) return;
  ports = { all: await freePort(), plain: await freePort() };
  const pki = makeTestPki();
  relay = await TestInstance.create('', 'postmaster: root\n', {
    smtpd_tls_security_level: 'may',
    smtpd_tls_cert_file: pki.serverCert,
    smtpd_tls_key_file: pki.serverKey,
    myhostname: 'relay.test.example',
    mydestination: '$myhostname, cram.test, plain.test, plainok.test, persender.test, overtls.test',
    smtpd_sasl_auth_enable: 'yes',
    smtpd_sasl_type: 'dovecot',
    smtpd_recipient_restrictions: 'permit_sasl_authenticated, reject',
  });
  // Dovecot's auth process runs as the dovecot user and must reach its passwd-file below the instance's folder.
  chmodSync(relay.root, 0o755);
  mkdirSync(join(relay.root, 'dovecot'));
  dovecot = await DovecotAuth.start(join(relay.root, 'dovecot'), await freePort(), { users: [{ name: 'edgeuser', password: 'edge-secret', plain: true }, { name: 'bossuser', password: 'boss-secret', plain: true }], mechanisms: 'plain login cram-md5' });
  appendFileSync(join(relay.etc, 'main.cf'), `smtpd_sasl_path = ${dovecot.socket}\n`);
  appendFileSync(
    join(relay.etc, 'master.cf'),
    [
      `127.0.0.1:${ports.all} inet n - n - - smtpd`,
      // Dovecot marks CRAM-MD5 open to active attacks: refusing those leaves PLAIN and LOGIN.
      `127.0.0.1:${ports.plain} inet n - n - - smtpd -o smtpd_sasl_security_options=noanonymous,noactive`,
      '',
    ].join('\n'),
  );
  relay.start();
  const hop = (port: number): string => `[127.0.0.1]:${port}`;
  edge = await TestInstance.create('', 'postmaster: root\n', {
    transport_maps: `inline:{ cram.test=smtp:${hop(ports.all)}, plain.test=smtp:${hop(ports.plain)}, plainok.test=plainok:${hop(ports.plain)}, persender.test=persender:${hop(ports.all)}, overtls.test=overtls:${hop(ports.plain)} }`,
    smtp_sasl_auth_enable: 'yes',
    smtp_tls_loglevel: '1',
    smtp_sasl_password_maps: `inline:{ ${hop(ports.all)}=edgeuser:edge-secret, ${hop(ports.plain)}=edgeuser:edge-secret, boss@example.org=bossuser:boss-secret }`,
  });
  appendFileSync(
    join(edge.etc, 'master.cf'),
    [
      'smtp unix - - n - - smtp',
      'plainok unix - - n - - smtp -o smtp_sasl_security_options=noanonymous',
      'persender unix - - n - - smtp -o smtp_sender_dependent_authentication=yes',
      'overtls unix - - n - - smtp -o smtp_tls_security_level=encrypt -o smtp_sasl_tls_security_options=noanonymous',
      '',
    ].join('\n'),
  );
  edge.start();
});

after(async () => {
  if (skip !== false) return;
  edge?.remove();
  relay?.remove();
  await dovecot?.stop();
});

/** Submits one message to the edge with sendmail. */
function submit(recipient: string): void {
  const result = edge.run('sendmail', ['-f', 'sender@example.org', recipient], `Subject: to ${recipient}\n\nrelayed after AUTH\n`);
  assert.equal(result.status, 0, result.stderr);
}

test("Postfix's default security options: the client logs in with CRAM-MD5, not PLAIN, and the relay delivers", { skip }, async () => {
  submit('zoe@cram.test');
  await edge.waitForLog(new RegExp(`to=<zoe@cram\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${ports.all}, .*status=sent \\(250 2\\.0\\.0 Ok: queued as`));
  await relay.waitForLog(/client=localhost\[127\.0\.0\.1\], sasl_method=CRAM-MD5, sasl_username=edgeuser/);
  await relay.waitForLog(/to=<zoe@cram\.test>, relay=local, .*status=sent/);
});

test('a relay that offers PLAIN and LOGIN only: deferred, "no mechanism available", and no password sent', { skip }, async () => {
  submit('yan@plain.test');
  const log = await edge.waitForLog(/to=<yan@plain\.test>, .*dsn=4\.7\.0, status=deferred \(SASL authentication failed; cannot authenticate to server 127\.0\.0\.1\[127\.0\.0\.1\]: no mechanism available\)/);
  assert.match(log, /warning: SASL authentication failure: no mechanism available: 127\.0\.0\.1\[127\.0\.0\.1\] offers PLAIN LOGIN/);
  assert.doesNotMatch(relay.logText(), /yan@plain\.test|sasl_method=PLAIN|sasl_method=LOGIN/);
});

test('smtp_sasl_security_options = noanonymous (the relayhost guides) lets the same relay take PLAIN', { skip }, async () => {
  submit('xia@plainok.test');
  await edge.waitForLog(new RegExp(`to=<xia@plainok\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${ports.plain}, .*status=sent`));
  await relay.waitForLog(/client=localhost\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=edgeuser/);
});

test('smtp_sender_dependent_authentication: the sender\'s own login where the table has one, the next hop\'s otherwise', { skip }, async () => {
  assert.equal(edge.run('sendmail', ['-f', 'boss@example.org', 'wu@persender.test'], 'Subject: from the boss\n\nbody\n').status, 0);
  await edge.waitForLog(/to=<wu@persender\.test>, .*status=sent/);
  await relay.waitForLog(/sasl_method=CRAM-MD5, sasl_username=bossuser/);
  const edgeLogins = (): number => (relay.logText().match(/sasl_username=edgeuser\b/g) ?? []).length;
  const before = edgeLogins();
  // Not on the boss's connection: a new one, logged in with the next hop's account.
  assert.equal(edge.run('sendmail', ['-f', 'clerk@example.org', 'vi@persender.test'], 'Subject: from a clerk\n\nbody\n').status, 0);
  await edge.waitForLog(/to=<vi@persender\.test>, .*status=sent/);
  await relay.waitForLog(/to=<vi@persender\.test>, relay=local, .*status=sent/);
  assert.equal(edgeLogins(), before + 1);
  assert.equal((relay.logText().match(/sasl_username=bossuser\b/g) ?? []).length, 1);
});

test('over TLS the TLS options apply: PLAIN, which the plain-session default refuses, is used inside STARTTLS', { skip }, async () => {
  submit('tu@overtls.test');
  await edge.waitForLog(new RegExp(`to=<tu@overtls\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${ports.plain}, .*status=sent`));
  await edge.waitForLog(/Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+/);
  await relay.waitForLog(/to=<tu@overtls\.test>, relay=local, .*status=sent/);
  assert.equal((relay.logText().match(/sasl_method=PLAIN, sasl_username=edgeuser/g) ?? []).length, 2);
});

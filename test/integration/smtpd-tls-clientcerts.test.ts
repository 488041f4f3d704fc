/*
 * Client certificates in the SMTP server against the real master and
 * smtpd: smtpd_tls_req_ccert (mandatory TLS with STARTTLS or in wrapper
 * mode: no trusted certificate, no session), relaying for a client outside
 * mynetworks by its fingerprint in relay_clientcerts with each
 * smtpd_tls_fingerprint_digest, permit_tls_all_clientcerts with CAs from
 * smtpd_tls_CApath, a self-signed certificate that only its listed
 * fingerprint lets through, and smtpd_tls_ccert_verifydepth with an
 * intermediate CA.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { makeTestPki, openssl, type TestPki } from '../support/tls-cert.js';
import { waitFor } from '../support/wait.js';

let pki: TestPki;
let instance: TestInstance;
const ports: Record<string, number> = {};
const RELAY_BY_PRINT = 'smtpd_relay_restrictions=permit_mynetworks,permit_tls_clientcerts,reject_unauth_destination';
const RELAY_BY_CA = 'smtpd_relay_restrictions=permit_mynetworks,permit_tls_all_clientcerts,reject_unauth_destination';
/** Service name, then its -o settings (syslog_name is postfix/NAME); ${etc} is the instance's etc/. */
const SERVICES: Record<string, string> = {
  required: 'smtpd_tls_security_level=encrypt -o smtpd_tls_req_ccert=yes',
  wrapped: 'smtpd_tls_wrappermode=yes -o smtpd_tls_req_ccert=yes',
  optional: 'smtpd_tls_req_ccert=yes',
  sha256: `${RELAY_BY_PRINT} -o relay_clientcerts=texthash:\${etc}/sha256`,
  sha1: `${RELAY_BY_PRINT} -o relay_clientcerts=texthash:\${etc}/sha1 -o smtpd_tls_fingerprint_digest=sha1`,
  md5: `${RELAY_BY_PRINT} -o relay_clientcerts=texthash:\${etc}/md5 -o smtpd_tls_fingerprint_digest=md5`,
  capath: `${RELAY_BY_CA} -o smtpd_tls_CAfile= -o smtpd_tls_CApath=\${etc}/capath`,
  depth1: `${RELAY_BY_CA} -o smtpd_tls_ccert_verifydepth=1`,
  depth2: `${RELAY_BY_CA} -o smtpd_tls_ccert_verifydepth=2`,
};

/** A client's certificate chain and key, in PEM. */
interface Identity {
  readonly cert: string;
  readonly key: string;
}
const ids: Record<'trusted' | 'selfSigned' | 'viaIntermediate', Identity> = {} as never;

function read(file: string): string {
  return readFileSync(file, 'utf8');
}

/** A self-signed client certificate, and one signed by an intermediate CA under the test CA (sent with the intermediate). */
function makeIdentities(): void {
  const dir = pki.dir;
  ids.trusted = { cert: read(pki.clientCert), key: read(pki.clientKey) };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'self.key', '-out', 'self.pem', '-days', '30', '-subj', '/CN=self.test.example'], dir);
  ids.selfSigned = { cert: read(join(dir, 'self.pem')), key: read(join(dir, 'self.key')) };
  writeFileSync(join(dir, 'inter.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'inter.key', '-out', 'inter.csr', '-subj', '/CN=Petrel Test Intermediate'], dir);
  openssl(['x509', '-req', '-in', 'inter.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'inter.pem', '-days', '30', '-extfile', 'inter.ext'], dir);
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'deep.key', '-out', 'deep.csr', '-subj', '/CN=deep.test.example'], dir);
  openssl(['x509', '-req', '-in', 'deep.csr', '-CA', 'inter.pem', '-CAkey', 'inter.key', '-CAcreateserial', '-out', 'deep.pem', '-days', '30'], dir);
  ids.viaIntermediate = { cert: read(join(dir, 'deep.pem')) + read(join(dir, 'inter.pem')), key: read(join(dir, 'deep.key')) };
}

/** Postfix's form of a certificate fingerprint: upper-case hex pairs joined by colons. */
function fingerprint(identity: Identity, digest: string): string {
  const hex = createHash(digest).update(new X509Certificate(identity.cert).raw).digest('hex').toUpperCase();
  return (hex.match(/../g) as string[]).join(':');
}

/** Over STARTTLS with identity's certificate (or none): the reply to a RCPT outside our domains. */
async function relayReply(port: number, identity: Identity | undefined): Promise<string> {
  const { client } = await SmtpClient.open(port);
  await client.command('EHLO client.example');
  await client.startTls(identity ?? {});
  await client.command('EHLO client.example');
  assert.match(await client.command('MAIL FROM:<a@example.org>'), /^250 /);
  const reply = await client.command('RCPT TO:<someone@example.net>');
  await client.quit();
  return reply;
}

before(async () => {
  pki = makeTestPki();
  makeIdentities();
  instance = await TestInstance.create('', 'postmaster: root\n', {
    smtpd_tls_security_level: 'may',
    smtpd_tls_cert_file: pki.serverCert,
    smtpd_tls_key_file: pki.serverKey,
    smtpd_tls_CAfile: pki.caCert,
    smtpd_tls_ask_ccert: 'yes',
    smtpd_tls_loglevel: '1',
    mynetworks: '192.0.2.0/24',
  });
  const etc = instance.etc;
  for (const digest of ['sha256', 'sha1', 'md5']) {
    writeFileSync(join(etc, digest), `${fingerprint(ids.trusted, digest)} client.test.example\n${fingerprint(ids.selfSigned, digest)} self.test.example\n`);
  }
  mkdirSync(join(etc, 'capath'));
  copyFileSync(pki.caCert, join(etc, 'capath', 'petrel-test-ca.pem'));
  const lines: string[] = [];
  for (const [name, settings] of Object.entries(SERVICES)) {
    ports[name] = await freePort();
    lines.push(`127.0.0.1:${ports[name]} inet n - n - - smtpd -o syslog_name=postfix/${name} -o ${settings.replace(/\$\{etc\}/g, etc)}`);
  }
  appendFileSync(join(etc, 'master.cf'), `${lines.join('\n')}\n`);
  instance.start();
});

after(() => {
  instance.remove();
  rmSync(pki.dir, { recursive: true, force: true });
});

test('smtpd_tls_req_ccert with encrypt: no certificate or an untrusted one is 421 and the end; a trusted one may send mail', async () => {
  for (const identity of [undefined, ids.selfSigned]) {
    const { client } = await SmtpClient.open(ports.required as number);
    await client.command('EHLO client.example');
    await client.startTls(identity ?? {});
    assert.match(await client.reply(), /^421 4\.7\.1 /);
    await waitFor(() => client.isClosed, 'the server to close the connection');
  }
  await instance.waitForLog(/postfix\/required\/smtpd\[\d+\]: NOQUEUE: reject: CONNECT from localhost\[127\.0\.0\.1\]: 421 4\.7\.1 /);
  const { client } = await SmtpClient.open(ports.required as number);
  await client.command('EHLO client.example');
  await client.startTls(ids.trusted);
  await client.command('EHLO client.example');
  assert.match(await client.send('a@example.org', ['user@mx.test.example'], 'Subject: with a certificate\n\nhi\n'), /^250 2\.0\.0 Ok: queued as/);
  await client.quit();
});

test('smtpd_tls_req_ccert in wrapper mode (TLS is mandatory there); ignored with a warning where TLS is optional', async () => {
  const bare = await SmtpClient.openTls(ports.wrapped as number).catch((err: Error) => err);
  assert.ok(bare instanceof Error || /^421 4\.7\.1 /.test(bare.greeting), 'no greeting without a client certificate');
  await instance.waitForLog(/postfix\/wrapped\/smtpd\[\d+\]: NOQUEUE: reject: CONNECT from localhost\[127\.0\.0\.1\]: 421 4\.7\.1 /);
  const { greeting, client } = await SmtpClient.openTls(ports.wrapped as number, { cert: ids.trusted.cert, key: ids.trusted.key });
  assert.match(greeting, /^220 /);
  await client.quit();
  const optional = await SmtpClient.open(ports.optional as number);
  await optional.client.command('EHLO client.example');
  await optional.client.startTls();
  assert.match(await optional.client.command('EHLO client.example'), /^250-/);
  await optional.client.quit();
  await instance.waitForLog(/postfix\/optional\/smtpd\[\d+\]: warning: smtpd_tls_req_ccert = yes has no effect while TLS is optional/);
});

for (const digest of ['sha256', 'sha1', 'md5']) {
  test(`permit_tls_clientcerts: a client outside mynetworks relays by its ${digest} fingerprint in relay_clientcerts`, async () => {
    assert.match(await relayReply(ports[digest] as number, ids.trusted), /^250 2\.1\.5 Ok/);
    assert.match(await relayReply(ports[digest] as number, undefined), /^554 5\.7\.1 <someone@example\.net>: Relay access denied/);
    assert.match(await relayReply(ports[digest] as number, ids.viaIntermediate), /^554 5\.7\.1 .*Relay access denied/, 'trusted but not listed');
  });
}

test('a self-signed certificate: its listed fingerprint permits (Postfix does not ask for a trusted issuer there), permit_tls_all_clientcerts does not', async () => {
  assert.match(await relayReply(ports.sha256 as number, ids.selfSigned), /^250 2\.1\.5 Ok/);
  assert.match(await relayReply(ports.capath as number, ids.selfSigned), /^554 5\.7\.1 .*Relay access denied/);
  assert.match(await relayReply(ports.depth2 as number, ids.selfSigned), /^554 5\.7\.1 .*Relay access denied/);
  await instance.waitForLog(/Untrusted TLS connection established from localhost\[127\.0\.0\.1\]/);
});

test('permit_tls_all_clientcerts with the CA in smtpd_tls_CApath: any certificate it signed relays', async () => {
  assert.match(await relayReply(ports.capath as number, ids.trusted), /^250 2\.1\.5 Ok/);
  assert.match(await relayReply(ports.capath as number, ids.viaIntermediate), /^250 2\.1\.5 Ok/);
  assert.match(await relayReply(ports.capath as number, undefined), /^554 5\.7\.1 .*Relay access denied/);
});

test('smtpd_tls_ccert_verifydepth: 1 trusts certificates the CA signed itself, an intermediate needs 2', async () => {
  assert.match(await relayReply(ports.depth1 as number, ids.trusted), /^250 2\.1\.5 Ok/);
  assert.match(await relayReply(ports.depth1 as number, ids.viaIntermediate), /^554 5\.7\.1 .*Relay access denied/);
  assert.match(await relayReply(ports.depth2 as number, ids.viaIntermediate), /^250 2\.1\.5 Ok/);
});

/*
 * The SMTP server's TLS settings beyond the basics of smtpd-tls.test.ts,
 * each against the real master and smtpd as openssl s_client sees them:
 * certificates by SNI name (tls_server_sni_maps, parent-domain keys), RSA
 * and ECDSA side by side (smtpd_tls_chain_files in one or two files,
 * smtpd_tls_eccert_file), cipher grades and exclusions, the server's cipher
 * order, DH parameters, session resumption across smtpd processes and its
 * expiry, the STARTTLS time limit and smtpd_tls_loglevel = 0.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { makeTestPki, openssl, type TestPki } from '../support/tls-cert.js';
import { waitFor } from '../support/wait.js';

let pki: TestPki;
let instance: TestInstance;
const ports: Record<string, number> = {};
/** Service name, then its -o settings (syslog_name is postfix/NAME). */
const SERVICES: Record<string, string> = {
  chain2: 'smtpd_tls_chain_files=${rsaChain},${ecChain}',
  chain1: 'smtpd_tls_chain_files=${bothChain}',
  ecpair: 'smtpd_tls_eccert_file=${ecCert} -o smtpd_tls_eckey_file=${ecKey}',
  high: 'smtpd_tls_ciphers=high -o smtpd_tls_exclude_ciphers=AESGCM,CHACHA20 -o smtpd_tls_mandatory_exclude_ciphers=AES256',
  mandatory: 'smtpd_tls_security_level=encrypt -o smtpd_tls_exclude_ciphers=AESGCM,CHACHA20 -o smtpd_tls_mandatory_exclude_ciphers=AES256',
  preempt: 'tls_preempt_cipherlist=yes',
  dh: 'smtpd_tls_dh1024_param_file=${dh}',
  nodh: 'smtpd_tls_dh1024_param_file=auto -o smtpd_tls_exclude_ciphers=kDHE',
  sessions: 'max_use=1',
  short: 'smtpd_tls_session_cache_timeout=3s',
  notickets: 'smtpd_tls_session_cache_timeout=0',
  slow: 'smtpd_starttls_timeout=2s',
  quiet: 'smtpd_tls_loglevel=0',
  sniHash: 'tls_server_sni_maps=hash:${sniHash}',
};

/** A certificate for cn signed by the test CA, as a chain file (key, certificate, CA). */
function sniChain(name: string, cn: string): string {
  const dir = pki.dir;
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '30'], dir);
  const file = join(dir, `${name}-chain.pem`);
  writeFileSync(file, ['key', 'pem'].map((ext) => readFileSync(join(dir, `${name}.${ext}`), 'utf8')).join('') + readFileSync(pki.caCert, 'utf8'));
  return file;
}

/** openssl s_client over STARTTLS: it sends QUIT once TLS is up and waits for the server to close; stdout and stderr. */
function sClient(port: number, args: readonly string[]): string {
  const result = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-starttls', 'smtp', '-ign_eof', ...args], { input: 'QUIT\r\n', timeout: 15_000 });
  return `${result.stdout.toString()}${result.stderr.toString()}`;
}

/** The subject CN of the server's certificate as s_client printed it. */
function subjectOf(out: string): string | undefined {
  return /^subject=.*CN ?= ?([^,\n]+)/m.exec(out)?.[1];
}

before(async () => {
  pki = makeTestPki();
  const files: Record<string, string> = {
    rsaChain: pki.serverChain,
    ecChain: join(pki.dir, 'ec-chain.pem'),
    bothChain: join(pki.dir, 'both-chain.pem'),
    ecCert: pki.ecCert,
    ecKey: pki.ecKey,
    dh: join(pki.dir, 'dh.pem'),
  };
  writeFileSync(files.ecChain as string, readFileSync(pki.ecKey, 'utf8') + readFileSync(pki.ecCert, 'utf8') + readFileSync(pki.caCert, 'utf8'));
  writeFileSync(files.bothChain as string, readFileSync(pki.serverChain, 'utf8') + readFileSync(files.ecChain as string, 'utf8'));
  openssl(['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', 'dh.pem'], pki.dir);
  instance = await TestInstance.create('', 'postmaster: root\n', {
    smtpd_tls_security_level: 'may',
    smtpd_tls_cert_file: pki.serverCert,
    smtpd_tls_key_file: pki.serverKey,
    smtpd_tls_loglevel: '1',
  });
  const sni = join(instance.etc, 'sni');
  writeFileSync(sni, `a.sni.example ${sniChain('a', 'a.sni.example')}\n.parent.example ${sniChain('parent', 'parent-wide.example')}\n`);
  appendFileSync(join(instance.etc, 'main.cf'), `tls_server_sni_maps = texthash:${sni}\n`);
  // Postfix's way for indexed tables: postmap -F stores the files' content, base64-encoded.
  files.sniHash = join(instance.etc, 'sni-hash');
  writeFileSync(files.sniHash, `b.sni.example ${sniChain('b', 'b.sni.example')}\n`);
  const built = instance.run('postmap', ['-F', `hash:${files.sniHash}`]);
  assert.equal(built.status, 0, built.stderr);
  const lines: string[] = [];
  for (const [name, settings] of Object.entries(SERVICES)) {
    ports[name] = await freePort();
    const expanded = settings.replace(/\$\{(\w+)\}/g, (_, key: string) => files[key] as string);
    lines.push(`127.0.0.1:${ports[name]} inet n - n - - smtpd -o syslog_name=postfix/${name} -o ${expanded}`);
  }
  appendFileSync(join(instance.etc, 'master.cf'), `${lines.join('\n')}\n`);
  instance.start();
});

after(() => {
  instance.remove();
  rmSync(pki.dir, { recursive: true, force: true });
});

test('tls_server_sni_maps built by postmap -F: the entry carries the key and chain themselves', () => {
  assert.equal(subjectOf(sClient(ports.sniHash as number, ['-servername', 'b.sni.example'])), 'b.sni.example');
  assert.equal(subjectOf(sClient(ports.sniHash as number, ['-servername', 'other.example'])), 'mx.test.example');
});

test('tls_server_sni_maps: the name asked for gets its chain, a parent-domain key covers subdomains, anything else the default', () => {
  const named = sClient(instance.port, ['-servername', 'a.sni.example', '-showcerts']);
  assert.equal(subjectOf(named), 'a.sni.example', named);
  assert.match(named, / 1 s:CN ?= ?Petrel Test CA/);
  assert.equal(subjectOf(sClient(instance.port, ['-servername', 'mail.parent.example'])), 'parent-wide.example');
  assert.equal(subjectOf(sClient(instance.port, ['-servername', 'parent.example'])), 'mx.test.example');
  assert.equal(subjectOf(sClient(instance.port, ['-servername', 'unknown.example'])), 'mx.test.example');
  assert.equal(subjectOf(sClient(instance.port, ['-noservername'])), 'mx.test.example');
});

for (const name of ['chain2', 'chain1', 'ecpair']) {
  test(`RSA and ECDSA side by side (${name}): each client gets the certificate its ciphers or signature algorithms can use`, () => {
    const ecdsa = sClient(ports[name] as number, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
    assert.match(ecdsa, /New, TLSv1\.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256/, ecdsa);
    assert.match(ecdsa, /Server public key is 256 bit/);
    const rsa = sClient(ports[name] as number, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
    assert.match(rsa, /New, TLSv1\.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256/, rsa);
    assert.match(rsa, /Server public key is 2048 bit/);
    assert.match(sClient(ports[name] as number, ['-tls1_3', '-sigalgs', 'ECDSA+SHA256']), /Server public key is 256 bit/);
    assert.match(sClient(ports[name] as number, ['-tls1_3', '-sigalgs', 'RSA-PSS+SHA256']), /Server public key is 2048 bit/);
  });
}

test('cipher grades and exclusions for TLS 1.2: smtpd_tls_ciphers, smtpd_tls_exclude_ciphers, and the mandatory ones only where TLS is mandatory', () => {
  const offered = (port: number, cipher: string): boolean => new RegExp(`Cipher is ${cipher}\\b`).test(sClient(port, ['-tls1_2', '-cipher', cipher]));
  assert.equal(offered(instance.port, 'ECDHE-RSA-AES128-GCM-SHA256'), true);
  assert.equal(offered(ports.high as number, 'ECDHE-RSA-AES128-GCM-SHA256'), false, 'AESGCM excluded');
  assert.equal(offered(ports.high as number, 'ECDHE-RSA-CHACHA20-POLY1305'), false, 'CHACHA20 excluded');
  assert.equal(offered(ports.high as number, 'ECDHE-RSA-AES256-SHA384'), true, 'mandatory exclusions do not apply to opportunistic TLS');
  assert.equal(offered(ports.mandatory as number, 'ECDHE-RSA-AES256-SHA384'), false, 'AES256 excluded when TLS is mandatory');
  assert.equal(offered(ports.mandatory as number, 'ECDHE-RSA-AES128-GCM-SHA256'), false, 'smtpd_tls_exclude_ciphers applies at every level');
  assert.equal(offered(ports.mandatory as number, 'ECDHE-RSA-AES128-SHA256'), true);
  assert.equal(offered(instance.port, 'AECDH-AES256-SHA'), false, 'no anonymous ciphers');
  // OpenSSL's cipher list does not govern TLS 1.3 suites: excluding AESGCM leaves TLS 1.3 working (documented).
  assert.match(sClient(ports.high as number, ['-tls1_3']), /New, TLSv1\.3, Cipher is TLS_/);
});

test("tls_preempt_cipherlist: with it the server's order wins over the client's", () => {
  const both = 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384';
  assert.match(sClient(instance.port, ['-tls1_2', '-cipher', both]), /Cipher is ECDHE-RSA-AES128-GCM-SHA256/);
  assert.match(sClient(ports.preempt as number, ['-tls1_2', '-cipher', both]), /Cipher is ECDHE-RSA-AES256-GCM-SHA384/);
});

test('smtpd_tls_dh1024_param_file: a DHE cipher uses the given parameters; "auto" and empty leave them to OpenSSL; a bad file is a start-up error', async () => {
  const dhe = sClient(ports.dh as number, ['-tls1_2', '-cipher', 'DHE-RSA-AES128-GCM-SHA256']);
  assert.match(dhe, /Cipher is DHE-RSA-AES128-GCM-SHA256/, dhe);
  assert.match(dhe, /Server Temp Key: DH, 2048 bits/);
  assert.match(sClient(instance.port, ['-tls1_2', '-cipher', 'DHE-RSA-AES128-GCM-SHA256']), /Cipher is DHE-RSA-AES128-GCM-SHA256/);
  assert.doesNotMatch(sClient(ports.nodh as number, ['-tls1_2', '-cipher', 'DHE-RSA-AES128-GCM-SHA256']), /Cipher is DHE/);
  const junk = join(pki.dir, 'junk-dh.pem');
  writeFileSync(junk, '-----BEGIN DH PARAMETERS-----\nbm90IERIIHBhcmFtZXRlcnM=\n-----END DH PARAMETERS-----\n');
  const weak = join(pki.dir, 'weak-dh.pem');
  openssl(['dhparam', '-dsaparam', '-out', weak, '512'], pki.dir);
  for (const [file, expected] of [
    [junk, /smtpd_tls_dh1024_param_file: .*junk-dh\.pem/],
    [weak, /smtpd_tls_dh1024_param_file: .*weak-dh\.pem.*512 bits/],
    [pki.serverCert, /smtpd_tls_dh1024_param_file: no DH parameters in .*server\.pem/],
  ] as const) {
    const bad = await TestInstance.create('', 'postmaster: root\n', { smtpd_tls_security_level: 'may', smtpd_tls_cert_file: pki.serverCert, smtpd_tls_key_file: pki.serverKey, smtpd_tls_dh1024_param_file: file });
    try {
      const check = bad.run('petrel', ['check']);
      assert.equal(check.status, 1, check.stdout);
      assert.match(check.stderr, expected);
    } finally {
      bad.remove();
    }
  }
});

test('session tickets: a ticket from one connection resumes a later one handled by another smtpd process', async () => {
  const session = join(pki.dir, 'session.pem');
  const first = sClient(ports.sessions as number, ['-sess_out', session]);
  assert.match(first, /New, TLSv1\.3/);
  const second = sClient(ports.sessions as number, ['-sess_in', session]);
  assert.match(second, /Reused, TLSv1\.3/, second);
  const log = await instance.waitForLog(/postfix\/sessions\/smtpd\[\d+\]: connect from[^]*postfix\/sessions\/smtpd\[\d+\]: connect from/);
  const pids = [...log.matchAll(/postfix\/sessions\/smtpd\[(\d+)\]: connect from/g)].map((m) => m[1]);
  assert.notEqual(pids[0], pids[1], 'max_use=1: the second connection went to a new process');
  const tls12 = join(pki.dir, 'session12.pem');
  sClient(ports.sessions as number, ['-tls1_2', '-sess_out', tls12]);
  assert.match(sClient(ports.sessions as number, ['-tls1_2', '-sess_in', tls12]), /Reused, TLSv1\.2/);
});

test('smtpd_tls_session_cache_timeout: a ticket stops working once its period is over; 0 issues none', async () => {
  const session = join(pki.dir, 'short.pem');
  // The ticket key changes every 3 s period (the timeout) of the clock. Start just after a period begins,
  // so that the resumption below falls inside the same one; the ticket is refused once the next one began.
  const period = (): number => Math.floor(Date.now() / 3000);
  await waitFor(() => Date.now() % 3000 <= 300, 'the start of a ticket key period');
  const issued = period();
  assert.match(sClient(ports.short as number, ['-sess_out', session]), /New, TLSv1\.3/);
  assert.match(sClient(ports.short as number, ['-sess_in', session]), /Reused, TLSv1\.3/);
  await waitFor(() => period() > issued, 'the next ticket key period');
  assert.match(sClient(ports.short as number, ['-sess_in', session]), /New, TLSv1\.3/);
  const none = join(pki.dir, 'none.pem');
  for (const version of ['-tls1_3', '-tls1_2']) {
    sClient(ports.notickets as number, [version, '-sess_out', none]);
    assert.match(sClient(ports.notickets as number, [version, '-sess_in', none]), /New, TLSv1\.[23]/);
  }
});

test('smtpd_starttls_timeout: a client silent after STARTTLS is dropped after the limit, and logged', async () => {
  const { client } = await SmtpClient.open(ports.slow as number);
  await client.command('EHLO client.example');
  const started = Date.now();
  assert.match(await client.command('STARTTLS'), /^220 /);
  await waitFor(() => client.isClosed, 'the server to drop the silent client', 10_000);
  const waited = Date.now() - started;
  assert.ok(waited >= 1900 && waited < 5000, `closed after ${waited} ms`);
  await instance.waitForLog(/postfix\/slow\/smtpd\[\d+\]: SSL_accept error from localhost\[127\.0\.0\.1\]: timeout/);
  await instance.waitForLog(/postfix\/slow\/smtpd\[\d+\]: lost connection after STARTTLS from localhost\[127\.0\.0\.1\]/);
});

test('smtpd_tls_loglevel = 0: no "TLS connection established" line, but a failed handshake is still logged', async () => {
  assert.match(sClient(ports.quiet as number, []), /New, TLSv1\.3/);
  const { client } = await SmtpClient.open(ports.quiet as number);
  await client.command('EHLO client.example');
  assert.match(await client.command('STARTTLS'), /^220 /);
  client.write('this is not a TLS handshake\r\n');
  await waitFor(() => client.isClosed, 'the server to close the connection');
  const log = await instance.waitForLog(/postfix\/quiet\/smtpd\[\d+\]: SSL_accept error from localhost\[127\.0\.0\.1\]/);
  await instance.waitForLog(/postfix\/quiet\/smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\]/);
  assert.doesNotMatch(log, /postfix\/quiet\/smtpd\[\d+\]: \w+ TLS connection established/);
  assert.match(log, /postfix\/smtpd\[\d+\]: Anonymous TLS connection established/, 'level 1 on the main service does log it');
});

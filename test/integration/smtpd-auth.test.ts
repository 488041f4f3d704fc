/*
 * SMTP AUTH against the real master and smtpd with each SASL type: petrel
 * (a table written by "petrel saslpasswd"), dovecot (a private Dovecot auth
 * service) and cyrus (a private saslauthd), through swaks as an operator
 * would test: relaying needs AUTH on every port, a wrong password is 535
 * 5.7.8 and logged as fail2ban's postfix filter (mode auth) expects, AUTH is
 * only offered over TLS where smtpd_tls_auth_only says so, and
 * reject_sender_login_mismatch ties senders to logins; check_sasl_access
 * refuses one login.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DOVECOT } from '../support/dovecot.js';
import { DovecotAuth } from '../support/dovecot-auth.js';
import { freePort, TestInstance } from '../support/instance.js';
import { needFile, needRoot } from '../support/need.js';
import { makeTestAccount, SASLAUTHD, startSaslauthd, type Saslauthd, type TestAccount } from '../support/saslauthd.js';
import { SmtpClient } from '../support/smtp-client.js';
import { makeTestPki } from '../support/tls-cert.js';

const SWAKS = '/usr/bin/swaks';
const FAIL2BAN_REGEX = '/usr/bin/fail2ban-regex';
const skip = needFile(SWAKS, 'swaks drives the AUTH tests') || needFile(DOVECOT, 'the dovecot SASL type') || needFile(SASLAUTHD, 'the cyrus SASL type') || needRoot('saslauthd checks a system account');

let instance: TestInstance;
let ports: Record<'submission' | 'smtps' | 'dovecot' | 'cyrus' | 'known' | 'saslAccess' | 'saslStatic', number>;
let dovecot: DovecotAuth | undefined;
let saslauthd: Saslauthd | undefined;
let account: TestAccount | undefined;

function swaks(port: number, args: readonly string[]): { status: number | null; out: string } {
  const result = spawnSync(SWAKS, ['--server', '127.0.0.1', '--port', String(port), '--ehlo', 'client.example', '--hide-informational', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

before(async () => {
  if (skip !== false) return;
  const pki = makeTestPki();
  ports = { submission: await freePort(), smtps: await freePort(), dovecot: await freePort(), cyrus: await freePort(), known: await freePort(), saslAccess: await freePort(), saslStatic: await freePort() };
  instance = await TestInstance.create('', 'postmaster: root\n', {
    mynetworks: '192.0.2.0/24',
    smtpd_tls_security_level: 'may',
    smtpd_tls_cert_file: pki.serverCert,
    smtpd_tls_key_file: pki.serverKey,
    smtpd_sasl_auth_enable: 'yes',
    smtpd_sasl_type: 'petrel',
  });
  const users = join(instance.etc, 'sasl_users');
  for (const [user, password] of [['alice', 'alice secret'], ['bob', 'bob-pw'], ['erin@example.org', 'erin pw']]) {
    const added = instance.run('petrel', ['saslpasswd', users, user], `${password}\n`);
    assert.equal(added.status, 0, added.stderr);
  }
  writeFileSync(join(instance.etc, 'logins'), 'alice@example.org alice\nbob@example.org bob\n');
  writeFileSync(join(instance.etc, 'sasl_access'), 'bob REJECT\nexample.org REJECT\n');
  appendFileSync(join(instance.etc, 'main.cf'), `smtpd_sasl_path = texthash:${users}\n`);
  // Dovecot's auth process runs as the dovecot user and must reach its passwd-file below the instance's folder.
  chmodSync(instance.root, 0o755);
  for (const sub of ['dovecot', 'saslauthd']) mkdirSync(join(instance.root, sub));
  dovecot = await DovecotAuth.start(join(instance.root, 'dovecot'), await freePort(), { users: [{ name: 'carol', password: 'carol pass' }] });
  account = makeTestAccount('dave pass');
  saslauthd = await startSaslauthd(join(instance.root, 'saslauthd'));
  const cyrusDir = join(instance.root, 'cyrus');
  mkdirSync(cyrusDir);
  writeFileSync(join(cyrusDir, 'smtpd.conf'), `pwcheck_method: saslauthd\nmech_list: PLAIN LOGIN\nsaslauthd_path: ${saslauthd.socket}\n`);
  appendFileSync(
    join(instance.etc, 'master.cf'),
    [
      `127.0.0.1:${ports.submission} inet n - n - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_tls_auth_only=yes`,
      `  -o smtpd_sender_login_maps=texthash:${join(instance.etc, 'logins')} -o smtpd_sender_restrictions=reject_sender_login_mismatch`,
      '  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject',
      `127.0.0.1:${ports.smtps} inet n - n - - smtpd -o syslog_name=postfix/smtps -o smtpd_tls_wrappermode=yes -o smtpd_relay_restrictions=permit_sasl_authenticated,reject`,
      `127.0.0.1:${ports.dovecot} inet n - n - - smtpd -o syslog_name=postfix/dovecot -o smtpd_sasl_type=dovecot -o smtpd_sasl_path=${dovecot.socket}`,
      `127.0.0.1:${ports.cyrus} inet n - n - - smtpd -o syslog_name=postfix/cyrus -o smtpd_sasl_type=cyrus -o smtpd_sasl_path=smtpd -o cyrus_sasl_config_path=${cyrusDir}`,
      `127.0.0.1:${ports.known} inet n - n - - smtpd -o syslog_name=postfix/known -o smtpd_relay_restrictions=permit_sasl_authenticated,reject`,
      `  -o smtpd_sender_login_maps=texthash:${join(instance.etc, 'logins')} -o smtpd_sender_restrictions=reject_known_sender_login_mismatch`,
      `127.0.0.1:${ports.saslAccess} inet n - n - - smtpd -o syslog_name=postfix/saslaccess`,
      `  -o smtpd_relay_restrictions=check_sasl_access,texthash:${join(instance.etc, 'sasl_access')},permit_sasl_authenticated,reject`,
      `127.0.0.1:${ports.saslStatic} inet n - n - - smtpd -o syslog_name=postfix/saslstatic -o smtpd_relay_restrictions=check_sasl_access,static:REJECT,reject`,
      '',
    ].join('\n'),
  );
  instance.start();
});

after(async () => {
  if (skip !== false) return;
  instance?.remove();
  await dovecot?.stop();
  await saslauthd?.stop();
  account?.remove();
});

test('petrel type on port 25: PLAIN and LOGIN relay once authenticated; without AUTH relaying is refused', { skip }, async () => {
  const plain = swaks(instance.port, ['--to', 'someone@example.net', '--from', 'alice@example.org', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 'alice secret', '--quit-after', 'RCPT']);
  assert.equal(plain.status, 0, plain.out);
  assert.match(plain.out, /<- {1,2}235 2\.7\.0 Authentication successful/);
  const login = swaks(instance.port, ['--to', 'someone@example.net', '--auth', 'LOGIN', '--auth-user', 'bob', '--auth-password', 'bob-pw']);
  assert.equal(login.status, 0, login.out);
  await instance.waitForLog(/client=localhost\[127\.0\.0\.1\], sasl_method=LOGIN, sasl_username=bob/);
  const anonymous = swaks(instance.port, ['--to', 'someone@example.net', '--quit-after', 'RCPT']);
  assert.notEqual(anonymous.status, 0);
  assert.match(anonymous.out, /<\*\* {1,2}454 4\.7\.1 <someone@example\.net>: Relay access denied/);
});

test('a wrong password is 535 5.7.8, logged as fail2ban expects, and counts as an error', { skip }, async () => {
  const wrong = swaks(instance.port, ['--to', 'someone@example.net', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 'guess']);
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.out, /535 5\.7\.8 Error: authentication failed: authentication failure/);
  const log = await instance.waitForLog(/warning: localhost\[127\.0\.0\.1\]: SASL PLAIN authentication failed: /);
  if (needFile(FAIL2BAN_REGEX, "fail2ban's postfix filter reads the log") === false) {
    const lines = log.split('\n').filter((l) => l.includes('SASL PLAIN authentication failed'));
    const file = join(instance.root, 'auth.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const result = spawnSync(FAIL2BAN_REGEX, [file, 'postfix[mode=auth]'], { encoding: 'utf8' });
    assert.match(result.stdout, new RegExp(`Lines: ${lines.length} lines, 0 ignored, ${lines.length} matched`), result.stdout);
  }
  const { client } = await SmtpClient.open(instance.port);
  await client.command('EHLO client.example');
  const auth = await client.command(`AUTH PLAIN ${Buffer.from('\0alice\0nope').toString('base64')}`);
  assert.match(auth, /^535 5\.7\.8 /);
  assert.match(await client.command('AUTH PLAIN !!!'), /^535 5\.7\.8 /);
  assert.match(await client.command('AUTH CRAM-MD5'), /^535 5\.7\.8 Error: authentication failed: Invalid authentication mechanism/);
  assert.match(await client.command('AUTH LOGIN'), /^334 VXNlcm5hbWU6/);
  assert.match(await client.command('*'), /^501 5\.7\.0 Authentication aborted/);
  await client.quit();
});

test('submission: AUTH only after STARTTLS, the sender must belong to the login', { skip }, async () => {
  const { client } = await SmtpClient.open(ports.submission);
  const before = await client.command('EHLO client.example');
  assert.doesNotMatch(before, /AUTH/);
  assert.match(await client.command(`AUTH PLAIN ${Buffer.from('\0alice\0alice secret').toString('base64')}`), /^530 5\.7\.0 Must issue a STARTTLS command first/);
  await client.startTls();
  assert.match(await client.command('EHLO client.example'), /250-AUTH PLAIN LOGIN/);
  assert.match(await client.command(`AUTH PLAIN ${Buffer.from('\0alice\0alice secret').toString('base64')}`), /^235 /);
  assert.match(await client.command('MAIL FROM:<bob@example.org>'), /^250 /);
  assert.match(await client.command('RCPT TO:<someone@example.net>'), /^553 5\.7\.1 <bob@example\.org>: Sender address rejected: not owned by user alice/);
  await client.command('RSET');
  assert.match(await client.send('alice@example.org', ['someone@example.net'], 'Subject: submitted\n\nhi\n'), /^250 2\.0\.0 Ok: queued as/);
  await client.quit();
  const tls = swaks(ports.submission, ['--tls', '--to', 'someone@example.net', '--from', 'bob@example.org', '--auth', 'LOGIN', '--auth-user', 'bob', '--auth-password', 'bob-pw', '--quit-after', 'RCPT']);
  assert.equal(tls.status, 0, tls.out);
});

test('reject_known_sender_login_mismatch: only senders smtpd_sender_login_maps lists are tied to their logins', { skip }, async () => {
  const { client } = await SmtpClient.open(ports.known);
  await client.command('EHLO client.example');
  assert.match(await client.command('MAIL FROM:<alice@example.org>'), /^250 /);
  assert.equal(await client.command('RCPT TO:<someone@example.net>'), '553 5.7.1 <alice@example.org>: Sender address rejected: not logged in');
  await client.command('RSET');
  assert.match(await client.command(`AUTH PLAIN ${Buffer.from('\0alice\0alice secret').toString('base64')}`), /^235 /);
  await client.command('MAIL FROM:<bob@example.org>');
  assert.equal(await client.command('RCPT TO:<someone@example.net>'), '553 5.7.1 <bob@example.org>: Sender address rejected: not owned by user alice');
  await client.command('RSET');
  // A sender nobody owns is not checked (reject_sender_login_mismatch would refuse it).
  await client.command('MAIL FROM:<anyone@elsewhere.example>');
  assert.match(await client.command('RCPT TO:<someone@example.net>'), /^250 /);
  await client.quit();
});

/** One session on port: AUTH PLAIN as login (unless undefined), MAIL FROM sender, the reply to RCPT TO someone@example.net. */
async function rcptReply(port: number, login: [string, string] | undefined, sender: string): Promise<string> {
  const { client } = await SmtpClient.open(port);
  await client.command('EHLO client.example');
  if (login !== undefined) assert.match(await client.command(`AUTH PLAIN ${Buffer.from(`\0${login[0]}\0${login[1]}`).toString('base64')}`), /^235 /);
  await client.command(`MAIL FROM:<${sender}>`);
  const reply = await client.command('RCPT TO:<someone@example.net>');
  await client.quit();
  return reply;
}

test('check_sasl_access: the login name is the one key (no parent domains); no lookup before AUTH', { skip }, async () => {
  // A table that answers every key: before AUTH it is not asked, and the list goes on to "reject".
  assert.equal(await rcptReply(ports.saslStatic, undefined, 'alice@example.org'), '554 5.7.1 <someone@example.net>: Recipient address rejected: Access denied');
  assert.equal(await rcptReply(ports.saslStatic, ['alice', 'alice secret'], 'alice@example.org'), '554 5.7.1 <alice>: SASL login name rejected: Access denied');
  assert.equal(await rcptReply(ports.saslAccess, ['bob', 'bob-pw'], 'bob@example.org'), '554 5.7.1 <bob>: SASL login name rejected: Access denied');
  await instance.waitForLog(/postfix\/saslaccess\/smtpd\[\d+\]: NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 554 5\.7\.1 <bob>: SASL login name rejected: Access denied; from=<bob@example\.org> to=<someone@example\.net> proto=\S+ helo=<client\.example>/);
  // "example.org REJECT" is not a parent-domain match for the login erin@example.org.
  assert.match(await rcptReply(ports.saslAccess, ['erin@example.org', 'erin pw'], 'erin@example.org'), /^250 /);
  assert.match(await rcptReply(ports.saslAccess, ['alice', 'alice secret'], 'alice@example.org'), /^250 /);
});

test('smtps (465): AUTH over implicit TLS; no relay without it', { skip }, async () => {
  const ok = swaks(ports.smtps, ['--tlsc', '--to', 'someone@example.net', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 'alice secret', '--quit-after', 'RCPT']);
  assert.equal(ok.status, 0, ok.out);
  const refused = swaks(ports.smtps, ['--tlsc', '--to', 'someone@example.net', '--quit-after', 'RCPT']);
  assert.match(refused.out, /554 5\.7\.1 <someone@example\.net>: Recipient address rejected: Access denied/);
});

test('dovecot type: Dovecot decides, over its auth socket', { skip }, async () => {
  const ok = swaks(ports.dovecot, ['--to', 'someone@example.net', '--auth', 'PLAIN', '--auth-user', 'carol', '--auth-password', 'carol pass', '--quit-after', 'RCPT']);
  assert.equal(ok.status, 0, `${ok.out}\n${instance.logText()}\n${(dovecot as DovecotAuth).log()}`);
  const bad = swaks(ports.dovecot, ['--to', 'someone@example.net', '--auth', 'LOGIN', '--auth-user', 'carol', '--auth-password', 'wrong']);
  assert.match(bad.out, /535 5\.7\.8 /);
  await instance.waitForLog(/postfix\/dovecot\/smtpd\[\d+\]: warning: localhost\[127\.0\.0\.1\]: SASL LOGIN authentication failed/);
});

test('cyrus type: saslauthd checks a system account', { skip }, async () => {
  const name = (account as TestAccount).name;
  const ok = swaks(ports.cyrus, ['--to', 'someone@example.net', '--auth', 'PLAIN', '--auth-user', name, '--auth-password', 'dave pass', '--quit-after', 'RCPT']);
  assert.equal(ok.status, 0, ok.out);
  const bad = swaks(ports.cyrus, ['--to', 'someone@example.net', '--auth', 'PLAIN', '--auth-user', name, '--auth-password', 'dave guess']);
  assert.match(bad.out, /535 5\.7\.8 /);
});

/*
 * The README's "Virtual mailbox hosting with MariaDB and Dovecot" built as
 * written: its shell lines make the vmail account, its SQL makes a database
 * of its own in the real MariaDB, its mysql: table files, main.cf and
 * master.cf lines configure a real Petrel instance (started as root,
 * daemons as a mail_owner account), and its dovecot.conf runs a Dovecot of
 * the test's own (IMAP on a loopback port, LMTP and auth sockets in
 * Petrel's private/). Every check reads mail back through Dovecot's IMAP:
 * each user sees exactly their mail, an alias and the catch-all expand,
 * unknown users and relaying are refused at RCPT, submission logs in with
 * Dovecot SASL against the users table, a full mailbox bounces with the
 * usage Dovecot's quota reports; then the same after the README's LMTP
 * line, with Dovecot storing the mail and enforcing the quota.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { findAccount, findGroupId } from '../../src/global/accounts.js';
import { DOVECOT, runDovecot, stopDovecot } from '../support/dovecot.js';
import { DOVECOT_MYSQL, MYSQL } from '../support/dovecot-auth.js';
import { ImapClient } from '../support/imap-client.js';
import { freePort, TestInstance } from '../support/instance.js';
import { needFile, needRoot } from '../support/need.js';
import { ReadmeSection } from '../support/readme-snippets.js';
import { SmtpClient } from '../support/smtp-client.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { makeTestPki } from '../support/tls-cert.js';
import { needServer } from '../global/tables/sql-test-support.js';

const skip =
  needRoot('the vmail and mail_owner accounts, and mailboxes written as vmail') ||
  needFile(DOVECOT, "Dovecot (dovecot-core) serves the mailboxes and checks the passwords") ||
  needFile('/usr/lib/dovecot/imap', "Dovecot's IMAP server (dovecot-imapd) is how the test reads the mail") ||
  needFile('/usr/lib/dovecot/lmtp', "Dovecot's LMTP server (dovecot-lmtpd) is the README's alternative transport") ||
  needFile(DOVECOT_MYSQL, "Dovecot's MySQL driver (dovecot-mysql) reads the users table") ||
  needFile(MYSQL, "MariaDB's client (mariadb-client) runs the README's SQL") ||
  (await needServer(3306, 'MariaDB (the README database)'));

const SECTION = 'Virtual mailbox hosting with MariaDB and Dovecot';
const OWNER = 'ptvhowner';
const VMAIL = 'ptvhvmail';
const DATABASE = `petrel_vhost_${process.pid}`;
const DB_USER = `ptvh_${process.pid}`;
const PASSWORDS: Readonly<Record<string, string>> = {
  'alice@example.com': 'alice pass',
  'bob@example.com': 'bob pass',
  'carol@example.net': 'carol pass',
  'dave@example.net': 'dave pass',
};
/** Dave's quota in the README's data. */
const DAVE_QUOTA = 3000;
const STRANGER = 'stranger@example.org';

let mx: TestInstance;
let readme: ReadmeSection;
let base: string;
let dovecotDir: string;
let dovecot: ChildProcess | undefined;
let sink: SmtpPeer | undefined;
let ports: Record<'submission' | 'imap' | 'sink', number>;
const used = new Set<string>();

/** A README block, remembered as used (every block of the section must be). */
function block(firstLine: string): string {
  used.add(firstLine);
  return readme.block(firstLine);
}

/** The first number at least 5000 that is neither a uid nor a gid, for the vmail account's both ids. */
function freeId(): number {
  const taken = (file: string): Set<number> => new Set(readFileSync(file, 'utf8').split('\n').map((line) => Number(line.split(':')[2])));
  const uids = taken('/etc/passwd');
  const gids = taken('/etc/group');
  let id = 5000;
  while (uids.has(id) || gids.has(id)) id++;
  return id;
}

function mysqlRoot(sql: string): void {
  const result = spawnSync(MYSQL, ['-h', '127.0.0.1', '-P', '3306', '-u', 'root'], { input: sql, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mysql failed: ${result.stderr}`);
}

before(async () => {
  if (skip !== false) return;
  if (findAccount(OWNER) === undefined) execFileSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', OWNER]);
  ports = { submission: await freePort(), imap: await freePort(), sink: await freePort() };
  // The test's client on 127.0.0.1 is a stranger to port 25: mynetworks does not hold it.
  mx = await TestInstance.create('', 'postmaster: root\n', { mail_owner: OWNER, mynetworks: '192.0.2.0/24', relayhost: `[127.0.0.1]:${ports.sink}` });
  chmodSync(mx.root, 0o755);
  base = join(mx.root, 'vhosts');
  dovecotDir = join(mx.root, 'dovecot');
  mkdirSync(dovecotDir);
  const pki = makeTestPki();
  const id = String(freeId());
  readme = ReadmeSection.read(SECTION, [
    [/\b5000\b/g, id],
    [/\bvmail\b/g, VMAIL],
    [/\bmailserver\b/g, DATABASE],
    [/\bmailuser\b/g, DB_USER],
    ['user = petrel', `user = ${OWNER}`],
    ['group = petrel', `group = ${OWNER}`],
    [/^submission inet/gm, `127.0.0.1:${ports.submission} inet`],
    ['/etc/letsencrypt/live/mail.example.com/fullchain.pem', pki.serverCert],
    ['/etc/letsencrypt/live/mail.example.com/privkey.pem', pki.serverKey],
    ['/etc/petrel', mx.etc],
    ['/etc/dovecot', dovecotDir],
    ['/var/mail/vhosts', base],
    ['/var/spool/petrel', mx.queue],
  ]);

  // 1. The vmail account, as the README makes it.
  const shell = spawnSync('bash', ['-e', '-c', block('# the vmail account, as root')], { encoding: 'utf8' });
  assert.equal(shell.status, 0, shell.stderr);
  assert.equal(findAccount(VMAIL)?.uid, Number(id));
  // 2. The database.
  mysqlRoot(block('-- mailserver.sql'));
  // 3. Petrel's tables, readable by mail_owner and nobody else.
  const ownerGid = findGroupId(OWNER) as number;
  for (const table of ['mailbox-domains', 'mailbox-maps', 'alias-maps', 'email2email', 'mailbox-limit-maps']) {
    const file = join(mx.etc, `mysql-virtual-${table}.cf`);
    writeFileSync(file, block(`# /etc/petrel/mysql-virtual-${table}.cf`));
    chownSync(file, 0, ownerGid);
    chmodSync(file, 0o640);
  }
  // 4, 5. main.cf and master.cf.
  appendFileSync(join(mx.etc, 'main.cf'), block('# /etc/petrel/main.cf (added to the shipped file)'));
  appendFileSync(join(mx.etc, 'master.cf'), block('# /etc/petrel/master.cf (these entries)'));
  // 6. Dovecot, with what a test's own instance needs around the README's file: its own folders and a loopback IMAP port.
  writeFileSync(join(dovecotDir, 'dovecot-sql.conf.ext'), block('# /etc/dovecot/dovecot-sql.conf.ext'));
  const conf = join(dovecotDir, 'dovecot.conf');
  writeFileSync(
    conf,
    [
      `base_dir = ${join(dovecotDir, 'run')}`,
      `state_dir = ${join(dovecotDir, 'state')}`,
      `log_path = ${join(dovecotDir, 'dovecot.log')}`,
      'listen = 127.0.0.1',
      block('# /etc/dovecot/dovecot.conf'),
      `service imap-login {\n  inet_listener imap {\n    port = ${ports.imap}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}`,
      '',
    ].join('\n'),
  );
  // Dovecot puts its sockets into Petrel's private/, which petrel check creates.
  const check = mx.run('petrel', ['check']);
  assert.equal(check.status, 0, check.stderr);
  dovecot = await runDovecot(conf, ['dovecot-lmtp', 'auth', 'quota-status'].map((name) => join(mx.queue, 'private', name)));
  sink = await startSmtpPeer('127.0.0.1', ports.sink, { startTls: false });
  mx.start();
});

after(async () => {
  if (skip !== false) return;
  await stopDovecot(dovecot);
  mx?.remove();
  await sink?.close();
  mysqlRoot(`DROP DATABASE IF EXISTS ${DATABASE}; DROP USER IF EXISTS '${DB_USER}'@'127.0.0.1';`);
  for (const name of [VMAIL, OWNER]) spawnSync('userdel', [name]);
  spawnSync('groupdel', [VMAIL]);
});

/** Logs in to Dovecot's IMAP (STARTTLS first: ssl = required) as user. */
async function imapLogin(user: string): Promise<ImapClient> {
  const { client, greeting } = await ImapClient.open(ports.imap);
  assert.match(greeting, /^\* OK /);
  await client.startTls();
  const status = await client.login(user, PASSWORDS[user] as string);
  assert.match(status, /^OK /, `${user}: ${status}\n${readFileSync(join(dovecotDir, 'dovecot.log'), 'utf8')}`);
  return client;
}

/** The subjects in user's INBOX, as Dovecot's IMAP shows them, sorted. */
async function inbox(user: string): Promise<string[]> {
  const client = await imapLogin(user);
  const subjects = await client.subjects();
  await client.logout();
  return subjects.sort();
}

/** Sends one message from a stranger on port 25 with subject "label to rcpt"; returns its queue ID. */
function sendTo(rcpt: string, label: string, from = STRANGER, padding = 0): Promise<string> {
  return mx.submit(from, [rcpt], `Subject: ${label} to ${rcpt}\n\n${'x'.repeat(padding)}\n`);
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The mail flow of the README: each user, an alias of two users and the
 * catch-all, delivered by relay; then every mailbox holds exactly its own
 * messages of this label.
 */
async function mailFlow(label: string, relay: string): Promise<void> {
  const deliveries: [string, string[]][] = [
    ['alice@example.com', ['alice@example.com']],
    ['bob@example.com', ['bob@example.com']],
    ['carol@example.net', ['carol@example.net']],
    ['dave@example.net', ['dave@example.net']],
    ['info@example.com', ['alice@example.com', 'bob@example.com']],
    ['Anyone@example.net', ['carol@example.net']],
  ];
  const expected: Record<string, string[]> = {};
  for (const user of Object.keys(PASSWORDS)) expected[user] = await inbox(user);
  for (const [rcpt, users] of deliveries) {
    const id = await sendTo(rcpt, label);
    for (const user of users) {
      await mx.waitForLog(new RegExp(`${id}: to=<${escape(user)}>, (orig_to=<${escape(rcpt.toLowerCase())}>, )?relay=${relay}, .*status=sent`, 'i'));
      expected[user]?.push(`${label} to ${rcpt}`);
    }
  }
  for (const user of Object.keys(PASSWORDS)) assert.deepEqual(await inbox(user), (expected[user] as string[]).sort(), user);
}

/** petrel reload, then waits until the qmgr and virtual processes that ran before have been replaced. */
async function reload(): Promise<void> {
  const old = [...mx.daemonPids('qmgr'), ...mx.daemonPids('virtual')];
  assert.equal(mx.run('petrel', ['reload']).status, 0);
  for (const deadline = Date.now() + 30_000; mx.daemonPids('qmgr').length === 0 || [...mx.daemonPids('qmgr'), ...mx.daemonPids('virtual')].some((pid) => old.includes(pid)); ) {
    if (Date.now() > deadline) throw new Error('qmgr and virtual were not replaced after petrel reload');
    await sleep(50);
  }
}

test('virtual agent: each user sees exactly their own mail through IMAP; the alias reaches both users, the catch-all carol, not dave', { skip }, async () => {
  const query = mx.run('postmap', ['-q', 'alice@example.com', `mysql:${join(mx.etc, 'mysql-virtual-mailbox-maps.cf')}`]);
  assert.deepEqual([query.status, query.stdout], [0, 'example.com/alice/\n'], query.stderr);
  await mailFlow('virtual', 'virtual');
  const folder = statSync(join(base, 'example.com', 'alice', 'new'));
  const vmail = findAccount(VMAIL);
  assert.deepEqual([folder.uid, folder.gid], [vmail?.uid, vmail?.gid], 'written as the vmail account');
});

test('port 25: an unknown user of a hosted domain is 550 5.1.1, a foreign domain 554 5.7.1 Relay access denied', { skip }, async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.match(await client.command(`MAIL FROM:<${STRANGER}>`), /^250 /);
  assert.equal(await client.command('RCPT TO:<nobody@example.com>'), '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table');
  assert.equal(await client.command('RCPT TO:<someone@elsewhere.example>'), '554 5.7.1 <someone@elsewhere.example>: Relay access denied');
  await client.quit();
  await mx.waitForLog(/NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 554 5\.7\.1 <someone@elsewhere\.example>: Relay access denied; from=<stranger@example\.org> to=<someone@elsewhere\.example> proto=ESMTP helo=<client\.example>/);
});

test("port 25: Dovecot's quota-status, asked by check_policy_service, refuses at RCPT a message too big for what is left of dave's quota", { skip }, async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.match(await client.command(`MAIL FROM:<${STRANGER}> SIZE=${DAVE_QUOTA}`), /^250 /);
  assert.equal(await client.command('RCPT TO:<dave@example.net>'), '552 5.2.2 <dave@example.net>: Recipient address rejected: Mailbox is full');
  // alice has no quota (0 in her row).
  assert.match(await client.command('RCPT TO:<alice@example.com>'), /^250 /);
  await client.command('RSET');
  await client.quit();
  await mx.waitForLog(/NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 552 5\.2\.2 <dave@example\.net>: Recipient address rejected: Mailbox is full; from=<stranger@example\.org> to=<dave@example\.net> proto=ESMTP helo=<client\.example>/);
});

test('submission: STARTTLS, AUTH PLAIN checked by Dovecot against MariaDB (535 for a wrong password), relaying only once logged in', { skip }, async () => {
  const { client } = await SmtpClient.open(ports.submission);
  assert.doesNotMatch(await client.command('EHLO client.example'), /AUTH/);
  await client.startTls();
  assert.match(await client.command('EHLO client.example'), /250-AUTH PLAIN LOGIN/);
  assert.match(await client.command('MAIL FROM:<alice@example.com>'), /^250 /);
  assert.match(await client.command('RCPT TO:<friend@elsewhere.example>'), /^554 5\.7\.1 /, 'no relaying before AUTH');
  assert.match(await client.command('RSET'), /^250 /);
  const plain = (user: string, password: string): string => `AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`;
  assert.match(await client.command(plain('alice@example.com', 'bob pass')), /^535 5\.7\.8 /);
  assert.match(await client.command(plain('alice@example.com', 'alice pass')), /^235 2\.7\.0 /);
  const reply = await client.send('alice@example.com', ['friend@elsewhere.example'], 'Subject: submitted\n\nfrom alice, relayed\n');
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1];
  assert.ok(id !== undefined, reply);
  await mx.waitForLog(new RegExp(`${id}: client=localhost\\[127\\.0\\.0\\.1\\], sasl_method=PLAIN, sasl_username=alice@example\\.com`));
  await mx.waitForLog(new RegExp(`${id}: to=<friend@elsewhere\\.example>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${ports.sink}, .*status=sent`));
  assert.ok(sink?.received.some((m) => m.to.includes('friend@elsewhere.example') && /from alice, relayed/.test(m.data)));
  await mx.waitForLog(/warning: localhost\[127\.0\.0\.1\]: SASL PLAIN authentication failed: /);
});

/** The sizes of the messages a maildirsize file counts, and its limit line. */
function maildirsize(user: string): { limit: string; bytes: number; count: number } {
  const [local, domain] = user.split('@') as [string, string];
  const [limit, ...lines] = readFileSync(join(base, domain, local, 'maildirsize'), 'utf8').trim().split('\n');
  const sums = lines.map((line) => line.trim().split(/\s+/).map(Number)) as [number, number][];
  return { limit: limit as string, bytes: sums.reduce((n, [b]) => n + b, 0), count: sums.reduce((n, [, c]) => n + c, 0) };
}

test('quota: mail past dave\'s quota bounces to its sender (5.2.2), and Dovecot\'s IMAP quota shows the usage Petrel wrote', { skip }, async () => {
  const fits = await sendTo('dave@example.net', 'quota fits', 'alice@example.com', 1200);
  await mx.waitForLog(new RegExp(`${fits}: to=<dave@example\\.net>, relay=virtual, .*status=sent \\(delivered to maildir\\)`));
  const over = await sendTo('dave@example.net', 'quota over', 'alice@example.com', 1200);
  const log = await mx.waitForLog(new RegExp(`${over}: to=<dave@example\\.net>, relay=virtual, .*dsn=5\\.2\\.2, status=bounced \\(`));
  const notice = new RegExp(`${over}: sender non-delivery notification: ([0-9A-Z]+)`).exec(await mx.waitForLog(new RegExp(`${over}: sender non-delivery notification: `)))?.[1] as string;
  await mx.waitForLog(new RegExp(`${notice}: to=<alice@example\\.com>, relay=virtual, .*status=sent`));
  assert.doesNotMatch(log, new RegExp(`${over}: to=<dave@example\\.net>.*status=sent`));
  assert.deepEqual(await inbox('dave@example.net'), ['quota fits to dave@example.net', 'virtual to dave@example.net']);
  assert.ok((await inbox('alice@example.com')).includes('Undelivered Mail Returned to Sender'));

  const written = maildirsize('dave@example.net');
  assert.equal(written.limit, `${DAVE_QUOTA}S`);
  const client = await imapLogin('dave@example.net');
  const quota = await client.quota();
  await client.logout();
  // Dovecot counts KiB, rounding up.
  assert.deepEqual(quota.STORAGE, [Math.ceil(written.bytes / 1024), Math.ceil(DAVE_QUOTA / 1024)], JSON.stringify(quota));
  assert.deepEqual(maildirsize('dave@example.net'), written, 'Dovecot read the usage as Petrel wrote it');
});

let waiting = '';

test('without virtual_overquota_bounce, mail past the quota waits in the queue (4.2.2 deferred)', { skip }, async () => {
  assert.equal(mx.run('postconf', ['-X', 'virtual_overquota_bounce']).status, 0);
  await reload();
  waiting = await sendTo('dave@example.net', 'quota waits', STRANGER, 1200);
  await mx.waitForLog(new RegExp(`${waiting}: to=<dave@example\\.net>, relay=virtual, .*dsn=4\\.2\\.2, status=deferred \\(Sorry, the user's maildir has overdrawn his diskspace quota`));
  // Listed with its reason while deferred; an attempt in progress (ID*) shows none.
  assert.match(mx.run('postqueue', ['-p']).stdout, new RegExp(`^${waiting}\\W.*stranger@example\\.org\\n(.*\\n)?\\s+dave@example\\.net`, 'm'));
});

test('virtual_transport = lmtp:unix:private/dovecot-lmtp: the same flow with Dovecot storing the mail, and its own quota answer', { skip }, async () => {
  const line = block('# /etc/petrel/main.cf (the LMTP alternative)').split('\n')[1] as string;
  assert.equal(mx.run('postconf', ['-e', line]).status, 0);
  await reload();
  // Logged as Postfix's lmtp logs it: the socket as written in virtual_transport.
  await mailFlow('lmtp', 'mail\\.example\\.com\\[private/dovecot-lmtp\\]');
  await mx.waitForLog(/ postfix\/lmtp\[\d+\]: [0-9A-Z]+: to=<alice@example\.com>, relay=mail\.example\.com\[private\/dovecot-lmtp\], .*status=sent \(250 2\.0\.0 <alice@example\.com> \S+ Saved\)/);

  const over = await sendTo('dave@example.net', 'lmtp over', 'alice@example.com', 1500);
  await mx.waitForLog(new RegExp(`${over}: to=<dave@example\\.net>, relay=\\S+, .*dsn=5\\.2\\.2, status=bounced \\(host \\S+ said: 552 5\\.2\\.2 `));
  assert.ok(!(await inbox('dave@example.net')).includes('lmtp over to dave@example.net'));
  // The mail that waited for room is now Dovecot's to refuse, and goes back to its sender.
  await mx.waitForLog(new RegExp(`${waiting}: to=<dave@example\\.net>, relay=\\S+, .*dsn=5\\.2\\.2, status=bounced \\(host \\S+ said: 552 5\\.2\\.2 `));
});

test('every configuration block of the README section is one the test builds from', { skip }, () => {
  assert.deepEqual(readme.firstLines().sort(), [...used].sort());
});

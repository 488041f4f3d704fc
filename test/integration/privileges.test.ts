import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { findAccount, type Account } from '../../src/global/accounts.js';
import { TestInstance } from '../support/instance.js';
import { needRoot } from '../support/need.js';
import { REPO_ROOT } from '../support/run-command.js';
import { SmtpClient } from '../support/smtp-client.js';
import { makeTestPki } from '../support/tls-cert.js';

const skip = needRoot('an instance started as root runs its daemons as mail_owner and delivers as each user');
const OWNER = 'ptowner';
const ALICE = 'ptalice';
const BOB = 'ptbob';
let mx: TestInstance;
const accounts: Record<string, Account> = {};

function ensureUser(name: string, home: string): Account {
  if (findAccount(name) === undefined) execFileSync('useradd', ['-M', '-d', home, '-s', '/bin/sh', name]);
  else execFileSync('usermod', ['-d', home, name]);
  mkdirSync(home, { recursive: true });
  const account = findAccount(name) as Account;
  chownSync(home, account.uid, account.gid);
  chmodSync(home, 0o700);
  return account;
}

/** The uid a process runs as, from /proc. */
function processUid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:')) as string;
  return Number(line.split(/\s+/)[1]);
}

before(async () => {
  if (skip !== false) return;
  mx = await TestInstance.create('', '', { mail_owner: OWNER, home_mailbox: '', mail_spool_directory: '', default_privs: 'nobody' });
  const spool = join(mx.root, 'spool');
  mkdirSync(spool);
  chownSync(spool, 0, 8);
  chmodSync(spool, 0o2775);
  const drop = join(mx.root, 'drop');
  mkdirSync(drop);
  chmodSync(drop, 0o1777);
  accounts.owner = ensureUser(OWNER, join(mx.root, 'home', OWNER));
  accounts.alice = ensureUser(ALICE, join(mx.root, 'home', ALICE));
  accounts.bob = ensureUser(BOB, join(mx.root, 'home', BOB));
  chmodSync(join(mx.root, 'home'), 0o755);
  // Daemons that run as mail_owner must reach the queue below the test folder: petrel check says so.
  chmodSync(mx.root, 0o700);
  const check = mx.run('petrel', ['check']);
  assert.equal(check.status, 1);
  assert.match(check.stderr, new RegExp(`ptowner cannot reach it: ${mx.root} is not searchable by that account`));
  chmodSync(mx.root, 0o755);
  const forward = join(mx.root, 'home', ALICE, '.forward');
  writeFileSync(forward, `${join(mx.root, 'home', ALICE, 'Maildir')}/\n"|id -u > $HOME/command-uid"\n`);
  chownSync(forward, accounts.alice.uid, accounts.alice.gid);
  writeFileSync(join(mx.etc, 'aliases'), `postmaster: ${BOB}\nwhoami: "|id -un > ${drop}/alias-user"\n`);
  assert.equal(mx.run('newaliases', []).status, 0);
  assert.equal(mx.run('postconf', ['-e', `mail_spool_directory=${spool}`]).status, 0);
  // A TLS key only root may read, as certbot leaves it: smtpd reads it before it gives up root.
  const pki = makeTestPki();
  chmodSync(pki.serverKey, 0o600);
  chmodSync(pki.dir, 0o700);
  for (const setting of ['smtpd_tls_security_level=may', `smtpd_tls_cert_file=${pki.serverCert}`, `smtpd_tls_key_file=${pki.serverKey}`]) {
    assert.equal(mx.run('postconf', ['-e', setting]).status, 0);
  }
  mx.start();
});

after(() => {
  if (skip !== false) return;
  mx.remove();
  for (const name of [OWNER, ALICE, BOB]) spawnSync('userdel', [name]);
});

test('an instance started as root runs every daemon but local as mail_owner and owns its queue to it', { skip }, async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const reply = await client.send('sender@example.org', [`${BOB}@localhost`], 'Subject: to bob\n\nhello bob\n');
  assert.match(reply, /^250 2\.0\.0 Ok: queued as/);
  await client.quit();
  const log = await mx.waitForLog(/status=sent \(delivered to mailbox\)/);
  const owner = accounts.owner as Account;
  for (const daemon of ['smtpd', 'cleanup', 'qmgr', 'pickup', 'local']) {
    const pid = Number(new RegExp(`postfix/${daemon}\\[(\\d+)\\]`).exec(log)?.[1] ?? NaN);
    if (Number.isNaN(pid)) continue;
    if (existsSync(`/proc/${pid}`)) assert.equal(processUid(pid), daemon === 'local' ? 0 : owner.uid, `${daemon} runs as the wrong user`);
  }
  const qmgrPid = Number(/postfix\/qmgr\[(\d+)\]/.exec(log)?.[1]);
  assert.equal(processUid(qmgrPid), owner.uid);
  for (const dir of ['incoming', 'active', 'deferred', 'private', 'maildrop']) assert.equal(statSync(join(mx.queue, dir)).uid, owner.uid, dir);
  assert.equal(statSync(join(mx.queue, 'maildrop')).mode & 0o7777, 0o1733);
  const mbox = statSync(join(mx.root, 'spool', BOB));
  assert.equal(mbox.uid, (accounts.bob as Account).uid, 'the new spool mailbox belongs to the recipient');
  assert.equal(mbox.mode & 0o777, 0o600);
  assert.match(readFileSync(join(mx.root, 'spool', BOB), 'utf8'), /hello bob/);
});

test('smtpd, running as mail_owner, serves STARTTLS with a key only root can read', { skip }, async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const secure = await client.startTls();
  assert.match(secure.getProtocol() ?? '', /^TLSv1\.[23]$/);
  await client.command('EHLO client.example');
  assert.match(await client.send('sender@example.org', [`${BOB}@localhost`], 'Subject: tls\n\nover tls\n'), /^250 /);
  await client.quit();
  const log = mx.logText();
  const pid = Number(/postfix\/smtpd\[(\d+)\]/.exec(log)?.[1]);
  if (existsSync(`/proc/${pid}`)) assert.equal(processUid(pid), (accounts.owner as Account).uid);
});

test('a .forward is read, written to and run as its user; an alias command runs as default_privs', { skip }, async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.match(await client.send('sender@example.org', [`${ALICE}@localhost`, 'whoami@localhost'], 'Subject: forward\n\nhello alice\n'), /^250 /);
  await client.quit();
  await mx.waitForLog(/to=<whoami@localhost>.*status=sent/);
  await mx.waitForLog(new RegExp(`to=<${ALICE}@localhost>.*status=sent`));
  const alice = accounts.alice as Account;
  const maildir = join(mx.root, 'home', ALICE, 'Maildir', 'new');
  const [file] = readdirSync(maildir);
  assert.ok(file);
  assert.equal(statSync(join(maildir, file)).uid, alice.uid);
  assert.equal(statSync(join(mx.root, 'home', ALICE, 'Maildir')).uid, alice.uid);
  assert.equal(readFileSync(join(mx.root, 'home', ALICE, 'command-uid'), 'utf8').trim(), String(alice.uid));
  assert.equal(readFileSync(join(mx.root, 'drop', 'alias-user'), 'utf8').trim(), 'nobody');
});

test('an ordinary user submits with sendmail into the 1733 maildrop; pickup logs their uid; a planted symlink is removed', { skip }, async () => {
  const bob = accounts.bob as Account;
  const planted = join(mx.queue, 'maildrop', '0000000000000ABC');
  symlinkSync(join(mx.root, 'etc', 'main.cf'), planted);
  const sent = spawnSync(join(REPO_ROOT, 'bin', 'sendmail'), ['-c', mx.etc, '-f', `${BOB}@localhost`, `${BOB}@localhost`], {
    input: 'Subject: from bob\n\nsent by an ordinary user\n',
    encoding: 'utf8',
    uid: bob.uid,
    gid: bob.gid,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MAIL_CONFIG: '' },
  });
  assert.equal(sent.status, 0, sent.stderr);
  const log = await mx.waitForLog(new RegExp(`([0-9A-Z]+): uid=${bob.uid} from=<${BOB}@localhost>`));
  const id = new RegExp(`([0-9A-Z]+): uid=${bob.uid} from=<${BOB}@localhost>`).exec(log)?.[1] as string;
  await mx.waitForLog(new RegExp(`${id}: removed`));
  assert.match(readFileSync(join(mx.root, 'spool', BOB), 'utf8'), /sent by an ordinary user/);
  await mx.waitForLog(/maildrop\/0000000000000ABC: .*symbolic link.*; removed/);
  assert.equal(existsSync(planted), false);
});

/*
 * Petrel's virtual agent and Dovecot's "quota = maildir" plugin keep one
 * usage figure in a Maildir's maildirsize file: Dovecot (Debian's
 * dovecot-core, asked through doveadm) reads what Petrel wrote without
 * recalculating it, and Petrel's next delivery goes by what Dovecot's quota
 * recalculation wrote. Dovecot's quota-status policy service, asked by
 * check_policy_service on a second smtpd, refuses an over-quota mailbox at
 * RCPT with its quota_status_overquota reply.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { findAccount, type Account } from '../../src/global/accounts.js';
import { DOVECOT, stopDovecot } from '../support/dovecot.js';
import { freePort, TestInstance } from '../support/instance.js';
import { needFile, needRoot } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';

const DOVEADM = '/usr/bin/doveadm';
const QUOTA_STATUS = '/usr/lib/dovecot/quota-status';
const skip =
  needRoot('the virtual agent writes mailboxes as the uid and gid its tables give') ||
  needFile(DOVECOT, "Dovecot's maildir quota is the other side of maildirsize") ||
  needFile(DOVEADM, 'doveadm asks Dovecot for the quota') ||
  needFile('/usr/lib/dovecot/modules/lib10_quota_plugin.so', "Dovecot's quota plugin (dovecot-core)") ||
  needFile(QUOTA_STATUS, "Dovecot's quota policy service (dovecot-core)");
const VMAIL = 'ptvquota';
const USER = 'alice@vq.example';
/** Filled up through Petrel, then refused at RCPT by Dovecot's quota-status; bob stays under quota. */
const FULL = 'carol@vq.example';
const ROOMY = 'bob@vq.example';
/** Dovecot's quota_status_overquota reply. */
const OVERQUOTA = '552 5.2.2 Mailbox is full';
const LIMIT = 3000;
let mx: TestInstance;
let vmail: Account;
let mailbox: string;
let base: string;
/** The port of the smtpd whose recipient restrictions ask Dovecot's quota-status. */
let policedPort: number;
let dovecotConf: string;
let dovecot: ChildProcess | undefined;

before(async () => {
  if (skip !== false) return;
  if (findAccount(VMAIL) === undefined) execFileSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', VMAIL]);
  vmail = findAccount(VMAIL) as Account;
  mx = await TestInstance.create();
  chmodSync(mx.root, 0o755);
  base = join(mx.root, 'vmail');
  mkdirSync(base);
  chownSync(base, vmail.uid, vmail.gid);
  mailbox = join(base, 'vq.example', 'alice');
  writeFileSync(join(mx.etc, 'vmailbox'), `${USER} vq.example/alice/\n${FULL} vq.example/carol/\n${ROOMY} vq.example/bob/\n`);
  const settings = {
    virtual_mailbox_domains: 'vq.example',
    virtual_mailbox_maps: `texthash:${join(mx.etc, 'vmailbox')}`,
    virtual_mailbox_base: base,
    virtual_uid_maps: `static:${vmail.uid}`,
    virtual_gid_maps: `static:${vmail.gid}`,
    virtual_maildir_extended: 'yes',
    virtual_mailbox_limit: String(LIMIT),
  };
  appendFileSync(join(mx.etc, 'main.cf'), Object.entries(settings).map(([name, value]) => `${name} = ${value}\n`).join(''));
  const quotaStatusPort = await freePort();
  policedPort = await freePort();
  appendFileSync(
    join(mx.etc, 'master.cf'),
    ['virtual unix - n n - - virtual', `127.0.0.1:${policedPort} inet n - n - - smtpd -o smtpd_recipient_restrictions=check_policy_service,inet:127.0.0.1:${quotaStatusPort}`, ''].join('\n'),
  );
  mx.start();
  const dir = join(mx.root, 'dovecot');
  const run = join(dir, 'run');
  mkdirSync(run, { recursive: true });
  writeFileSync(join(dir, 'users'), [USER, FULL, ROOMY].map((user) => `${user}::${vmail.uid}:${vmail.gid}::${join(base, 'vq.example', user.replace(/@.*/, ''))}::\n`).join(''));
  dovecotConf = join(dir, 'dovecot.conf');
  writeFileSync(
    dovecotConf,
    [
      `base_dir = ${run}`,
      `state_dir = ${join(dir, 'state')}`,
      `log_path = ${join(dir, 'dovecot.log')}`,
      'protocols = lmtp',
      'ssl = no',
      'first_valid_uid = 1',
      'mail_location = maildir:~',
      'mail_plugins = quota',
      `passdb {\n  driver = passwd-file\n  args = ${join(dir, 'users')}\n}`,
      `userdb {\n  driver = passwd-file\n  args = ${join(dir, 'users')}\n}`,
      `plugin {\n  quota = maildir:User quota\n  quota_rule = *:storage=${LIMIT}B\n  quota_status_success = DUNNO\n  quota_status_nouser = DUNNO\n  quota_status_overquota = "${OVERQUOTA}"\n}`,
      `service quota-status {\n  executable = quota-status -p postfix\n  inet_listener {\n    address = 127.0.0.1\n    port = ${quotaStatusPort}\n  }\n  client_limit = 1\n}`,
      '',
    ].join('\n'),
  );
  dovecot = spawn(DOVECOT, ['-F', '-c', dovecotConf], { stdio: 'ignore' });
  for (let waited = 0; !existsSync(join(run, 'auth-userdb')); waited += 50) {
    if (dovecot.exitCode !== null || waited > 10_000) throw new Error(`dovecot did not start: ${readFileSync(join(dir, 'dovecot.log'), 'utf8')}`);
    await sleep(50);
  }
});

after(async () => {
  if (skip !== false) return;
  // Dovecot first: its configuration lives in the instance's folder.
  await stopDovecot(dovecot);
  mx.remove();
  spawnSync('userdel', [VMAIL]);
});

/** Dovecot's view of the quota: [kilobytes used, messages]. */
function dovecotQuota(): [number, number] {
  const out = execFileSync(DOVEADM, ['-c', dovecotConf, '-f', 'tab', 'quota', 'get', '-u', USER], { encoding: 'utf8' });
  const value = (type: string) => Number(out.split('\n').find((line) => line.split('\t')[1] === type)?.split('\t')[2]);
  return [value('STORAGE'), value('MESSAGE')];
}

function maildirsize(): string {
  return readFileSync(join(mailbox, 'maildirsize'), 'utf8');
}

function messages(): string[] {
  return readdirSync(join(mailbox, 'new')).map((name) => join(mailbox, 'new', name));
}

const size = (path: string): number => Number(/,S=(\d+)/.exec(path)?.[1]);
const body = `Subject: quota\n\n${'0123456789'.repeat(90)}\n`;

test('Dovecot reads the usage Petrel keeps in maildirsize; Petrel delivers by what Dovecot recalculated', { skip }, async () => {
  const first = await mx.submit('sender@example.org', [USER], body);
  await mx.waitForLog(new RegExp(`${first}: to=<${USER}>, relay=virtual, .*status=sent \\(delivered to maildir\\)`));
  const [m1] = messages();
  assert.equal(maildirsize(), `${LIMIT}S\n0 0\n${size(m1 as string)} 1\n`);
  const written = maildirsize();
  assert.deepEqual(dovecotQuota(), [Math.ceil(size(m1 as string) / 1024), 1]);
  assert.equal(maildirsize(), written, 'Dovecot read the file as Petrel wrote it, without recalculating it');

  const second = await mx.submit('sender@example.org', [USER], body);
  await mx.waitForLog(new RegExp(`${second}: to=<${USER}>, relay=virtual, .*status=sent`));
  const m2 = messages().find((path) => path !== m1) as string;
  const third = await mx.submit('sender@example.org', [USER], body);
  await mx.waitForLog(new RegExp(`${third}: to=<${USER}>, relay=virtual, .*dsn=4\\.2\\.2, status=deferred`));
  assert.deepEqual(dovecotQuota()[1], 2);

  // A message vanishes behind everyone's back; only Dovecot's recalculation notices.
  unlinkSync(m1 as string);
  execFileSync(DOVEADM, ['-c', dovecotConf, 'quota', 'recalc', '-u', USER]);
  assert.equal(maildirsize().split('\n').slice(0, 2).join('\n'), `${LIMIT}S\n${size(m2)} 1`, "Dovecot's own rewrite");
  await mx.waitForLog(new RegExp(`${third}: to=<${USER}>, relay=virtual, .*status=sent \\(delivered to maildir\\)`));
  const m3 = messages().find((path) => path !== m2) as string;
  assert.equal(maildirsize(), `${LIMIT}S\n${size(m2)} 1\n${size(m3)} 1\n`, "Petrel appended to Dovecot's file");
  assert.deepEqual(dovecotQuota(), [Math.ceil((size(m2) + size(m3)) / 1024), 2]);
});

test("Dovecot's quota-status, asked by check_policy_service, refuses an over-quota mailbox at RCPT and accepts one under quota", { skip }, async () => {
  // carol's Maildir is filled by Petrel's virtual agent to two thirds of the quota.
  for (let i = 0; i < 2; i++) {
    const id = await mx.submit('sender@example.org', [FULL], body);
    await mx.waitForLog(new RegExp(`${id}: to=<${FULL}>, relay=virtual, .*status=sent \\(delivered to maildir\\)`));
  }
  const { client } = await SmtpClient.openWhenListening(policedPort);
  await client.command('EHLO client.example');
  // A message of this size no longer fits in carol's mailbox, and still fits in bob's.
  assert.match(await client.command(`MAIL FROM:<sender@example.org> SIZE=${Math.floor(LIMIT / 2)}`), /^250 /);
  assert.equal(await client.command(`RCPT TO:<${FULL}>`), `${OVERQUOTA.slice(0, 10)}<${FULL}>: Recipient address rejected: ${OVERQUOTA.slice(10)}`);
  assert.match(await client.command(`RCPT TO:<${ROOMY}>`), /^250 /);
  assert.match(await client.command('DATA'), /^354 /);
  assert.match(await client.command(body.replace(/\n/g, '\r\n') + '.'), /^250 /);
  await client.quit();
  await mx.waitForLog(new RegExp(`to=<${ROOMY}>, relay=virtual, .*status=sent \\(delivered to maildir\\)`));
  assert.match(mx.logText(), new RegExp(`reject: RCPT from \\S+\\[127\\.0\\.0\\.1\\]: 552 5\\.2\\.2 <${FULL}>: Recipient address rejected: Mailbox is full; from=<sender@example\\.org> to=<${FULL}>`));
  assert.equal(readdirSync(join(base, 'vq.example', 'carol', 'new')).length, 2);
});

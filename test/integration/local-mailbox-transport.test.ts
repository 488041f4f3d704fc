/*
 * local(8) handing mailbox delivery to another transport, against Debian's
 * Dovecot LMTP server: mailbox_transport_maps by user name, then
 * fallback_transport for users the passwd database does not know, each
 * delivered (or refused) and logged by the lmtp agent, once; a user the
 * passwd database knows and neither names gets the local mailbox. The
 * instance is started by root with its own mail_owner, as in production,
 * so local looks users up in the real passwd database.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { findAccount } from '../../src/global/accounts.js';
import { DOVECOT, startDovecot, type Dovecot } from '../support/dovecot.js';
import { freePort, TestInstance } from '../support/instance.js';
import { needFile, needRoot } from '../support/need.js';

const OWNER = 'ptmbxowner';
const skip = needFile(DOVECOT, "Debian's dovecot-core and dovecot-lmtpd are the LMTP peer") || needRoot('local looks users up in the passwd database only when started by root');
let mx: TestInstance;
let dovecot: Dovecot;
let dovecotDir: string;

before(async () => {
  if (skip !== false) return;
  if (findAccount(OWNER) === undefined) execFileSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', OWNER]);
  dovecotDir = mkdtempSync(join(tmpdir(), 'petrel-dovecot-'));
  dovecot = await startDovecot(dovecotDir, await freePort());
  const lmtp = `lmtp:unix:${dovecot.socket}`;
  mx = await TestInstance.create('', 'postmaster: root\n', { mail_owner: OWNER, mailbox_transport_maps: `inline:{ known=${lmtp} }`, fallback_transport: lmtp });
  appendFileSync(join(mx.etc, 'master.cf'), 'lmtp unix - - n - - lmtp\n');
  // The daemons that run as mail_owner must reach the queue below the test folder.
  chmodSync(mx.root, 0o755);
  mx.start();
});

after(async () => {
  if (skip !== false) return;
  mx.remove();
  await dovecot.stop();
  rmSync(dovecotDir, { recursive: true, force: true });
  spawnSync('userdel', [OWNER]);
});

test('mailbox_transport_maps hands a user to Dovecot LMTP, which delivers and logs it once', { skip }, async () => {
  const id = await mx.submit('root@localhost', ['known@localhost'], 'Subject: via lmtp\n\nhanded on by local\n');
  const relay = `mx\\.test\\.example\\[${dovecot.socket.replace(/[.[\]]/g, '\\$&')}\\]`;
  await mx.waitForLog(new RegExp(`${id}: to=<known@localhost>, relay=${relay}, .*dsn=2\\.0\\.0, status=sent \\(250 2\\.0\\.0 <known@localhost> \\S+ Saved\\)`));
  await mx.waitForLog(new RegExp(`${id}: removed`));
  assert.equal(dovecot.delivered('known').length, 1);
  assert.equal([...mx.logText().matchAll(new RegExp(`${id}: to=<known@localhost>`, 'g'))].length, 1);
});

test('fallback_transport takes a user the passwd database does not know; Dovecot refuses it and the lmtp agent bounces it', { skip }, async () => {
  const id = await mx.submit('root@localhost', ['nobody-here@localhost'], 'Subject: unknown\n\nto no one\n');
  await mx.waitForLog(new RegExp(`${id}: to=<nobody-here@localhost>, relay=mx\\.test\\.example\\[[^\\]]+\\], .*dsn=5\\.1\\.1, status=bounced \\(host \\S+ said: 550 5\\.1\\.1 <nobody-here@localhost> User doesn't exist`));
  assert.doesNotMatch(mx.logText(), /unknown user: "nobody-here"/);
});

test('a user in the passwd database that no map names gets the local mailbox', { skip }, async () => {
  const id = await mx.submit('root@localhost', ['root@localhost'], 'Subject: to root\n\nstays local\n');
  await mx.waitForLog(new RegExp(`${id}: to=<root@localhost>, relay=local, .*status=sent \\(delivered to maildir\\)`));
});

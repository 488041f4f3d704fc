import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DOVECOT, startDovecot, type Dovecot } from '../support/dovecot.js';
import { freePort, TestInstance } from '../support/instance.js';
import { needFile } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';

const skip = needFile(DOVECOT, "Debian's dovecot-core and dovecot-lmtpd are the LMTP peer");
let mx: TestInstance;
let dovecot: Dovecot;
let dovecotDir: string;

before(async () => {
  if (skip !== false) return;
  dovecotDir = mkdtempSync(join(tmpdir(), 'petrel-dovecot-'));
  dovecot = await startDovecot(dovecotDir, await freePort());
  mx = await TestInstance.create('', 'postmaster: root\n', {
    transport_maps: `inline:{ dove.test=lmtp:unix:${dovecot.socket}, dovetcp.test=lmtp:inet:127.0.0.1:${dovecot.port} }`,
    // Long enough that a slow machine still finds the connection kept between two messages.
    lmtp_connection_cache_time_limit: '10s',
  });
  appendFileSync(join(mx.etc, 'master.cf'), 'lmtp unix - - n - - lmtp\n');
  mx.start();
});

after(async () => {
  if (skip !== false) return;
  mx.remove();
  await dovecot.stop();
  rmSync(dovecotDir, { recursive: true, force: true });
});

test('LMTP to Dovecot over a UNIX socket: delivered, unknown user bounced, a temporary failure after DATA deferred, each for its recipient only', { skip }, async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const reply = await client.send('alice@localhost', ['known@dove.test', 'nobody@dove.test', 'broken@dove.test'], 'Subject: to dovecot\n\nover lmtp\n');
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;
  const log = await mx.waitForLog(new RegExp(`${id}: to=<broken@dove\\.test>.*status=deferred`));
  const relay = `mx\\.test\\.example\\[${dovecot.socket.replace(/[.[\]]/g, '\\$&')}\\]`;
  assert.match(log, new RegExp(`${id}: to=<known@dove\\.test>, relay=${relay}, delay=[\\d.]+, delays=[\\d./]+, dsn=2\\.0\\.0, status=sent \\(250 2\\.0\\.0 <known@dove\\.test> \\S+ Saved\\)`));
  assert.match(log, new RegExp(`${id}: to=<nobody@dove\\.test>, relay=${relay},.*dsn=5\\.1\\.1, status=bounced \\(host ${relay} said: 550 5\\.1\\.1 <nobody@dove\\.test> User doesn't exist: nobody@dove\\.test \\(in reply to RCPT TO command\\)\\)`));
  assert.match(log, new RegExp(`${id}: to=<broken@dove\\.test>, relay=${relay},.*dsn=4\\.2\\.0, status=deferred \\(host ${relay} said: 451 4\\.2\\.0 <broken@dove\\.test> Internal error occurred.* \\(in reply to end of DATA command\\)\\)`));
  assert.equal(dovecot.delivered('known').length, 1);
});

test('LMTP over TCP (lmtp:inet:host:port)', { skip }, async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const reply = await client.send('alice@localhost', ['known@dovetcp.test'], 'Subject: tcp\n\nover lmtp tcp\n');
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;
  await mx.waitForLog(new RegExp(`${id}: to=<known@dovetcp\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${dovecot.port},.*status=sent`));
  assert.equal(dovecot.delivered('known').length, 2);
});

test('an LMTP connection is kept for the next delivery to the same next hop (conn_use=2)', { skip }, async () => {
  const first = await mx.submit('alice@localhost', ['known@dovetcp.test'], 'Subject: first\n\none\n');
  await mx.waitForLog(new RegExp(`${first}: to=<known@dovetcp\\.test>.*status=sent`));
  const second = await mx.submit('alice@localhost', ['known@dovetcp.test'], 'Subject: second\n\ntwo\n');
  await mx.waitForLog(new RegExp(`${second}: to=<known@dovetcp\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${dovecot.port}, conn_use=\\d+,.*status=sent`));
  assert.equal(dovecot.delivered('known').length, 4);
});

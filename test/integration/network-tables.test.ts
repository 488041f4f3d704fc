/*
 * socketmap:, tcp: and redis: tables in a running Petrel: smtpd's
 * local_recipient_maps on a socketmap server, cleanup's virtual_alias_maps
 * on a tcp_table server, local's alias_maps in the real Redis behind a
 * forwarder. Each server is stopped mid-run (mail is refused with a 4xx or
 * deferred, never treated as "unknown") and started again (mail flows
 * again, without a restart of Petrel).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { waitFor } from '../support/wait.js';
import { forwarder, needRedis, REDIS_PORT, socketmapServer, tcpTableServer, type TestServer } from '../global/tables/table-servers.js';

const P = `petrel-it:${process.pid}:${Date.now()}:`;

const skip = await needRedis('alias_maps = redis: needs the real server');
const USERS = new Set(['root', 'info', 'sales']);
let instance: TestInstance | undefined;
let socketmap: TestServer;
let tcp: TestServer;
let redisFront: TestServer;
let admin: Redis | undefined;

before(async () => {
  if (skip !== false) return;
  admin = new Redis({ host: '127.0.0.1', port: REDIS_PORT, lazyConnect: true });
  await admin.connect();
  await admin.set(`${P}alias:info`, 'root');
  socketmap = await socketmapServer((request) => (USERS.has(request.slice('users '.length)) ? 'OK yes' : 'NOTFOUND ')).listen();
  tcp = await tcpTableServer((line) => (line === 'get sales@mx.test.example' ? '200 root@mx.test.example' : '500 no')).listen();
  redisFront = await forwarder(REDIS_PORT).listen();
  instance = await TestInstance.create('', 'postmaster: root\n', {
    local_recipient_maps: `socketmap:inet:127.0.0.1:${socketmap.port}:users`,
    virtual_alias_maps: `tcp:127.0.0.1:${tcp.port}`,
    // The outages below must be seen at once, not after answers kept from before them.
    petrel_table_cache_time: '0',
  });
  const redisCf = join(instance.etc, 'redis-aliases.cf');
  writeFileSync(redisCf, `hosts = 127.0.0.1:${redisFront.port}\nkey_format = ${P}alias:%s\ntimeout = 2s\n`);
  writeFileSync(join(instance.etc, 'main.cf'), `alias_maps = hash:${join(instance.etc, 'aliases')}, redis:${redisCf}\n`, { flag: 'a' });
  // petrel start runs synchronously: no lookup reaches the servers of this process meanwhile.
  instance.start();
});

after(async () => {
  instance?.remove();
  for (const server of [socketmap, tcp, redisFront]) await server?.stop();
  if (admin !== undefined) {
    const keys = await admin.keys(`${P}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  }
});

/** The reply to RCPT TO:<rcpt> in a new session. */
async function rcptReply(rcpt: string): Promise<string> {
  const { client } = await SmtpClient.open((instance as TestInstance).port);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<sender@client.example>');
  const reply = await client.command(`RCPT TO:<${rcpt}>`);
  await client.quit();
  return reply;
}

/** Sends one message and returns the final reply. */
async function send(rcpt: string, subject: string): Promise<string> {
  const { client } = await SmtpClient.open((instance as TestInstance).port);
  await client.command('EHLO client.example');
  const reply = await client.send('sender@client.example', [rcpt], `Subject: ${subject}\n\nbody\n`);
  await client.quit();
  return reply;
}

test('local_recipient_maps on a socketmap server: known, unknown, server down (4xx), server back', { skip }, async () => {
  assert.match(await rcptReply('root@mx.test.example'), /^250 /);
  assert.match(await rcptReply('nobody@mx.test.example'), /^550 5\.1\.1 /);
  await socketmap.stop();
  const down = await rcptReply('root@mx.test.example');
  assert.match(down, /^451 4\.3\.0 <root@mx\.test\.example>: Temporary lookup failure/, 'a table that cannot answer defers, it never says "unknown"');
  // The session goes on after the temporary refusal, as Postfix's does.
  const { client } = await SmtpClient.open((instance as TestInstance).port);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<sender@client.example>');
  assert.match(await client.command('RCPT TO:<root@mx.test.example>'), /^451 /);
  assert.match(await client.command('RSET'), /^250 /);
  await client.quit();
  assert.match(await rcptReply('nobody@mx.test.example'), /^4\d\d 4\.3\.0 /);
  await socketmap.listen();
  assert.match(await rcptReply('root@mx.test.example'), /^250 /);
  assert.match(await rcptReply('nobody@mx.test.example'), /^550 5\.1\.1 /);
});

test('virtual_alias_maps on a tcp_table server: rewritten, refused for now at RCPT (451) while the server is down, rewritten again', { skip }, async () => {
  const it = instance as TestInstance;
  assert.match(await send('sales@mx.test.example', 'via tcp one'), /^250 /);
  await it.waitForLog(/to=<root@mx\.test\.example>, orig_to=<sales@mx\.test\.example>.*status=sent/);
  await tcp.stop();
  // The recipient cannot be rewritten: refused for now at RCPT, never taken as it stands.
  assert.match(await rcptReply('sales@mx.test.example'), /^451 4\.3\.0 <sales@mx\.test\.example>: Temporary lookup failure/);
  await tcp.listen();
  assert.match(await send('sales@mx.test.example', 'via tcp three'), /^250 /);
  await waitFor(() => it.maildir('root').filter((m) => /Subject: via tcp/.test(m)).length >= 2, 'both messages via tcp in the Maildir of root');
  const subjects = it.maildir('root').flatMap((m) => /Subject: (via tcp \w+)/.exec(m)?.[1] ?? []).sort();
  assert.deepEqual(subjects, ['via tcp one', 'via tcp three']);
});

test('alias_maps in Redis: deferred while Redis is unreachable, delivered once it is back', { skip }, async () => {
  const it = instance as TestInstance;
  await redisFront.stop();
  const reply = await send('info@mx.test.example', 'alias in redis');
  const id = /queued as (\w+)/.exec(reply)?.[1];
  assert.ok(id !== undefined, reply);
  await it.waitForLog(new RegExp(`${id}: to=<info@mx\\.test\\.example>.*dsn=4\\.3\\.0, status=deferred`));
  assert.equal(it.maildir('root').filter((m) => /Subject: alias in redis/.test(m)).length, 0);
  await redisFront.listen();
  const log = await it.waitForLog(new RegExp(`${id}: to=<info@mx\\.test\\.example>.*status=sent \\(forwarded as \\w+\\)`), 30_000);
  const forwarded = new RegExp(`${id}: to=<info@.*forwarded as (\\w+)`).exec(log)?.[1] as string;
  await it.waitForLog(new RegExp(`${forwarded}: to=<root@mx\\.test\\.example>, orig_to=<info@mx\\.test\\.example>.*status=sent`));
  assert.equal(it.maildir('root').filter((m) => /Subject: alias in redis/.test(m)).length, 1);
});

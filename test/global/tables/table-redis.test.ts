import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { PetrelError } from '../../../src/global/errors.js';
import { openTable } from '../../../src/global/tables/table-registry.js';
import { REPO_ROOT } from '../../support/run-command.js';
import { forwarder, needRedis, REDIS_PORT, runAsync, tableTestDir, temporary, TestServer, withTable } from './table-servers.js';

const skip = await needRedis('the redis: table tests use the real server');
const { dir, ctx } = tableTestDir('petrel-redis-');
/** Every key this run writes starts with this, so parallel runs never meet. */
const P = `petrel-test:${process.pid}:${Date.now()}:`;
let admin: Redis | undefined;

before(async () => {
  if (skip !== false) return;
  admin = new Redis({ host: '127.0.0.1', port: REDIS_PORT, lazyConnect: true });
  await admin.connect();
  await admin.set(`${P}user:alice@example.com`, 'alice/Maildir/');
  await admin.set(`${P}user:bob@example.org`, 'bob@elsewhere.example');
  await admin.set(`${P}user:MixedCase@example.com`, 'only with -f');
  await admin.set(`${P}user:empty@example.com`, '');
  await admin.set(`${P}mbox:example.com:carol`, 'carol-box');
  await admin.hset(`${P}aliases`, { 'postmaster@example.com': 'root@example.com', 'info@example.com': 'alice@example.com,bob@example.org' });
  await admin.hset(`${P}domain:example.net`, { dave: 'dave/Maildir/' });
  await admin.hset(`${P}hash-not-string`, { a: '1' });
  const db1 = admin.duplicate({ db: 1 });
  await db1.set(`${P}user:alice@example.com`, 'from db 1');
  db1.disconnect();
});

after(async () => {
  if (admin === undefined) return;
  for (const db of [0, 1]) {
    await admin.select(db);
    const keys = await admin.keys(`${P}*`);
    if (keys.length > 0) await admin.del(...keys);
  }
  admin.disconnect();
});

let files = 0;
/** Writes a configuration file and returns its redis: spec. */
function cf(text: string): string {
  const path = join(dir, `redis-${++files}.cf`);
  writeFileSync(path, text);
  return `redis:${path}`;
}

test('GET with key_format and result_format; keys are lower-cased unless told not to', { skip }, async () => {
  const spec = cf(`hosts = 127.0.0.1:${REDIS_PORT}\nkey_format = ${P}user:%s\n`);
  await withTable(spec, ctx, async (table) => {
    assert.equal(table.pattern, false);
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
    assert.equal(await table.lookup('Alice@Example.COM'), 'alice/Maildir/');
    assert.equal(await table.lookup('MixedCase@example.com'), undefined);
    assert.equal(await table.lookup('nobody@example.com'), undefined);
    assert.equal(await table.lookup('empty@example.com'), undefined, 'an empty value is skipped, as an empty SQL result');
  });
  await withTable(spec, { ...ctx, foldKeys: false }, async (table) => assert.equal(await table.lookup('MixedCase@example.com'), 'only with -f'));

  const formatted = cf(`hosts = inet:127.0.0.1\nkey_format = ${P}user:%s\nresult_format = %u+%U@%D\n`);
  await withTable(formatted, ctx, async (table) => {
    assert.equal(await table.lookup('bob@example.org'), 'bob+bob@example.org');
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/+alice@example.com', 'a value without @ is its own local part');
  });
  const domainOfValue = cf(`hosts = localhost:${REDIS_PORT}\nkey_format = ${P}user:%s\nresult_format = %d\n`);
  await withTable(domainOfValue, ctx, async (table) => {
    assert.equal(await table.lookup('bob@example.org'), 'elsewhere.example');
    assert.equal(await table.lookup('alice@example.com'), undefined, 'an unqualified value has no %d: skipped');
  });
});

test('key_format with %u and %d, and lookups it suppresses', { skip }, async () => {
  const spec = cf(`hosts = 127.0.0.1\nkey_format = ${P}mbox:%d:%u\n`);
  await withTable(spec, ctx, async (table) => {
    assert.equal(await table.lookup('carol@example.com'), 'carol-box');
    assert.equal(await table.lookup('example.com'), undefined, 'no domain: no lookup');
    assert.equal(await table.lookup('@example.com'), undefined, 'empty local part: no lookup');
  });
});

test('HGET in the hash named by "hash", whose name may use %d too', { skip }, async () => {
  const aliases = cf(`hosts = 127.0.0.1\nhash = ${P}aliases\n`);
  await withTable(aliases, ctx, async (table) => {
    assert.equal(await table.lookup('postmaster@example.com'), 'root@example.com');
    assert.equal(await table.lookup('Info@Example.com'), 'alice@example.com,bob@example.org');
    assert.equal(await table.lookup('nobody@example.com'), undefined);
  });
  const perDomain = cf(`hosts = 127.0.0.1\nhash = ${P}domain:%d\nkey_format = %u\nresult_format = /var/mail/vhosts/%D/%s\n`);
  await withTable(perDomain, ctx, async (table) => {
    assert.equal(await table.lookup('dave@example.net'), '/var/mail/vhosts/example.net/dave/Maildir/');
    assert.equal(await table.lookup('dave'), undefined);
    assert.equal(await table.lookup('dave@example.com'), undefined);
  });
});

test('the domain filter stops lookups of keys outside the listed domains', { skip }, async () => {
  const file = join(dir, 'hosted-domains');
  writeFileSync(file, 'example.org\n');
  const spec = cf(`hosts = 127.0.0.1\nkey_format = ${P}user:%s\ndomain = example.com, ${file}\n`);
  await withTable(spec, ctx, async (table) => {
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
    assert.equal(await table.lookup('bob@example.org'), 'bob@elsewhere.example');
    await admin?.set(`${P}user:example.com`, 'bare domain');
    await admin?.set(`${P}user:x@example.net`, 'other domain');
    assert.equal(await table.lookup('example.com'), undefined, 'a bare domain is not looked up');
    assert.equal(await table.lookup('x@example.net'), undefined, 'a domain not listed is not looked up');
  });
});

test('db selects the database; a wrong password or a key of another type is a temporary error', { skip }, async () => {
  await withTable(cf(`hosts = 127.0.0.1\ndb = 1\nkey_format = ${P}user:%s\n`), ctx, async (table) => {
    assert.equal(await table.lookup('alice@example.com'), 'from db 1');
  });
  await withTable(cf(`hosts = 127.0.0.1\nusername = petrel-no-such-user\npassword = wrong\nkey_format = ${P}user:%s\n`), ctx, async (table) => {
    await assert.rejects(table.lookup('alice@example.com'), temporary(/lookup error: cannot connect to any server \(127\.0\.0\.1:6379: WRONGPASS/));
  });
  await withTable(cf(`hosts = 127.0.0.1\nkey_format = ${P}%s\n`), ctx, async (table) => {
    await assert.rejects(table.lookup('hash-not-string'), temporary(/WRONGTYPE/));
  });
});

test('an unreachable server is a temporary error at once; hosts fail over in order', { skip }, async () => {
  const dead = await new TestServer(() => {}).listen();
  const port = dead.port;
  await dead.stop();
  await withTable(cf(`hosts = 127.0.0.1:${port}\nkey_format = ${P}user:%s\n`), ctx, async (table) => {
    const started = Date.now();
    await assert.rejects(table.lookup('alice@example.com'), temporary(/cannot connect to any server \(127\.0\.0\.1:\d+: Connection refused\)/));
    assert.ok(Date.now() - started < 2000, 'no waiting for a refused connection');
  });
  await withTable(cf(`hosts = 127.0.0.1:${port} 127.0.0.1:${REDIS_PORT}\nkey_format = ${P}user:%s\n`), ctx, async (table) => {
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
    assert.equal(await table.lookup('bob@example.org'), 'bob@elsewhere.example');
  });
});

test('a server that accepts but never answers fails the lookup at the timeout', { skip }, async () => {
  const silent = await new TestServer(() => {}).listen();
  await withTable(cf(`hosts = 127.0.0.1:${silent.port}\ntimeout = 1s\n`), ctx, async (table) => {
    const started = Date.now();
    await assert.rejects(table.lookup('alice@example.com'), temporary(/cannot connect to any server \(127\.0\.0\.1:\d+: timed out/));
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 5000, `took ${took} ms`);
  });
  await silent.stop();
});

test('a server that stops answering commands fails the lookup at the timeout; the next lookup uses a new connection', { skip }, async () => {
  const gate = { open: true };
  const front = await forwarder(REDIS_PORT, gate).listen();
  await withTable(cf(`hosts = 127.0.0.1:${front.port}\nkey_format = ${P}user:%s\ntimeout = 1\n`), ctx, async (table) => {
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
    gate.open = false;
    const started = Date.now();
    await assert.rejects(table.lookup('alice@example.com'), temporary(/lookup error: Command timed out/));
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 5000, `took ${took} ms`);
    gate.open = true;
    assert.equal(await table.lookup('bob@example.org'), 'bob@elsewhere.example');
    assert.equal(front.connections, 2);
  });
  await front.stop();
});

test('Redis stopped mid-run (a forwarder cut) is a temporary error; once it is back lookups work again', { skip }, async () => {
  const front = await forwarder(REDIS_PORT).listen();
  const spec = cf(`hosts = 127.0.0.1:${front.port}\nkey_format = ${P}user:%s\n`);
  const table = await openTable(spec, ctx);
  const other = await openTable(`proxy:${spec}`, ctx);
  assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
  assert.equal(await other.lookup('bob@example.org'), 'bob@elsewhere.example');
  assert.equal(front.connections, 1, 'tables of the same servers share one connection');

  await front.stop();
  await assert.rejects(table.lookup('alice@example.com'), temporary(/lookup error/));
  await assert.rejects(other.lookup('alice@example.com'), temporary(/lookup error/));
  await front.listen();
  assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');

  front.dropConnections();
  assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/', 'a connection cut between lookups is made again');
  await table.close();
  await other.close();
  await front.stop();
});

test('bad redis: configuration files are configuration errors', async () => {
  const cases: [string, RegExp][] = [
    ['key_format = %x\n', /key_format: invalid %-sequence "%x"/],
    ['result_format = %\n', /result_format: invalid %-sequence "%"/],
    ['db = one\n', /bad numerical configuration: .*db = one/],
    ['hosts = 127.0.0.1:notaport\n', /bad hosts item "127\.0\.0\.1:notaport"/],
    ['hosts = unix:\n', /bad hosts item "unix:"/],
    ['timeout = 0\n', /timeout parameter value 0: must be at least 1/],
    ['missing equals\n', /missing '=' after attribute name/],
  ];
  for (const [text, pattern] of cases) {
    await assert.rejects(openTable(cf(text), ctx), (err: unknown) => err instanceof PetrelError && err.code === 'config' && pattern.test(err.message), text);
  }
  await assert.rejects(openTable(`redis:${join(dir, 'nonexistent.cf')}`, ctx), /open .*nonexistent\.cf: No such file or directory/);
});

test('postmap -q answers from a redis: table and exits', { skip }, async () => {
  const spec = cf(`hosts = 127.0.0.1\nkey_format = ${P}user:%s\n`);
  const postmap = join(REPO_ROOT, 'bin', 'postmap');
  const found = await runAsync(postmap, ['-c', dir, '-q', 'Alice@Example.com', spec]);
  assert.deepEqual([found.stdout, found.status], ['alice/Maildir/\n', 0]);
  const many = await runAsync(postmap, ['-c', dir, '-q', '-', spec], 'alice@example.com\nnobody@example.com\nbob@example.org\n');
  assert.deepEqual([many.stdout, many.status], ['alice@example.com\talice/Maildir/\nbob@example.org\tbob@elsewhere.example\n', 0]);
  const down = await runAsync(postmap, ['-c', dir, '-q', 'alice@example.com', cf('hosts = 127.0.0.1:1\n')]);
  assert.equal(down.status, 1);
  assert.match(down.stderr, /postmap: fatal: table redis:.*: query error: .*cannot connect to any server/);
});

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { PetrelError } from '../../../src/global/errors.js';
import { openTable } from '../../../src/global/tables/table-registry.js';
import { openSocketmap, SOCKETMAP_LIMITS } from '../../../src/global/tables/table-socketmap.js';
import { needFile } from '../../support/need.js';
import { REPO_ROOT } from '../../support/run-command.js';
import { waitFor } from '../../support/wait.js';
import { runAsync, socketmapServer, tableTestDir, temporary, withTable } from './table-servers.js';

const { dir, ctx } = tableTestDir('petrel-socketmap-');

/** The map the test server knows: name "users", keys as given. */
const USERS: Readonly<Record<string, string>> = {
  'alice@example.com': 'alice/Maildir/',
  'Bob@Example.COM': 'bob mixed case',
  'clé': 'välue ünicode',
  'with space': 'spaced value',
};

function answer(request: string): string {
  const space = request.indexOf(' ');
  const name = request.slice(0, space);
  const key = request.slice(space + 1);
  if (name !== 'users') return `PERM unknown map ${name}`;
  if (key === 'temp') return 'TEMP database is busy';
  if (key === 'timeout') return 'TIMEOUT backend timed out';
  if (key === 'perm') return 'PERM broken';
  if (key === 'bare-ok') return 'OK';
  if (key === 'empty') return 'OK ';
  if (key === 'garbage') return 'MAYBE so';
  const value = USERS[key];
  return value === undefined ? 'NOTFOUND ' : `OK ${value}`;
}

test('socketmap:inet answers found, not found and the server\'s failures as temporary errors', async () => {
  const server = await socketmapServer(answer).listen();
  await withTable(`socketmap:inet:127.0.0.1:${server.port}:users`, ctx, async (table) => {
    assert.equal(table.pattern, true);
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
    assert.equal(await table.lookup('Bob@Example.COM'), 'bob mixed case', 'the key is sent as given');
    assert.equal(await table.lookup('clé'), 'välue ünicode');
    assert.equal(await table.lookup('with space'), 'spaced value');
    assert.equal(await table.lookup('nobody@example.com'), undefined);
    assert.equal(await table.lookup('empty'), '');
    assert.equal(await table.lookup('bare-ok'), undefined, 'a bare OK carries no data (Postfix: not found)');
    await assert.rejects(table.lookup('temp'), temporary(/socketmap server temporary error: database is busy/));
    await assert.rejects(table.lookup('timeout'), temporary(/socketmap server timeout error: backend timed out/));
    await assert.rejects(table.lookup('perm'), temporary(/socketmap server permanent error: broken/));
    await assert.rejects(table.lookup('garbage'), temporary(/malformed reply: "MAYBE so"/));
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/', 'the connection survives error replies');
  });
  assert.equal(server.connections, 1, 'one connection carried every lookup');
  await server.stop();
});

test('socketmap:unix talks to a Unix-domain socket; tables of one server share its connection', async () => {
  const path = join(dir, 'socketmap.sock');
  const server = await socketmapServer(answer).listen(path);
  const first = await openTable(`socketmap:unix:${path}:users`, ctx);
  const second = await openTable(`proxy:socketmap:unix:${path}:other`, ctx);
  assert.equal(await first.lookup('alice@example.com'), 'alice/Maildir/');
  await assert.rejects(second.lookup('alice@example.com'), temporary(/permanent error: unknown map other/));
  assert.equal(await first.lookup('nobody'), undefined);
  assert.equal(server.connections, 1);
  await first.close();
  await second.close();
  await server.stop();
});

test('concurrent lookups use a few connections, each answer going to its own request', async () => {
  const server = await socketmapServer((request) => `OK ${request.slice(6).toUpperCase()}`).listen();
  await withTable(`socketmap:inet:127.0.0.1:${server.port}:users`, ctx, async (table) => {
    const keys = Array.from({ length: 50 }, (_, i) => `key${i}`);
    assert.deepEqual(await Promise.all(keys.map((key) => table.lookup(key))), keys.map((key) => key.toUpperCase()));
  });
  assert.ok(server.connections >= 1 && server.connections <= SOCKETMAP_LIMITS.maxConnections, `${server.connections} connections`);
  await server.stop();
});

test('a server that closed the kept connection, or was stopped and started again, is reconnected', async () => {
  const server = await socketmapServer(answer).listen();
  await withTable(`socketmap:inet:127.0.0.1:${server.port}:users`, ctx, async (table) => {
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
    server.dropConnections();
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/', 'a closed kept connection is replaced');
    assert.equal(server.connections, 2);

    await server.stop();
    await assert.rejects(table.lookup('alice@example.com'), temporary(/lookup error: connect to 127\.0\.0\.1:\d+: Connection refused/));
    await server.listen();
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/', 'works again once the server is back');
  });
  await server.stop();
});

test('a connection the server closes in the middle of the reply, a bad netstring and an oversize reply are errors', async () => {
  const server = await socketmapServer((request) => {
    const key = request.slice(6);
    if (key === 'cut') return Buffer.from('20:OK trunc');
    if (key === 'nocomma') return Buffer.from('5:OK ab;');
    if (key === 'badlength') return Buffer.from('x5:OK ab,');
    if (key === 'big') return `OK ${'x'.repeat(SOCKETMAP_LIMITS.maxReply)}`;
    if (key === 'limit') return `OK ${'y'.repeat(SOCKETMAP_LIMITS.maxReply - 3)}`;
    return 'OK fine';
  }).listen();
  const spec = `socketmap:inet:127.0.0.1:${server.port}:users`;
  await withTable(spec, ctx, async (table) => {
    const cut = table.lookup('cut');
    // The server cuts the connection once the start of its reply is out.
    await waitFor(() => server.sent >= '20:OK trunc'.length, 'the start of the reply sent');
    server.dropConnections();
    await assert.rejects(cut, temporary(/lookup error: connection closed by the server in the middle of the reply/));
    await assert.rejects(table.lookup('nocomma'), temporary(/malformed netstring: no comma/));
    await assert.rejects(table.lookup('badlength'), temporary(/malformed netstring: bad length character/));
    await assert.rejects(table.lookup('big'), temporary(/netstring too long: more than 100000 bytes/));
    assert.equal((await table.lookup('limit'))?.length, SOCKETMAP_LIMITS.maxReply - 3, 'a reply of exactly the limit is accepted');
    assert.equal(await table.lookup('after'), 'fine', 'a new connection follows a broken one');
  });
  await server.stop();
});

test('a server that does not answer fails the lookup at its deadline', async () => {
  const server = await socketmapServer(() => undefined).listen();
  const table = await openSocketmap(`inet:127.0.0.1:${server.port}:users`, 'socketmap:test', { ...SOCKETMAP_LIMITS, timeoutMs: 300 });
  const started = Date.now();
  await assert.rejects(table.lookup('anything'), temporary(/timed out waiting for the reply/));
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 3000, `took ${took} ms`);
  await table.close();
  await server.stop();
});

test('bad socketmap names are configuration errors', async () => {
  const cases: [string, RegExp][] = [
    ['socketmap:inet:127.0.0.1:1234', /expected socketmap:inet:host:port:name/],
    ['socketmap:nomapname', /requires server:socketmap argument/],
    ['socketmap:inet:127.0.0.1:1234:', /requires server:socketmap argument/],
    ['socketmap:tcp:127.0.0.1:1234:map', /expected socketmap:inet:host:port:name/],
    ['socketmap:inet:127.0.0.1:99999:map', /expected socketmap:inet:host:port:name/],
    ['socketmap:unix::map', /expected socketmap:inet:host:port:name/],
  ];
  for (const [spec, pattern] of cases) {
    await assert.rejects(openTable(spec, ctx), (err: unknown) => err instanceof PetrelError && err.code === 'table_spec' && pattern.test(err.message), spec);
  }
});

const POSTMAP = '/usr/sbin/postmap';
const skipReference = needFile(POSTMAP, "Debian's postfix is the reference for socketmap answers");

test('postmap -q on a socketmap answers as Debian\'s postmap does on the same server', { skip: skipReference }, async () => {
  const server = await socketmapServer(answer).listen();
  const spec = `socketmap:inet:127.0.0.1:${server.port}:users`;
  const petrel = join(REPO_ROOT, 'bin', 'postmap');
  for (const key of ['Bob@Example.COM', 'nobody']) {
    const ours = await runAsync(petrel, ['-c', dir, '-q', key, spec]);
    const theirs = await runAsync(POSTMAP, ['-c', dir, '-q', key, spec]);
    assert.deepEqual([ours.stdout, ours.status], [theirs.stdout, theirs.status], key);
  }
  const input = 'alice@example.com\nnobody\nBob@Example.COM\nclé\nwith space\n';
  for (const flags of [[], ['-f']]) {
    const ours = await runAsync(petrel, ['-c', dir, ...flags, '-q', '-', spec], input);
    const theirs = await runAsync(POSTMAP, ['-c', dir, ...flags, '-q', '-', spec], input);
    assert.equal(ours.stdout, theirs.stdout, flags.join(' '));
    assert.equal(ours.status, theirs.status, flags.join(' '));
  }
  for (const key of ['temp', 'perm']) {
    const failed = await runAsync(petrel, ['-c', dir, '-q', key, spec]);
    const reference = await runAsync(POSTMAP, ['-c', dir, '-q', key, spec]);
    assert.equal(failed.status, reference.status, key);
    assert.match(failed.stderr, /postmap: fatal: table socketmap:inet:.*: query error/);
  }
  await server.stop();
  const down = await runAsync(petrel, ['-c', dir, '-q', 'alice@example.com', spec]);
  assert.equal(down.status, (await runAsync(POSTMAP, ['-c', dir, '-q', 'alice@example.com', spec])).status);
  assert.match(down.stderr, /Connection refused/);
});

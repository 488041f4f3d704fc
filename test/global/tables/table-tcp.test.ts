import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { PetrelError } from '../../../src/global/errors.js';
import { openTable } from '../../../src/global/tables/table-registry.js';
import { hexQuote, hexUnquote, openTcp, TCP_LIMITS } from '../../../src/global/tables/table-tcp.js';
import { needFile } from '../../support/need.js';
import { REPO_ROOT } from '../../support/run-command.js';
import { runAsync, tableTestDir, tcpTableServer, temporary, withTable } from './table-servers.js';

const { dir, ctx } = tableTestDir('petrel-tcp-');

/** What the server holds, by decoded key; values are sent %-encoded. */
const DATA: Readonly<Record<string, string>> = {
  'alice@example.com': 'alice/Maildir/',
  'Bob@Example.COM': 'value with spaces, 100% and a tab\there',
  'clé': 'välue',
  'a key with spaces': 'found',
};

/** The keys the server saw, as sent on the wire. */
const seen: string[] = [];

function answer(line: string): string | undefined {
  const match = /^get (\S*)$/.exec(line);
  if (match === null) return '400 bad%20request';
  const wire = match[1] as string;
  seen.push(wire);
  const key = Buffer.from(decodeURIComponent(wire), 'utf8').toString('utf8');
  if (key === 'busy') return '400 try%20later';
  if (key === 'badcode') return '300 what';
  if (key === 'badhex') return '200 50%ZZ';
  if (key === 'nostatus') return 'found it';
  if (key === 'big') return `200 ${'x'.repeat(TCP_LIMITS.maxReply)}`;
  if (key === 'limit') return `200 ${'y'.repeat(TCP_LIMITS.maxReply - 5)}`;
  if (key === 'silent') return undefined;
  const value = DATA[key];
  return value === undefined ? '500 not%20found' : `200 ${hexQuote(value)}`;
}

test('%XX quoting covers %, white space, control and non-ASCII bytes, and decodes any case', () => {
  assert.equal(hexQuote('user@example.com'), 'user@example.com');
  assert.equal(hexQuote('a b%c\td\n\x7f'), 'a%20b%25c%09d%0A%7F');
  assert.equal(hexQuote('clé'), 'cl%C3%A9');
  assert.equal(hexUnquote(Buffer.from('cl%c3%A9%20x')), 'clé x');
  assert.equal(hexUnquote(Buffer.from('100%')), undefined);
  assert.equal(hexUnquote(Buffer.from('%G0')), undefined);
});

test('tcp: sends "get KEY" quoted and answers 200 as found, 500 as not found, 400 as a temporary error', async () => {
  const server = await tcpTableServer(answer).listen();
  seen.length = 0;
  await withTable(`tcp:127.0.0.1:${server.port}`, ctx, async (table) => {
    assert.equal(table.pattern, true);
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
    assert.equal(await table.lookup('Bob@Example.COM'), DATA['Bob@Example.COM']);
    assert.equal(await table.lookup('clé'), 'välue');
    assert.equal(await table.lookup('a key with spaces'), 'found');
    assert.equal(await table.lookup('nobody'), undefined);
    await assert.rejects(table.lookup('busy'), temporary(/the server reports a temporary error: try later/));
    await assert.rejects(table.lookup('badcode'), temporary(/bad status code from the server: "300 what"/));
    await assert.rejects(table.lookup('badhex'), temporary(/malformed reply from the server: "200 50%ZZ"/));
    await assert.rejects(table.lookup('nostatus'), temporary(/malformed reply from the server: "found it"/));
    assert.equal((await table.lookup('limit'))?.length, TCP_LIMITS.maxReply - 5, 'a line of exactly 4096 bytes is accepted');
    await assert.rejects(table.lookup('big'), temporary(/reply text longer than 4096 bytes/));
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/', 'a new connection follows a broken one');
  });
  assert.deepEqual(seen.slice(0, 5), ['alice@example.com', 'Bob@Example.COM', 'cl%C3%A9', 'a%20key%20with%20spaces', 'nobody']);
  assert.equal(server.connections, 2, 'one connection until the oversize reply, one after');
  await server.stop();
});

test('a tcp: server stopped mid-run is a temporary error, and is used again once restarted', async () => {
  const server = await tcpTableServer(answer).listen();
  await withTable(`tcp:127.0.0.1:${server.port}`, ctx, async (table) => {
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
    server.dropConnections();
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/', 'a closed kept connection is replaced');
    await server.stop();
    await assert.rejects(table.lookup('alice@example.com'), temporary(/connect to 127\.0\.0\.1:\d+: Connection refused/));
    await server.listen();
    assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
  });
  await server.stop();
});

test('a tcp: server that does not answer fails the lookup at its deadline', async () => {
  const server = await tcpTableServer(answer).listen();
  const table = await openTcp(`127.0.0.1:${server.port}`, 'tcp:test', { ...TCP_LIMITS, timeoutMs: 300 });
  await assert.rejects(table.lookup('silent'), temporary(/timed out waiting for the reply/));
  assert.equal(await table.lookup('alice@example.com'), 'alice/Maildir/');
  await table.close();
  await server.stop();
});

test('bad tcp: names are configuration errors', async () => {
  for (const spec of ['tcp:localhost', 'tcp:host:port', 'tcp:127.0.0.1:0', 'tcp:', 'tcp:[::1]']) {
    await assert.rejects(openTable(spec, ctx), (err: unknown) => err instanceof PetrelError && err.code === 'table_spec' && /expected tcp:host:port/.test(err.message), spec);
  }
});

const POSTMAP = '/usr/sbin/postmap';
const skipReference = needFile(POSTMAP, "Debian's postfix is the reference for tcp: answers");

test('postmap -q on a tcp: table answers as Debian\'s postmap does on the same server', { skip: skipReference }, async () => {
  const server = await tcpTableServer(answer).listen();
  const spec = `tcp:127.0.0.1:${server.port}`;
  const petrel = join(REPO_ROOT, 'bin', 'postmap');
  const input = 'alice@example.com\nBob@Example.COM\nnobody\nclé\na key with spaces\n';
  for (const flags of [[], ['-f']]) {
    seen.length = 0;
    const ours = await runAsync(petrel, ['-c', dir, ...flags, '-q', '-', spec], input);
    const oursSeen = seen.splice(0);
    const theirs = await runAsync(POSTMAP, ['-c', dir, ...flags, '-q', '-', spec], input);
    assert.equal(ours.stdout, theirs.stdout, flags.join(' '));
    assert.equal(ours.status, theirs.status, flags.join(' '));
    assert.deepEqual(oursSeen, seen, 'the same bytes on the wire');
  }
  const single = await runAsync(petrel, ['-c', dir, '-q', 'Bob@Example.COM', spec]);
  assert.deepEqual([single.stdout, single.status], [`${DATA['Bob@Example.COM']}\n`, 0]);
  const missing = await runAsync(petrel, ['-c', dir, '-q', 'nobody', spec]);
  assert.equal(missing.status, (await runAsync(POSTMAP, ['-c', dir, '-q', 'nobody', spec])).status);
  await server.stop();
});

test('postconf -m lists the network table types, as Debian\'s lists socketmap and tcp', async () => {
  const ours = (await runAsync(join(REPO_ROOT, 'bin', 'postconf'), ['-m'])).stdout.split('\n');
  for (const type of ['redis', 'socketmap', 'tcp']) assert.ok(ours.includes(type), type);
  if (skipReference !== false) return;
  const theirs = (await runAsync('/usr/sbin/postconf', ['-c', dir, '-m'])).stdout.split('\n');
  for (const type of ['socketmap', 'tcp']) assert.ok(theirs.includes(type), `Debian's ${type}`);
});

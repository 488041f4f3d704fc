import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hashPassword } from '../../../src/global/sasl/password-hash.js';
import type { SaslClientInfo, SaslServer, SaslStep } from '../../../src/global/sasl/sasl-server.js';
import { TableSaslServer } from '../../../src/global/sasl/sasl-table.js';
import { runPetrel } from '../../support/run-command.js';
import { loadSqlite } from '../tables/sql-test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-sasl-table-'));
after(() => rmSync(dir, { recursive: true }));
const users = join(dir, 'sasl_users');

const CLIENT: SaslClientInfo = {
  service: 'smtp',
  localAddress: '127.0.0.1',
  localPort: 587,
  remoteAddress: '127.0.0.1',
  remotePort: 40000,
  secured: true,
  validClientCert: false,
};

before(async () => {
  writeFileSync(join(dir, 'main.cf'), '');
  const slow = (await hashPassword('unknowable', 'SHA512-CRYPT')).replace('$6$', '$6$rounds=100000$');
  writeFileSync(
    users,
    [
      '# users of the petrel SASL type',
      `alice ${await hashPassword('alice pw', 'SHA512-CRYPT')}`,
      `Bob.Smith@Example.COM\t${await hashPassword('bob pw', 'BLF-CRYPT')}`,
      `carol {PLAIN}carol pw`,
      `slow ${slow}`,
      '',
    ].join('\n'),
  );
  const built = runPetrel('postmap', ['-c', dir, `hash:${users}`]);
  assert.equal(built.status, 0, built.stderr);
});

async function plain(server: SaslServer, authcid: string, password: string, authzid = ''): Promise<SaslStep> {
  const exchange = await server.start('plain', CLIENT);
  return exchange.step(Buffer.from(`${authzid}\0${authcid}\0${password}`));
}

async function login(server: SaslServer, user: string, password: string): Promise<SaslStep> {
  const exchange = await server.start('LOGIN', CLIENT);
  assert.deepEqual(await exchange.step(undefined), { kind: 'challenge', challenge: Buffer.from('Username:') });
  assert.deepEqual(await exchange.step(Buffer.from(user)), { kind: 'challenge', challenge: Buffer.from('Password:') });
  return exchange.step(Buffer.from(password));
}

const refused = { kind: 'failure', reason: 'authentication failed', temporary: false };

for (const type of ['texthash', 'hash']) {
  test(`${type}: PLAIN and LOGIN against the table's hashes`, async () => {
    const server = new TableSaslServer({ table: `${type}:${users}`, configDir: dir });
    try {
      assert.deepEqual((await server.mechanisms()).map((m) => m.name), ['PLAIN', 'LOGIN']);
      assert.deepEqual(await plain(server, 'alice', 'alice pw'), { kind: 'success', username: 'alice' });
      // keys fold as the table folds them; the name reported is the client's
      assert.deepEqual(await plain(server, 'ALICE', 'alice pw'), { kind: 'success', username: 'ALICE' });
      assert.deepEqual(await plain(server, 'bob.smith@example.com', 'bob pw', 'bob.smith@example.com'), { kind: 'success', username: 'bob.smith@example.com' });
      assert.deepEqual(await login(server, 'Bob.Smith@example.com', 'bob pw'), { kind: 'success', username: 'Bob.Smith@example.com' });
      assert.deepEqual(await plain(server, 'alice', 'Alice pw'), refused);
      assert.deepEqual(await plain(server, 'alice', ''), refused);
      assert.deepEqual(await login(server, 'alice', 'bob pw'), refused);
      assert.deepEqual(await plain(server, 'nobody', 'alice pw'), refused);
      assert.deepEqual(await plain(server, 'carol', 'carol pw'), {
        kind: 'failure',
        reason: 'cleartext password scheme PLAIN is not accepted (store a hash made by petrel saslpasswd) for user carol',
        temporary: false,
      });
      assert.deepEqual(await (await server.start('CRAM-MD5', CLIENT)).step(undefined), { kind: 'failure', reason: 'mechanism CRAM-MD5 is not offered', temporary: false });
    } finally {
      await server.close();
    }
  });
}

test('a table that cannot answer makes a temporary failure, a later table is not asked', async () => {
  const server = new TableSaslServer({ table: `fail:broken, texthash:${users}`, configDir: dir });
  const step = await plain(server, 'alice', 'alice pw');
  assert.equal(step.kind, 'failure');
  assert.ok(step.kind === 'failure' && step.temporary);
  assert.match(step.kind === 'failure' ? step.reason : '', /user lookup failed: fail:broken: table lookup failed/);
  await server.close();
});

test('a table missing at start is opened once it exists', async () => {
  const later = join(dir, 'later');
  const server = new TableSaslServer({ table: `hash:${later}`, configDir: dir });
  await assert.rejects(server.mechanisms(), /later\.db: No such file or directory/);
  writeFileSync(later, `dave ${await hashPassword('dave pw', 'SHA256-CRYPT')}\n`);
  assert.equal(runPetrel('postmap', ['-c', dir, `hash:${later}`]).status, 0);
  assert.equal((await server.mechanisms()).length, 2);
  assert.deepEqual(await plain(server, 'dave', 'dave pw'), { kind: 'success', username: 'dave' });
  await server.close();
});

test('an empty table list is a configuration error', () => {
  assert.throws(() => new TableSaslServer({ table: ' , ', configDir: dir }), /needs a table of users/);
});

test('an unknown user costs as much hash work as a known one', async () => {
  const server = new TableSaslServer({ table: `texthash:${users}`, configDir: dir });
  const time = async (user: string): Promise<number> => {
    const started = performance.now();
    assert.deepEqual(await plain(server, user, 'guess'), refused);
    return performance.now() - started;
  };
  // "slow" has 20 times the default rounds: about 300 ms a check here. The
  // first check also starts the hashing worker, so it is left out, and the
  // quickest of three runs each stands for a machine busy with other work.
  await time('alice');
  const runs: { known: number; unknown: number }[] = [];
  for (let i = 0; i < 3; i++) runs.push({ known: await time('slow'), unknown: await time('no-such-user') });
  await server.close();
  const known = Math.min(...runs.map((run) => run.known));
  const unknown = Math.min(...runs.map((run) => run.unknown));
  assert.ok(known > 100, `a known user's check took ${known} ms`);
  assert.ok(unknown > known * 0.5, `an unknown user took ${unknown} ms, a known one ${known} ms`);
});

test('a sqlite: users table is asked at every AUTH: a changed password counts at once', async (t) => {
  const open = await loadSqlite('the petrel SASL type over sqlite:');
  if (typeof open === 'string') {
    t.skip(open);
    return;
  }
  const database = join(dir, 'users.sqlite');
  const db = new open(database);
  db.exec(`CREATE TABLE users (name TEXT PRIMARY KEY, hash TEXT); INSERT INTO users VALUES ('erin', '${await hashPassword('old pw', 'SHA512-CRYPT')}')`);
  const cf = join(dir, 'sasl-sqlite.cf');
  writeFileSync(cf, `dbpath = ${database}\nquery = SELECT hash FROM users WHERE name = '%s'\n`);
  const server = new TableSaslServer({ table: `sqlite:${cf}`, configDir: dir });
  try {
    assert.deepEqual(await plain(server, 'erin', 'old pw'), { kind: 'success', username: 'erin' });
    db.exec(`UPDATE users SET hash = '${await hashPassword('new pw', 'SHA512-CRYPT')}' WHERE name = 'erin'`);
    assert.deepEqual(await plain(server, 'erin', 'old pw'), refused);
    assert.deepEqual(await plain(server, 'erin', 'new pw'), { kind: 'success', username: 'erin' });
  } finally {
    db.close();
    await server.close();
  }
});

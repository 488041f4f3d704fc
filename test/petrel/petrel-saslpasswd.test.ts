import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { verifyPassword } from '../../src/global/sasl/password-hash.js';
import { TableSaslServer } from '../../src/global/sasl/sasl-table.js';
import { REPO_ROOT, runPetrel, type CommandResult } from '../support/run-command.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-saslpasswd-'));
after(() => rmSync(dir, { recursive: true }));
writeFileSync(join(dir, 'main.cf'), '');

function saslpasswd(args: readonly string[], input = ''): CommandResult {
  return runPetrel('petrel', ['saslpasswd', ...args], input);
}

const mode = (path: string): number => statSync(path).mode & 0o777;

/** The value of user's entry in a source file (the second field of its line). */
function hashOf(file: string, user: string): string {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.split('\t')[0] === user);
  assert.ok(line !== undefined, `no line for ${user}`);
  return line.split('\t')[1] as string;
}

test('adds a user to a new file (mode 0600) with a SHA512-CRYPT hash the petrel SASL type accepts', async () => {
  const file = join(dir, 'new_users');
  const added = saslpasswd([file, 'alice@example.com'], 'first secret\nignored second line\n');
  assert.equal(added.status, 0, added.stderr);
  assert.match(added.stderr, /added user alice@example\.com/);
  assert.equal(mode(file), 0o600);
  assert.match(readFileSync(file, 'utf8'), /^alice@example\.com\t\{SHA512-CRYPT\}\$6\$[^\n]+\n$/);
  assert.deepEqual(await verifyPassword('first secret', hashOf(file, 'alice@example.com')), { kind: 'match' });
  const server = new TableSaslServer({ table: `texthash:${file}`, configDir: dir });
  const exchange = await server.start('PLAIN', { service: 'smtp', localAddress: '::1', localPort: 587, remoteAddress: '::1', remotePort: 1, secured: true, validClientCert: false });
  assert.deepEqual(await exchange.step(Buffer.from('\0Alice@Example.com\0first secret')), { kind: 'success', username: 'Alice@Example.com' });
  await server.close();
});

test('reads only the first line: a writer that keeps standard input open does not hold the command', async () => {
  const file = join(dir, 'open_stdin_users');
  const child = spawn(join(REPO_ROOT, 'bin', 'petrel'), ['saslpasswd', file, 'kim'], { env: { ...process.env, MAIL_CONFIG: '' } });
  child.stdin.write('kim pw\n');
  const killer = setTimeout(() => child.kill(), 20_000);
  const [status] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  child.stdin.destroy();
  assert.equal(status, 0);
  assert.deepEqual(await verifyPassword('kim pw', hashOf(file, 'kim')), { kind: 'match' });
});

test('changes a user in place, keeping comments, other entries and the mode', async () => {
  const file = join(dir, 'users');
  const before = ['# SASL users', 'Bob {SHA256-CRYPT}$5$old', '  continued-old-value', '', 'carol {BLF-CRYPT}$2y$05$x', '# end'];
  writeFileSync(file, `${before.join('\n')}\n`);
  chmodSync(file, 0o640);
  const changed = saslpasswd(['-s', 'argon2id', file, 'bob'], 'new secret\r\n');
  assert.equal(changed.status, 0, changed.stderr);
  assert.match(changed.stderr, /changed user bob/);
  assert.equal(mode(file), 0o640);
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.deepEqual([lines[0], ...lines.slice(2)], ['# SASL users', '', 'carol {BLF-CRYPT}$2y$05$x', '# end', '']);
  assert.match(lines[1] as string, /^bob\t\{ARGON2ID\}\$argon2id\$/);
  assert.deepEqual(await verifyPassword('new secret', hashOf(file, 'bob')), { kind: 'match' });

  // a last line without a newline, and a later duplicate of the same key, are handled too
  writeFileSync(file, 'dave {SHA256-CRYPT}$5$a\nerin x\nDAVE {SHA256-CRYPT}$5$b');
  assert.equal(saslpasswd(['-s', 'SHA256-CRYPT', file, 'dave'], 'pw').status, 0);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^dave\t\{SHA256-CRYPT\}\$5\$[^\n]+\nerin x\n$/);
  assert.deepEqual(await verifyPassword('pw', hashOf(file, 'dave')), { kind: 'match' });
});

test('deletes a user; deleting one that is not there fails', () => {
  const file = join(dir, 'delete_users');
  writeFileSync(file, '# keep\nfrank {X}1\n  more\ngina {X}2\n');
  const deleted = saslpasswd(['-d', file, 'FRANK'], 'not read\n');
  assert.equal(deleted.status, 0, deleted.stderr);
  assert.equal(readFileSync(file, 'utf8'), '# keep\ngina {X}2\n');
  const again = saslpasswd(['-d', file, 'frank']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /warning: .*delete_users: no entry for frank/);
  const missing = saslpasswd(['-d', join(dir, 'no-such-file'), 'frank']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /fatal: open .*no-such-file: No such file or directory/);
});

test('refuses an empty password, an unknown scheme and a bad user name, leaving the file alone', () => {
  const file = join(dir, 'refused_users');
  writeFileSync(file, 'kept {X}1\n');
  const cases: [readonly string[], string, RegExp][] = [
    [[file, 'kept'], '', /fatal: empty password/],
    [[file, 'kept'], '\nsecond line\n', /fatal: empty password/],
    [['-s', 'PLAIN', file, 'kept'], 'pw\n', /fatal: unsupported password scheme PLAIN: use one of SHA512-CRYPT, /],
    [['-s', 'MD5-CRYPT', file, 'kept'], 'pw\n', /fatal: unsupported password scheme MD5-CRYPT/],
    [[file, '#kept'], 'pw\n', /fatal: bad user name "#kept"/],
    [[file, 'two words'], 'pw\n', /fatal: bad user name/],
    [['regexp:/etc/x', 'kept'], 'pw\n', /fatal: unsupported table type regexp/],
    [[file], 'pw\n', /fatal: usage: petrel saslpasswd /],
    [['-x', file, 'kept'], 'pw\n', /invalid option -- 'x'/],
  ];
  for (const [args, input, error] of cases) {
    const result = saslpasswd(args, input);
    assert.equal(result.status, 1, args.join(' '));
    assert.match(result.stderr, error, args.join(' '));
  }
  assert.equal(readFileSync(file, 'utf8'), 'kept {X}1\n');
  assert.match(runPetrel('petrel', []).stderr, /petrel saslpasswd \[-c config_dir\] \[-s scheme\] \[-d\] file user/);
});

test('rebuilds the indexed tables built from the file, as postmap does', async () => {
  const file = join(dir, 'indexed_users');
  writeFileSync(file, 'harry {X}1\n');
  chmodSync(file, 0o640);
  assert.equal(runPetrel('postmap', ['-c', dir, `hash:${file}`]).status, 0);
  const added = saslpasswd(['-c', dir, file, 'ivy'], 'ivy pw\n');
  assert.equal(added.status, 0, added.stderr);
  assert.match(added.stderr, /indexed_users\.db: rebuilt from .*indexed_users/);
  const query = runPetrel('postmap', ['-c', dir, '-q', 'IVY', `hash:${file}`]);
  assert.equal(query.stdout.trim(), hashOf(file, 'ivy'));
  assert.equal(mode(`${file}.db`), 0o640);
  assert.ok(!existsSync(`${file}.lmdb`));

  // naming the table as smtpd_sasl_path does builds that one too
  assert.equal(saslpasswd([`lmdb:${file}`, 'jack'], 'jack pw\n').status, 0);
  const server = new TableSaslServer({ table: `lmdb:${file}`, configDir: dir });
  const exchange = await server.start('PLAIN', { service: 'smtp', localAddress: '::1', localPort: 587, remoteAddress: '::1', remotePort: 1, secured: false, validClientCert: false });
  assert.deepEqual(await exchange.step(Buffer.from('\0jack\0jack pw')), { kind: 'success', username: 'jack' });
  await server.close();
  const deleted = saslpasswd(['-d', file, 'harry']);
  assert.equal(deleted.status, 0, deleted.stderr);
  assert.equal(runPetrel('postmap', ['-c', dir, '-q', 'harry', `hash:${file}`]).status, 1);
  assert.equal(runPetrel('postmap', ['-c', dir, '-q', 'harry', `lmdb:${file}`]).status, 1);
  assert.equal(runPetrel('postmap', ['-c', dir, '-q', 'jack', `lmdb:${file}`]).stdout.trim(), hashOf(file, 'jack'));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HASH_SCHEMES, hashPassword, verifyPassword, type HashScheme } from '../../../src/global/sasl/password-hash.js';
import { needFile } from '../../support/need.js';
import { runProgram } from '../../support/run-command.js';

const DOVEADM = '/usr/bin/doveadm';
const skip = needFile(DOVEADM, 'Debian dovecot-core: doveadm pw makes and checks the reference hashes');

// ASCII, UTF-8, and longer than a SHA-512 digest (SHA-crypt treats those apart).
const PASSWORDS = ['correct horse', 'sécret päss ü', 'x'.repeat(100)];

/** doveadm pw, without a Dovecot configuration (-O). */
function doveadm(args: readonly string[]): { status: number | null; out: string } {
  const result = runProgram(DOVEADM, ['-O', 'pw', ...args]);
  return { status: result.status, out: result.stdout + result.stderr };
}

test('hashes doveadm makes verify, and wrong passwords do not', { skip }, async () => {
  for (const scheme of HASH_SCHEMES) {
    for (const password of PASSWORDS) {
      const made = doveadm(['-s', scheme, '-p', password]);
      assert.equal(made.status, 0, made.out);
      const stored = made.out.trim();
      assert.ok(stored.startsWith(`{${scheme}}$`), stored);
      assert.deepEqual(await verifyPassword(password, stored), { kind: 'match' }, `${scheme} ${stored}`);
      assert.deepEqual(await verifyPassword(`!${password}`, stored), { kind: 'mismatch' }, scheme);
      assert.deepEqual(await verifyPassword('', stored), { kind: 'mismatch' }, scheme);
    }
  }
});

test('hashes Petrel makes are verified by doveadm, which rejects a wrong password', { skip }, async () => {
  for (const scheme of HASH_SCHEMES) {
    for (const password of PASSWORDS) {
      const stored = await hashPassword(password, scheme);
      const checked = doveadm(['-t', stored, '-p', password]);
      assert.equal(checked.status, 0, `${scheme}: ${checked.out}`);
      assert.match(checked.out, /\(verified\)/);
      assert.notEqual(doveadm(['-t', stored, '-p', `?${password}`]).status, 0, scheme);
      assert.deepEqual(await verifyPassword(password, stored), { kind: 'match' });
    }
  }
});

test('bcrypt reads 72 bytes of a password, in Petrel as in Dovecot', { skip }, async () => {
  const long = 'x'.repeat(100);
  const stored = await hashPassword(long, 'BLF-CRYPT');
  assert.equal(doveadm(['-t', stored, '-p', `${'x'.repeat(72)}tail`]).status, 0);
  assert.deepEqual(await verifyPassword(`${'x'.repeat(72)}tail`, stored), { kind: 'match' });
  assert.deepEqual(await verifyPassword('x'.repeat(71), stored), { kind: 'mismatch' });
});

test('new hashes have the forms and costs Dovecot writes, with a fresh salt each time', async () => {
  const forms: Record<HashScheme, RegExp> = {
    'SHA512-CRYPT': /^\{SHA512-CRYPT\}\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/,
    'SHA256-CRYPT': /^\{SHA256-CRYPT\}\$5\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{43}$/,
    'BLF-CRYPT': /^\{BLF-CRYPT\}\$2y\$10\$[./0-9A-Za-z]{53}$/,
    CRYPT: /^\{CRYPT\}\$2y\$10\$[./0-9A-Za-z]{53}$/,
    ARGON2ID: /^\{ARGON2ID\}\$argon2id\$v=19\$m=65536,t=3,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
    ARGON2I: /^\{ARGON2I\}\$argon2i\$v=19\$m=32768,t=4,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
  };
  for (const scheme of HASH_SCHEMES) {
    const [one, two] = [await hashPassword('pw', scheme), await hashPassword('pw', scheme)];
    assert.match(one, forms[scheme]);
    assert.notEqual(one, two, scheme);
  }
});

test('{ARGON2}, {CRYPT} and lower-case scheme names hold any supported form', async () => {
  const argon2id = (await hashPassword('pw', 'ARGON2ID')).replace('{ARGON2ID}', '');
  const argon2i = (await hashPassword('pw', 'ARGON2I')).replace('{ARGON2I}', '');
  const sha = (await hashPassword('pw', 'SHA256-CRYPT')).replace('{SHA256-CRYPT}', '');
  for (const stored of [`{ARGON2}${argon2id}`, `{ARGON2}${argon2i}`, `{CRYPT}${argon2id}`, `{CRYPT}${sha}`, `{sha256-crypt}${sha}`]) {
    assert.deepEqual(await verifyPassword('pw', stored), { kind: 'match' }, stored);
    assert.deepEqual(await verifyPassword('pW', stored), { kind: 'mismatch' }, stored);
  }
  // explicit rounds, as doveadm pw -r writes them
  const rounds = doveadm(['-s', 'SHA512-CRYPT', '-r', '6000', '-p', 'pw']).out.trim();
  if (skip === false) {
    assert.match(rounds, /\$rounds=6000\$/);
    assert.deepEqual(await verifyPassword('pw', rounds), { kind: 'match' });
  }
});

test('cleartext, weak, unknown and malformed hashes never match and say why', async () => {
  const sha512 = '$6$oYTWPoHWkyzEmpG3$2d/RSsYJU/F8X9AQpc7UkXxHdju2QqX0hAVLOSVK3ckF2DV42iGHHKLviFET3dfHOj48PYpfuLV7BtZd4cHei.';
  const bcrypt = '$2y$05$lVVhiqg50tyoIYZJQeUl2OKG2wg8L3FKClmxR5mtF8knTtyjaoB2y';
  const cases: [string, RegExp][] = [
    ['pw', /no \{SCHEME\} prefix/],
    [sha512, /no \{SCHEME\} prefix/],
    ['{PLAIN}pw', /cleartext password scheme PLAIN is not accepted/],
    ['{CLEAR}pw', /cleartext password scheme CLEAR is not accepted/],
    ['{CLEARTEXT}pw', /cleartext password scheme CLEARTEXT/],
    ['{MD5-CRYPT}$1$CMDvrkes$ESU5RhCht/KJ4rn3k1eQl1', /unsupported password scheme MD5-CRYPT/],
    ['{SSHA512}dT3FlcjFQCAPvzGWY/mQuwKodHcrylyGeMcxWxauG0rHa5sujXuMXQUzBaLsb6dRNSnfzEcGGRYgJCo9gaPvmxAXrCY=', /unsupported password scheme SSHA512/],
    ['{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', /unsupported password scheme SHA/],
    ['{SHA512-CRYPT.b64}JDYk', /unsupported password scheme SHA512-CRYPT\.B64/],
    ['{CRYPT}vpvKh.SaNbR6s', /malformed CRYPT password hash/],
    ['{CRYPT}$1$CMDvrkes$ESU5RhCht/KJ4rn3k1eQl1', /malformed CRYPT/],
    [`{SHA256-CRYPT}${sha512}`.replace('$6$', '$5$'), /malformed SHA256-CRYPT/],
    [`{BLF-CRYPT}${sha512}`, /malformed BLF-CRYPT/],
    [`{SHA512-CRYPT}${bcrypt}`, /malformed SHA512-CRYPT/],
    [`{SHA512-CRYPT}${sha512.slice(0, -1)}`, /malformed SHA512-CRYPT/],
    ['{SHA512-CRYPT}$6$salt!$' + 'a'.repeat(86), /malformed SHA512-CRYPT/],
    [`{BLF-CRYPT}${bcrypt.replace('$2y$', '$2x$')}`, /malformed BLF-CRYPT/],
    [`{BLF-CRYPT}${bcrypt.replace('$05$', '$99$')}`, /malformed BLF-CRYPT/],
    [`{BLF-CRYPT}${bcrypt}x`, /malformed BLF-CRYPT/],
    ['{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaGhhc2hoYXNo', /malformed ARGON2ID/],
    ['{ARGON2ID}$argon2i$v=19$m=32768,t=4,p=1$opXao2A9aTEHqzxk+GTgLA$FpgrzZ3s9W0A95l6q+rHg2Qj0zRmlMuTbCFCFL5myCA', /malformed ARGON2ID/],
    ['{ARGON2I}$argon2i$v=18$m=32768,t=4,p=1$opXao2A9aTEHqzxk+GTgLA$FpgrzZ3s9W0A95l6q+rHg2Qj0zRmlMuTbCFCFL5myCA', /malformed ARGON2I/],
    ['{}pw', /unsupported password scheme $/],
    ['', /no \{SCHEME\} prefix/],
  ];
  for (const [stored, reason] of cases) {
    const check = await verifyPassword('pw', stored);
    assert.equal(check.kind, 'unusable', stored);
    assert.match(check.kind === 'unusable' ? check.reason : '', reason, stored);
  }
});

test('SHA-crypt work does not hold the event loop', async () => {
  // 100000 rounds is ~20 times the default: ~300 ms of hashing per check here.
  const stored = '{SHA512-CRYPT}' + (await hashPassword('pw', 'SHA512-CRYPT')).slice('{SHA512-CRYPT}'.length).replace('$6$', '$6$rounds=100000$');
  let last = performance.now();
  let worst = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  const started = performance.now();
  const checks = await Promise.all([verifyPassword('pw', stored), verifyPassword('nope', stored)]);
  const took = performance.now() - started;
  clearInterval(ticker);
  assert.deepEqual(checks.map((check) => check.kind), ['mismatch', 'mismatch']);
  assert.ok(took > 150, `the checks took ${took} ms`);
  // Run on the event loop, each check would stall it for half the time taken.
  assert.ok(worst < took / 4, `the event loop stalled for ${worst} ms of the ${took} ms the checks took`);
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { PetrelError } from '../../../src/global/errors.js';
import { tabEscape, tabUnescape } from '../../../src/global/sasl/sasl-dovecot-conn.js';
import { DovecotSaslServer } from '../../../src/global/sasl/sasl-dovecot.js';
import type { SaslClientInfo, SaslExchange, SaslStep } from '../../../src/global/sasl/sasl-server.js';
import { setMsgSink } from '../../../src/util/msg.js';
import { DOVECOT } from '../../support/dovecot.js';
import { DOVECOT_MYSQL, DovecotAuth, MYSQL } from '../../support/dovecot-auth.js';
import { freePort } from '../../support/instance.js';
import { needFile } from '../../support/need.js';
import { waitFor } from '../../support/wait.js';

const skip = needAll();
const dir = mkdtempSync(join(tmpdir(), 'petrel-sasl-dovecot-'));
const TIMEOUT = 3000;
let dovecot: DovecotAuth;

/** How many times Dovecot's log says pattern so far (auth_debug is on). */
function logCount(pattern: RegExp): number {
  return dovecot.log().match(pattern)?.length ?? 0;
}
let server: DovecotSaslServer;

function needAll(): false | string {
  for (const [file, why] of [
    [DOVECOT, 'apt-get install dovecot-core'],
    [DOVECOT_MYSQL, 'apt-get install dovecot-mysql'],
    [MYSQL, 'apt-get install mariadb-client'],
  ] as const) {
    const reason = needFile(file, why);
    if (reason !== false) return reason;
  }
  return false;
}
before(async () => {
  if (skip !== false) return;
  dovecot = await DovecotAuth.start(dir, await freePort(), {
    users: [
      { name: 'alice', password: 'alice-secret' },
      { name: 'bob', password: 'bob secret', plain: true },
    ],
    sqlUsers: [{ name: 'carol', password: 'carol-secret' }],
  });
  server = new DovecotSaslServer({ path: dovecot.socket, timeoutMs: TIMEOUT });
});

after(async () => {
  await server?.close();
  await dovecot?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A client from its own address: Dovecot holds back requests from an address that just failed. */
let lastOctet = 0;
function client(): SaslClientInfo {
  lastOctet += 1;
  return { service: 'smtp', localAddress: '127.0.0.1', localPort: 25, remoteAddress: `192.0.2.${lastOctet}`, remotePort: 40000 + lastOctet, secured: false, validClientCert: false };
}

const plain = (user: string, password: string): Buffer => Buffer.from(`\0${user}\0${password}`);
const success = (username: string): SaslStep => ({ kind: 'success', username });
const refused: SaslStep = { kind: 'failure', reason: 'authentication failed', temporary: false };

/** Runs an exchange: each response in turn, returning every step. */
async function exchange(mechanism: string, responses: (Buffer | string | undefined)[], sasl = server): Promise<SaslStep[]> {
  const ex: SaslExchange = await sasl.start(mechanism, client());
  const steps: SaslStep[] = [];
  for (const response of responses) steps.push(await ex.step(typeof response === 'string' ? Buffer.from(response) : response));
  return steps;
}

const challenge = (text: string): SaslStep => ({ kind: 'challenge', challenge: Buffer.from(text) });

test('the mechanisms are those of the MECH lines, upper case, with their flags', { skip }, async () => {
  const mechanisms = await server.mechanisms();
  assert.deepEqual(
    mechanisms.map((m) => [m.name, [...m.flags]]),
    [
      ['PLAIN', ['plaintext']],
      ['LOGIN', ['plaintext']],
    ],
  );
  assert.equal(await server.mechanisms(), mechanisms, 'cached for the life of the connection');
});

test('PLAIN with an initial response: the right password succeeds, a wrong one fails for good', { skip }, async () => {
  assert.deepEqual(await exchange('plain', [plain('alice', 'alice-secret')]), [success('alice')]);
  assert.deepEqual(await exchange('PLAIN', [plain('alice', 'wrong')]), [refused]);
  assert.deepEqual(await exchange('PLAIN', [plain('nobody', 'alice-secret')]), [refused], 'unknown user');
});

test('PLAIN without an initial response gets an empty challenge; an empty initial response is not the same', { skip }, async () => {
  assert.deepEqual(await exchange('PLAIN', [undefined, plain('bob', 'bob secret')]), [challenge(''), success('bob')]);
  const [step] = await exchange('PLAIN', [Buffer.alloc(0)]);
  assert.equal(step?.kind, 'failure', 'Dovecot read it as an empty response, not as none');
  assert.ok(step?.kind === 'failure' && !step.temporary);
});

test('LOGIN asks for the name and the password', { skip }, async () => {
  assert.deepEqual(await exchange('LOGIN', [undefined, 'alice', 'alice-secret']), [challenge('Username:'), challenge('Password:'), success('alice')]);
  assert.deepEqual(await exchange('LOGIN', ['bob', 'bob secret']), [challenge('Password:'), success('bob')], 'name as initial response');
  assert.deepEqual(await exchange('LOGIN', [Buffer.alloc(0), 'bob', '']), [challenge('Username:'), challenge('Password:'), refused]);
});

test('a mechanism Dovecot does not offer is refused without asking it (it would drop the connection)', { skip }, async () => {
  const [step] = await exchange('CRAM-MD5', [undefined]);
  assert.ok(step?.kind === 'failure' && !step.temporary && step.reason.includes('CRAM-MD5'), JSON.stringify(step));
  assert.deepEqual(await exchange('PLAIN', [plain('bob', 'bob secret')]), [success('bob')]);
  assert.doesNotMatch(dovecot.log(), /unsupported authentication mechanism|disconnected/);
});

test('users from the SQL passdb (MariaDB)', { skip }, async () => {
  assert.deepEqual(await exchange('PLAIN', [plain('carol', 'carol-secret')]), [success('carol')]);
  assert.deepEqual(await exchange('LOGIN', ['carol', 'alice-secret']), [challenge('Password:'), refused]);
});

test('exchanges interleave on the one connection', { skip }, async () => {
  const a = await server.start('LOGIN', client());
  const b = await server.start('LOGIN', client());
  assert.deepEqual(await b.step(undefined), challenge('Username:'));
  assert.deepEqual(await a.step(undefined), challenge('Username:'));
  assert.deepEqual(await a.step(Buffer.from('alice')), challenge('Password:'));
  assert.deepEqual(await b.step(Buffer.from('bob')), challenge('Password:'));
  const [last, first] = await Promise.all([b.step(Buffer.from('bob secret')), a.step(Buffer.from('alice-secret'))]);
  assert.deepEqual([first, last], [success('alice'), success('bob')]);
  const many = await Promise.all(['alice', 'bob', 'carol'].map((u) => exchange('PLAIN', [plain(u, u === 'bob' ? 'bob secret' : `${u}-secret`)])));
  assert.deepEqual(many, [[success('alice')], [success('bob')], [success('carol')]]);
  assert.equal((dovecot.log().match(/auth client connected/g) ?? []).length, 1, 'one connection for all of them');
});

test('a user name with TAB or LF carries no extra parameter to Dovecot', { skip }, async () => {
  assert.deepEqual(await exchange('PLAIN', [plain('nobody\tuser=alice', 'alice-secret')]), [refused]);
  assert.deepEqual(await exchange('LOGIN', ['nobody\nOK\t1\tuser=alice']), [refused], 'Dovecot refuses such a name at once');
  const sneaky = await server.start('PLAIN', { ...client(), service: 'smtp\tsecured\nCONT' });
  assert.deepEqual(await sneaky.step(plain('bob', 'bob secret')), success('bob'));
  // Dovecot's debug log shows the AUTH line as received: the service name is one escaped field. Its log
  // process writes the line on its own time, after the reply may have come.
  const authLine = (): string | undefined => dovecot.log().split('\n').find((l) => l.includes('client in: AUTH') && l.includes('\x01tsecured'));
  await waitFor(() => authLine() !== undefined, "Dovecot's debug log to show the AUTH line");
  const line = authLine();
  assert.ok(line?.split('\t').includes('service=smtp\x01tsecured\x01nCONT'), line);
  assert.ok(!line?.split('\t').includes('secured'), line);
  assert.match(dovecot.log(), /Username character disallowed/);
});

test('an exchange aborted before Dovecot answered: the late reply is dropped', { skip }, async () => {
  const failsBefore = logCount(/client passdb out: FAIL/g);
  const ex = await server.start('PLAIN', client());
  const pending = ex.step(plain('alice', 'wrong'));
  ex.abort();
  const warnings: string[] = [];
  const previous = setMsgSink((severity, _p, text) => warnings.push(`${severity}: ${text}`));
  try {
    // Dovecot sends its FAIL after auth_failure_delay; the next exchange's reply comes after it on the same connection.
    await waitFor(() => logCount(/client passdb out: FAIL/g) > failsBefore, 'Dovecot to send the late FAIL');
    assert.deepEqual(await exchange('PLAIN', [plain('alice', 'alice-secret')]), [success('alice')]);
  } finally {
    setMsgSink(previous);
  }
  assert.deepEqual(warnings, []);
  assert.deepEqual(await pending, { kind: 'failure', reason: 'aborted', temporary: true });
});

test('the inet:host:port form', { skip }, async () => {
  const inet = new DovecotSaslServer({ path: `inet:127.0.0.1:${dovecot.port}`, timeoutMs: TIMEOUT });
  try {
    assert.deepEqual((await inet.mechanisms()).map((m) => m.name), ['PLAIN', 'LOGIN']);
    assert.deepEqual(await exchange('PLAIN', [plain('alice', 'alice-secret')], inet), [success('alice')]);
  } finally {
    await inet.close();
  }
});

test('the auth process dies: exchanges in flight fail as temporary, and the next one connects again', { skip }, async () => {
  const requestsBefore = logCount(/client in: AUTH/g);
  const held = await server.start('PLAIN', client());
  // Dovecot holds a FAIL back for a second: long enough to kill it with the request in flight.
  const inFlight = held.step(plain('alice', 'wrong'));
  await waitFor(() => logCount(/client in: AUTH/g) > requestsBefore, 'the request to reach Dovecot');
  dovecot.killAuthProcess();
  const step = await inFlight;
  assert.ok(step.kind === 'failure' && step.temporary, JSON.stringify(step));
  assert.deepEqual(await exchange('PLAIN', [plain('alice', 'alice-secret')]), [success('alice')]);
});

test('Dovecot stopped: start() and mechanisms() throw a temporary error; started again: the same server works', { skip }, async () => {
  const inet = new DovecotSaslServer({ path: `inet:127.0.0.1:${dovecot.port}`, timeoutMs: TIMEOUT });
  try {
    await inet.mechanisms();
    const waiting = await server.start('LOGIN', client());
    assert.deepEqual(await waiting.step(undefined), challenge('Username:'));
    await dovecot.stop();
    const step = await waiting.step(Buffer.from('alice'));
    assert.ok(step.kind === 'failure' && step.temporary, JSON.stringify(step));
    for (const [sasl, name] of [
      [server, dovecot.socket],
      [inet, `inet:127.0.0.1:${dovecot.port}`],
    ] as const) {
      const began = Date.now();
      const err = await sasl.start('PLAIN', client()).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof PetrelError && err.temporary, String(err));
      assert.ok(err.message.includes(name), err.message);
      assert.ok(Date.now() - began < TIMEOUT, 'within the deadline');
      await assert.rejects(sasl.mechanisms(), PetrelError);
    }
    await dovecot.restart();
    assert.deepEqual(await exchange('PLAIN', [plain('alice', 'alice-secret')]), [success('alice')]);
    assert.deepEqual(await exchange('LOGIN', ['bob', 'bob secret'], inet), [challenge('Password:'), success('bob')]);
  } finally {
    await inet.close();
  }
});

const GREETING = 'VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tX-SECRET\tprivate\nMECH\tX-NEW\tplaintext\tquantum-safe\nSPID\t1\nCUID\t1\nCOOKIE\t00\nDONE\n';
let fakes = 0;

/** A stand-in for Dovecot that misbehaves: it sends greeting, then answer(line) for each AUTH or CONT line. */
async function fakeAuth(greeting: string, answer: (line: string) => string): Promise<{ path: string; connections: () => number; close: () => void }> {
  const path = join(dir, `fake-${++fakes}`);
  let connections = 0;
  const fake = createServer((socket) => {
    connections += 1;
    socket.on('error', () => undefined);
    socket.write(greeting);
    createInterface({ input: socket }).on('line', (line) => {
      if (/^(AUTH|CONT)\t/.test(line)) socket.write(answer(line));
    });
  });
  await new Promise<void>((resolve) => fake.listen(path, resolve));
  return { path, connections: () => connections, close: () => fake.close() };
}

/** Runs fn with warnings collected. */
async function warned(fn: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const previous = setMsgSink((severity, _p, text) => warnings.push(`${severity}: ${text}`));
  try {
    await fn();
  } finally {
    setMsgSink(previous);
  }
  return warnings;
}

test('private mechanisms are not offered, unknown flags are ignored', async () => {
  const fake = await fakeAuth(GREETING, () => '');
  const sasl = new DovecotSaslServer({ path: fake.path, timeoutMs: 500 });
  try {
    assert.deepEqual((await sasl.mechanisms()).map((m) => [m.name, [...m.flags]]), [
      ['PLAIN', ['plaintext']],
      ['X-NEW', ['plaintext']],
    ]);
  } finally {
    await sasl.close();
    fake.close();
  }
});

test('protocol violations close the connection with a warning; the next call connects again', async () => {
  const version = await fakeAuth('VERSION\t2\t0\nDONE\n', () => '');
  const sasl = new DovecotSaslServer({ path: version.path, timeoutMs: 500 });
  const warnings = await warned(async () => {
    await assert.rejects(sasl.mechanisms(), (err: unknown) => err instanceof PetrelError && err.temporary && err.message.includes(version.path));
  });
  assert.deepEqual(warnings, [`warning: SASL: protocol error from Dovecot auth server ${version.path}: unsupported protocol version 2.0`]);
  version.close();
  for (const [reply, warning] of [
    ['OK\t99\tuser=alice\n', 'OK for unknown request id "99"'],
    ['HELLO\t1\n', 'unexpected reply "HELLO"'],
    ['x'.repeat(70_000), 'line longer than 65536 bytes'],
  ]) {
    const fake = await fakeAuth(GREETING, () => reply as string);
    const bad = new DovecotSaslServer({ path: fake.path, timeoutMs: 500 });
    let step: SaslStep | undefined;
    const seen = await warned(async () => {
      step = await (await bad.start('PLAIN', client())).step(plain('alice', 'x'));
    });
    assert.ok(step?.kind === 'failure' && step.temporary, JSON.stringify(step));
    assert.equal(seen.length, 1);
    assert.ok(seen[0]?.endsWith(warning as string), seen[0]);
    await bad.mechanisms();
    assert.equal(fake.connections(), 2, 'reconnected');
    await bad.close();
    fake.close();
  }
});

test('an OK without user= is no success; FAIL carries reason and temp', async () => {
  const replies = ['OK\t1\n', 'FAIL\t2\treason=Backend\x01tdown\ttemp\n', 'FAIL\t3\tuser=alice\tcode=temp_fail\n', 'FAIL\t4\treason=Nope\n'];
  const fake = await fakeAuth(GREETING, () => replies.shift() ?? '');
  const sasl = new DovecotSaslServer({ path: fake.path, timeoutMs: 500 });
  try {
    const steps: SaslStep[] = [];
    const warnings = await warned(async () => {
      for (let i = 0; i < 4; i++) steps.push(await (await sasl.start('plain', client())).step(plain('alice', 'x')));
    });
    assert.deepEqual(steps, [
      { kind: 'failure', reason: 'authenticated user unknown', temporary: true },
      { kind: 'failure', reason: 'Backend\tdown', temporary: true },
      { kind: 'failure', reason: 'authentication failed', temporary: true },
      { kind: 'failure', reason: 'Nope', temporary: false },
    ]);
    assert.equal(warnings.length, 1);
    assert.equal(fake.connections(), 1);
  } finally {
    await sasl.close();
    fake.close();
  }
});

test('a silent server: every wait ends at its deadline', async () => {
  for (const greeting of ['', GREETING]) {
    const fake = await fakeAuth(greeting, () => '');
    const sasl = new DovecotSaslServer({ path: fake.path, timeoutMs: 300 });
    const began = Date.now();
    if (greeting === '') {
      await assert.rejects(sasl.start('PLAIN', client()), (err: unknown) => err instanceof PetrelError && err.temporary && err.message.includes(fake.path));
    } else {
      const step = await (await sasl.start('PLAIN', client())).step(plain('alice', 'x'));
      assert.ok(step.kind === 'failure' && step.temporary, JSON.stringify(step));
    }
    const took = Date.now() - began;
    assert.ok(took >= 290 && took < 1000, `${took} ms`);
    await sasl.close();
    fake.close();
  }
});

test('protocol fields escape TAB, LF, CR, NUL and \\001, and unescape back', () => {
  const value = 'a\tb\nc\rd\0e\x01f';
  assert.equal(tabEscape(value), 'a\x01tb\x01nc\x01rd\x010e\x011f');
  assert.equal(tabUnescape(tabEscape(value)), value);
  assert.equal(tabUnescape('\x01x'), 'x');
});

test('a malformed inet: address is a configuration error, not a temporary one', async () => {
  for (const path of ['inet:localhost', 'inet::25', 'inet:localhost:smtp', 'inet:localhost:70000']) {
    const sasl = new DovecotSaslServer({ path, timeoutMs: 300 });
    await assert.rejects(sasl.mechanisms(), (err: unknown) => err instanceof PetrelError && err.code === 'config' && !err.temporary, path);
  }
});

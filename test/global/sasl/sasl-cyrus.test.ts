import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { canonicalUsername, CyrusSaslServer } from '../../../src/global/sasl/sasl-cyrus.js';
import { readCyrusAppConfig } from '../../../src/global/sasl/sasl-cyrus-conf.js';
import type { SaslClientInfo, SaslServer, SaslStep } from '../../../src/global/sasl/sasl-server.js';
import { captureMessages } from '../../../src/util/msg.js';
import { needFile, needRoot } from '../../support/need.js';
import { makeTestAccount, SASLAUTHD, startSaslauthd, type Saslauthd, type TestAccount } from '../../support/saslauthd.js';

const root = mkdtempSync(join(tmpdir(), 'petrel-cyrus-'));
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/** A fresh directory holding smtpd.conf with text. */
function confDir(text: string | undefined): string {
  const dir = join(root, `conf${++dirs}`);
  mkdirSync(dir);
  if (text !== undefined) writeFileSync(join(dir, 'smtpd.conf'), text);
  return dir;
}

const names = (config: { mechanisms: readonly { name: string }[] }): string[] => config.mechanisms.map((m) => m.name);

describe('the application file', () => {
  const good: [string, string, string[], string, string[]][] = [
    ['saslauthd, both mechanisms', 'pwcheck_method: saslauthd\nmech_list: PLAIN LOGIN\n', ['PLAIN', 'LOGIN'], '/var/run/saslauthd/mux', []],
    ['no mech_list offers all servable ones', 'pwcheck_method: saslauthd\n', ['PLAIN', 'LOGIN'], '/var/run/saslauthd/mux', []],
    [
      'comments, blanks, case, CRLF, a socket, INTERNAL canonicalization',
      '# Postfix\n\n   PWCHECK_Method:saslauthd  \r\nsaslauthd_path: /srv/sasl/mux\r\ncanon_user_plugin: INTERNAL\nmech_list: login\n',
      ['LOGIN'],
      '/srv/sasl/mux',
      [],
    ],
    [
      'unservable mechanisms are left out with a warning, order and duplicates as Cyrus',
      'pwcheck_method: saslauthd\nmech_list: cram-md5 LOGIN digest-md5 plain Login\n',
      ['LOGIN', 'PLAIN'],
      '/var/run/saslauthd/mux',
      ['line 2: mech_list: CRAM-MD5 cannot be served', 'line 2: mech_list: DIGEST-MD5 cannot be served'],
    ],
    [
      'keys Petrel does not use are ignored with a warning; the first of two settings counts',
      'pwcheck_method: saslauthd\nlog_level: 3\nauxprop_plugin: sasldb\nmech_list: PLAIN\nmech_list: LOGIN\n',
      ['PLAIN'],
      '/var/run/saslauthd/mux',
      ['line 5: mech_list is set again', 'line 2: log_level is ignored', 'line 3: auxprop_plugin is ignored'],
    ],
  ];
  for (const [title, text, mechanisms, socket, warnings] of good) {
    test(`accepted: ${title}`, () => {
      const dir = confDir(text);
      const { result, messages } = captureMessages(() => readCyrusAppConfig('smtpd', dir));
      assert.equal(result.file, join(dir, 'smtpd.conf'));
      assert.deepEqual(names(result), mechanisms);
      assert.equal(result.saslauthdPath, socket);
      assert.equal(messages.length, warnings.length, messages.join('\n'));
      warnings.forEach((w, i) => assert.match(messages[i] ?? '', new RegExp(`^warning: ${dir}/smtpd.conf, ${w}`)));
    });
  }

  const refused: [string, string, RegExp][] = [
    ['auxprop', 'pwcheck_method: auxprop\nmech_list: PLAIN\n', /smtpd\.conf, line 1: pwcheck_method "auxprop" is not supported/],
    ['sasldb', 'pwcheck_method: sasldb\n', /pwcheck_method "sasldb" is not supported/],
    ['saslauthd with a fallback', 'pwcheck_method: saslauthd auxprop\n', /pwcheck_method "saslauthd auxprop" is not supported/],
    ['alwaystrue', 'pwcheck_method: alwaystrue\n', /pwcheck_method "alwaystrue" is not supported/],
    ['no pwcheck_method (Cyrus would use auxprop)', 'mech_list: PLAIN\n', /smtpd\.conf: pwcheck_method is not set, so Cyrus SASL would use auxprop/],
    ['only unservable mechanisms', 'pwcheck_method: saslauthd\nmech_list: CRAM-MD5 GSSAPI\n', /mech_list "CRAM-MD5 GSSAPI" names no mechanism saslauthd can serve/],
    ['a user name mapping Petrel cannot do', 'pwcheck_method: saslauthd\ncanon_user_plugin: ldapdb\n', /canon_user_plugin "ldapdb" is not supported/],
    ['a line without a colon', 'pwcheck_method saslauthd\n', /smtpd\.conf, line 1: expected "key: value"/],
    ['a space before the colon', 'pwcheck_method : saslauthd\n', /line 1: expected "key: value"/],
    ['a key without a value', 'pwcheck_method: saslauthd\nmech_list:\n', /line 2: mech_list has no value/],
  ];
  for (const [title, text, message] of refused) {
    test(`refused: ${title}`, () => {
      const dir = confDir(text);
      assert.throws(() => captureMessages(() => readCyrusAppConfig('smtpd', dir)), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'config');
        assert.ok(err.message.includes(join(dir, 'smtpd.conf')), err.message);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test('cyrus_sasl_config_path is searched in order, empty entries skipped, the first file found counts', () => {
    const none = confDir(undefined);
    const first = confDir('pwcheck_method: saslauthd\nmech_list: LOGIN\n');
    const second = confDir('pwcheck_method: saslauthd\nmech_list: PLAIN\n');
    assert.equal(readCyrusAppConfig('smtpd', `${none}::${first}:${second}`).file, join(first, 'smtpd.conf'));
    assert.equal(readCyrusAppConfig('smtpd', `${second}:${first}`).file, join(second, 'smtpd.conf'));
    // The file named by smtpd_sasl_path, not smtpd.conf.
    writeFileSync(join(none, 'submission.conf'), 'pwcheck_method: auxprop\n');
    assert.throws(() => readCyrusAppConfig('submission', `${first}:${none}`), /submission\.conf, line 1: pwcheck_method "auxprop"/);
  });

  test('no file anywhere names every place looked in, the defaults when cyrus_sasl_config_path is empty', () => {
    const a = confDir(undefined);
    const b = confDir(undefined);
    assert.throws(() => readCyrusAppConfig('smtpd', `${a}:${b}`), {
      message: `no Cyrus SASL configuration file: looked for ${a}/smtpd.conf, ${b}/smtpd.conf (set cyrus_sasl_config_path or smtpd_sasl_path)`,
    });
    assert.throws(() => readCyrusAppConfig('petrel-no-such-app', ''), {
      message:
        'no Cyrus SASL configuration file: looked for /etc/postfix/sasl/petrel-no-such-app.conf, /etc/sasl2/petrel-no-such-app.conf, ' +
        '/usr/lib/sasl2/petrel-no-such-app.conf (set cyrus_sasl_config_path or smtpd_sasl_path)',
    });
  });

  test('a saslauthd_path naming the run directory instead of the socket is warned about', () => {
    const dir = confDir(`pwcheck_method: saslauthd\nsaslauthd_path: ${root}\n`);
    const { messages } = captureMessages(() => readCyrusAppConfig('smtpd', dir));
    assert.deepEqual(messages, [`warning: ${dir}/smtpd.conf: saslauthd_path ${root} is a directory; it must name saslauthd's socket (${root}/mux)`]);
  });
});

test('user names are canonicalized as Cyrus does: blanks trimmed, the realm appended to a name without "@"', () => {
  const cases: [string, string, string | undefined][] = [
    ['bob', '', 'bob'],
    [' bob\t', '', 'bob'],
    ['bob', 'example.org', 'bob@example.org'],
    ['bob@other.net', 'example.org', 'bob@other.net'],
    ['   ', 'example.org', undefined],
  ];
  for (const [login, realm, expected] of cases) assert.equal(canonicalUsername(login, realm), expected, `${login} in ${realm}`);
});

const CLIENT: SaslClientInfo = {
  service: 'smtp',
  localAddress: '127.0.0.1',
  localPort: 25,
  remoteAddress: '127.0.0.1',
  remotePort: 40000,
  secured: true,
  validClientCert: false,
};

async function plain(server: SaslServer, user: string, password: string): Promise<SaslStep> {
  const exchange = await server.start('plain', CLIENT);
  return exchange.step(Buffer.from(`\0${user}\0${password}`, 'utf8'));
}

async function login(server: SaslServer, user: string, password: string): Promise<SaslStep> {
  const exchange = await server.start('LOGIN', CLIENT);
  assert.deepEqual(await exchange.step(undefined), { kind: 'challenge', challenge: Buffer.from('Username:') });
  assert.deepEqual(await exchange.step(Buffer.from(user, 'utf8')), { kind: 'challenge', challenge: Buffer.from('Password:') });
  return exchange.step(Buffer.from(password, 'utf8'));
}

/** A server whose smtpd.conf points at socket. */
function cyrusServer(socket: string, realm = '', timeoutMs = 5000): CyrusSaslServer {
  const dir = confDir(`pwcheck_method: saslauthd\nmech_list: PLAIN LOGIN\nsaslauthd_path: ${socket}\n`);
  return new CyrusSaslServer({ appName: 'smtpd', configPath: dir, service: 'smtp', realm, timeoutMs });
}

const FAILED = { kind: 'failure', reason: 'authentication failure', temporary: false };

describe('against a real saslauthd', { skip: needFile(SASLAUTHD, "Debian's sasl2-bin") || needRoot('saslauthd -a shadow checks system accounts') }, () => {
  // UTF-8, a colon and a space: nothing in the protocol may split or re-encode them.
  const PASSWORD = 'Grüße:aus Köln';
  let daemon: Saslauthd;
  let account: TestAccount;
  before(async () => {
    account = makeTestAccount(PASSWORD);
    daemon = await startSaslauthd(join(root, 'saslauthd'));
  });
  after(async () => {
    await daemon?.stop();
    account?.remove();
  });

  test('PLAIN and LOGIN with the right password succeed, as the login given', async () => {
    const server = cyrusServer(daemon.socket);
    assert.deepEqual(names({ mechanisms: await server.mechanisms() }), ['PLAIN', 'LOGIN']);
    assert.deepEqual(await plain(server, account.name, PASSWORD), { kind: 'success', username: account.name });
    assert.deepEqual(await login(server, account.name, PASSWORD), { kind: 'success', username: account.name });
  });

  test('with smtpd_sasl_local_domain the username carries the realm, as Postfix with Cyrus logs it', async () => {
    const server = cyrusServer(daemon.socket, 'example.org');
    assert.deepEqual(await plain(server, account.name, PASSWORD), { kind: 'success', username: `${account.name}@example.org` });
    assert.deepEqual(await login(server, ` ${account.name}@other.net`, PASSWORD), { kind: 'success', username: `${account.name}@other.net` });
  });

  test('a wrong password, a truncated one and an unknown user are refused for good', async () => {
    const server = cyrusServer(daemon.socket);
    assert.deepEqual(await plain(server, account.name, 'Grüsse:aus Köln'), FAILED);
    assert.deepEqual(await login(server, account.name, PASSWORD.slice(0, -1)), FAILED);
    assert.deepEqual(await plain(server, 'petrel-nosuchuser', PASSWORD), FAILED);
  });

  test('a stopped saslauthd is a temporary failure, within the deadline', async () => {
    const server = cyrusServer(daemon.socket, '', 1000);
    await daemon.stop();
    const started = Date.now();
    const step = await plain(server, account.name, PASSWORD);
    assert.ok(Date.now() - started < 1000);
    assert.equal(step.kind, 'failure');
    assert.equal(step.kind === 'failure' && step.temporary, true);
    assert.match(step.kind === 'failure' ? step.reason : '', /^cannot connect to saslauthd server .*\/mux: No such file or directory$/);
  });
});

describe('refusals that never reach saslauthd, and a saslauthd that does not answer', () => {
  let silent: ReturnType<typeof createServer>;
  const held: Socket[] = [];
  const silentPath = join(root, 'silent.sock');
  before(async () => {
    silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
  });
  after(() => {
    for (const socket of held) socket.destroy();
    silent.close();
  });

  test('an empty password, a NUL and an oversized request are refused unasked (asking would be a temporary failure here)', async () => {
    const server = cyrusServer(join(root, 'nowhere', 'mux'));
    assert.deepEqual(await plain(server, 'bob', ''), { kind: 'failure', reason: 'empty password', temporary: false });
    assert.deepEqual(await login(server, 'bob', ''), { kind: 'failure', reason: 'empty password', temporary: false });
    assert.deepEqual(await login(server, 'bob', 'sec\0ret'), { kind: 'failure', reason: 'NUL in user name or password', temporary: false });
    assert.deepEqual(await login(server, 'b\0b', 'secret'), { kind: 'failure', reason: 'NUL in user name or password', temporary: false });
    // PLAIN cannot carry a NUL in the password: it would be a fourth field.
    assert.deepEqual(await plain(server, 'bob', 'sec\0ret'), { kind: 'failure', reason: 'malformed PLAIN response', temporary: false });
    assert.deepEqual(await login(server, '  ', 'secret'), { kind: 'failure', reason: 'all-whitespace user name', temporary: false });
    assert.deepEqual(await plain(server, 'bob', 'x'.repeat(9000)), { kind: 'failure', reason: 'saslauthd request too large', temporary: false });
    const step = await plain(server, 'bob', 'secret');
    assert.equal(step.kind === 'failure' && step.temporary, true);
  });

  test('a saslauthd that accepts and never answers is a temporary failure at the deadline', async () => {
    const server = cyrusServer(silentPath, '', 300);
    const started = Date.now();
    const step = await plain(server, 'bob', 'secret');
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 2000, `${took} ms`);
    assert.deepEqual(step, { kind: 'failure', reason: `saslauthd server ${silentPath}: timed out waiting for the answer`, temporary: true });
  });

  test('a mechanism mech_list leaves out is not started', async () => {
    const dir = confDir('pwcheck_method: saslauthd\nmech_list: LOGIN\n');
    const server = new CyrusSaslServer({ appName: 'smtpd', configPath: dir, service: 'smtp', realm: '', timeoutMs: 1000 });
    assert.deepEqual(names({ mechanisms: await server.mechanisms() }), ['LOGIN']);
    const exchange = await server.start('PLAIN', CLIENT);
    assert.deepEqual(await exchange.step(Buffer.from('\0bob\0secret')), { kind: 'failure', reason: 'mechanism PLAIN is not offered', temporary: false });
  });
});

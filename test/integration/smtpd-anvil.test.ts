/*
 * smtpd-anvil - the client limits against the real master, smtpd and
 * anvil: the connection count limit counted across several smtpd
 * processes, the connection, message, recipient, AUTH and new TLS session
 * rate limits with Postfix's replies and warnings, anvil's statistics
 * lines, the exceptions of smtpd_client_event_limit_exceptions, mail
 * accepted without an anvil service, and fail2ban's postfix filter
 * matching Petrel's lines exactly as it matches Postfix's. Each service of
 * one instance has its own limits (anvil counts per service).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { needFile } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';
import { waitFor } from '../support/wait.js';
import { makeTestPki } from '../support/tls-cert.js';

const FAIL2BAN_REGEX = '/usr/bin/fail2ban-regex';
const PEER = 'localhost[127.0.0.1]';
let mx: TestInstance;
let ports: Record<'count' | 'rate' | 'mail' | 'auth' | 'tls' | 'exempt', number>;

/** The reply to AUTH PLAIN of user and password. */
function authPlain(client: SmtpClient, user: string, password: string): Promise<string> {
  return client.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`);
}

before(async () => {
  const pki = makeTestPki();
  ports = { count: await freePort(), rate: await freePort(), mail: await freePort(), auth: await freePort(), tls: await freePort(), exempt: await freePort() };
  mx = await TestInstance.create('', 'postmaster: root\n', {
    // Loopback is in mynetworks, the default exceptions: here nothing is exempt unless a service says so.
    smtpd_client_event_limit_exceptions: '',
    anvil_status_update_time: '2s',
    smtpd_sasl_type: 'petrel',
    smtpd_tls_cert_file: pki.serverCert,
    smtpd_tls_key_file: pki.serverKey,
  });
  const users = join(mx.etc, 'sasl_users');
  assert.equal(mx.run('petrel', ['saslpasswd', users, 'alice'], 'alice secret\n').status, 0);
  appendFileSync(join(mx.etc, 'main.cf'), `smtpd_sasl_path = texthash:${users}\n`);
  appendFileSync(
    join(mx.etc, 'master.cf'),
    [
      // maxproc 3: at two connections a second process (on two CPUs or more) takes the third.
      `127.0.0.1:${ports.count} inet n - n - 3 smtpd -o smtpd_client_connection_count_limit=2`,
      `127.0.0.1:${ports.rate} inet n - n - - smtpd -o smtpd_client_connection_rate_limit=2`,
      `127.0.0.1:${ports.mail} inet n - n - - smtpd -o smtpd_client_message_rate_limit=2 -o smtpd_client_recipient_rate_limit=3`,
      `127.0.0.1:${ports.auth} inet n - n - - smtpd -o smtpd_client_auth_rate_limit=2 -o smtpd_sasl_auth_enable=yes`,
      `127.0.0.1:${ports.tls} inet n - n - - smtpd -o smtpd_client_new_tls_session_rate_limit=1 -o smtpd_tls_security_level=may`,
      `127.0.0.1:${ports.exempt} inet n - n - - smtpd -o smtpd_client_connection_rate_limit=1 -o smtpd_client_event_limit_exceptions=127.0.0.0/8`,
      '',
    ].join('\n'),
  );
  mx.start();
});

after(() => mx?.remove());

test('the connection count limit counts the connections of every smtpd process: 421 past it, and a closed connection frees its place', async () => {
  const first = await SmtpClient.openWhenListening(ports.count);
  const second = await SmtpClient.open(ports.count);
  assert.match(second.greeting, /^220 /);
  const third = await SmtpClient.open(ports.count);
  assert.equal(third.greeting, `421 4.7.0 mx.test.example Error: too many connections from 127.0.0.1`);
  const log = await mx.waitForLog(new RegExp(`smtpd\\[(\\d+)\\]: warning: Connection concurrency limit exceeded: 3 from localhost\\[127\\.0\\.0\\.1\\] for service 127\\.0\\.0\\.1:${ports.count}\\n`));
  const pids = new Set([...log.matchAll(/smtpd\[(\d+)\]: (?:connect from|warning: Connection concurrency)/g)].map((m) => m[1]));
  assert.ok(pids.size >= Math.min(2, availableParallelism()), `the sessions ran in ${pids.size} smtpd processes`);
  await first.client.quit();
  // The refused connection and the one that quit no longer count.
  await mx.waitForLog(/disconnect from [^]*disconnect from /);
  const again = await SmtpClient.open(ports.count);
  assert.match(again.greeting, /^220 /);
  await again.client.quit();
  await second.client.quit();
});

test('the connection rate limit: the third connection in a minute is 421, with the warning fail2ban users know', async () => {
  for (let i = 0; i < 2; i++) {
    const { client, greeting } = await SmtpClient.openWhenListening(ports.rate);
    assert.match(greeting, /^220 /);
    await client.quit();
  }
  const refused = await SmtpClient.open(ports.rate);
  assert.equal(refused.greeting, '421 4.7.0 mx.test.example Error: too many connections from 127.0.0.1');
  await mx.waitForLog(new RegExp(`warning: Connection rate limit exceeded: 3 from ${escape(PEER)} for service 127\\.0\\.0\\.1:${ports.rate}\\n`));
  // anvil's peaks, every anvil_status_update_time.
  await mx.waitForLog(/postfix\/anvil\[\d+\]: statistics: max connection rate \d+\/60s for \(127\.0\.0\.1:\d+:127\.0\.0\.1\) at [A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d\n/);
});

test('message and recipient rate limits: 450 4.7.1 past them, counted across connections', async () => {
  const { client } = await SmtpClient.openWhenListening(ports.mail);
  await client.command('EHLO client.example');
  assert.match(await client.command('MAIL FROM:<a@example.org>'), /^250 /);
  assert.match(await client.command('RCPT TO:<root@localhost>'), /^250 /);
  assert.match(await client.command('RCPT TO:<root@localhost>'), /^250 /);
  assert.match(await client.command('RSET'), /^250 /);
  await client.quit();
  const next = (await SmtpClient.open(ports.mail)).client;
  await next.command('EHLO client.example');
  assert.match(await next.command('MAIL FROM:<a@example.org>'), /^250 /);
  assert.match(await next.command('RCPT TO:<root@localhost>'), /^250 /);
  assert.equal(await next.command('RCPT TO:<root@localhost>'), '450 4.7.1 Error: too many recipients from 127.0.0.1');
  assert.match(await next.command('RSET'), /^250 /);
  assert.equal(await next.command('MAIL FROM:<a@example.org>'), '450 4.7.1 Error: too much mail from 127.0.0.1');
  await next.quit();
  const log = await mx.waitForLog(/warning: Message delivery request rate limit exceeded: 3 from /);
  assert.match(log, new RegExp(`warning: Recipient address rate limit exceeded: 4 from ${escape(PEER)} for service 127\\.0\\.0\\.1:${ports.mail}\\n`));
  assert.match(log, new RegExp(`warning: Message delivery request rate limit exceeded: 3 from ${escape(PEER)} for service 127\\.0\\.0\\.1:${ports.mail}\\n`));
});

test('the AUTH rate limit: the third AUTH in a minute is 450 4.7.1, even with the right password', async () => {
  const { client } = await SmtpClient.openWhenListening(ports.auth);
  await client.command('EHLO client.example');
  assert.match(await authPlain(client, 'alice', 'wrong'), /^535 5\.7\.8 /);
  await client.quit();
  const next = (await SmtpClient.open(ports.auth)).client;
  await next.command('EHLO client.example');
  assert.match(await authPlain(next, 'alice', 'alice secret'), /^235 /);
  await next.quit();
  const last = (await SmtpClient.open(ports.auth)).client;
  await last.command('EHLO client.example');
  assert.equal(await authPlain(last, 'alice', 'alice secret'), '450 4.7.1 Error: too many AUTH commands from 127.0.0.1');
  await last.quit();
  await mx.waitForLog(new RegExp(`warning: AUTH command rate limit exceeded: 3 from ${escape(PEER)} for service 127\\.0\\.0\\.1:${ports.auth}\\n[^]*disconnect from ${escape(PEER)} ehlo=1 auth=0/1 quit=1 commands=2/3\\n`));
});

test('the new TLS session rate limit: 421 after the handshake that passes it, then 454 to STARTTLS', async () => {
  const { client } = await SmtpClient.openWhenListening(ports.tls);
  await client.command('EHLO client.example');
  await client.startTls();
  assert.match(await client.command('EHLO client.example'), /^250/);
  await client.quit();
  const second = (await SmtpClient.open(ports.tls)).client;
  await second.command('EHLO client.example');
  await second.startTls();
  assert.equal(await second.reply(), '421 4.7.0 mx.test.example Error: too many new TLS sessions from 127.0.0.1');
  const third = (await SmtpClient.open(ports.tls)).client;
  await third.command('EHLO client.example');
  assert.equal(await third.command('STARTTLS'), '454 4.7.0 Error: too many new TLS sessions from 127.0.0.1');
  await third.quit();
  const log = await mx.waitForLog(/warning: New TLS session rate limit exceeded: 2 from [^\n]*\n[^]*warning: New TLS session rate limit exceeded: 2 from /);
  assert.match(log, new RegExp(`warning: New TLS session rate limit exceeded: 2 from ${escape(PEER)} for service 127\\.0\\.0\\.1:${ports.tls}\\n`));
});

test('clients in smtpd_client_event_limit_exceptions are not counted', async () => {
  for (let i = 0; i < 4; i++) {
    const { client, greeting } = await SmtpClient.openWhenListening(ports.exempt);
    assert.match(greeting, /^220 /);
    await client.quit();
  }
  assert.doesNotMatch(mx.logText(), new RegExp(`for service 127\\.0\\.0\\.1:${ports.exempt}`));
});

test('without an anvil service smtpd does not refuse mail: one warning, and the limits are not enforced', async () => {
  const lone = await TestInstance.create('', 'postmaster: root\n', { smtpd_client_event_limit_exceptions: '', smtpd_client_connection_rate_limit: '1' });
  try {
    const masterCf = join(lone.etc, 'master.cf');
    writeFileSync(masterCf, readFileSync(masterCf, 'utf8').replace(/^anvil .*\n/m, ''));
    lone.start();
    await SmtpClient.openWhenListening(lone.port).then(({ client }) => client.quit());
    for (let i = 0; i < 3; i++) await lone.submit('a@example.org', ['root@localhost'], `Subject: ${i}\n\nx\n`);
    const log = await lone.waitForLog(/status=sent[^]*status=sent[^]*status=sent/);
    // Once per smtpd process (the master may have started a second one).
    const processes = new Set([...log.matchAll(/smtpd\[(\d+)\]: connect from /g)].map((m) => m[1]));
    const warned = [...log.matchAll(/smtpd\[(\d+)\]: warning: problem talking to service private\/anvil: .*; client connection, rate and event limits are not enforced until it answers\n/g)].map((m) => m[1]);
    assert.deepEqual(warned.sort(), [...processes].sort(), log);
    assert.doesNotMatch(log, /limit exceeded/);
  } finally {
    lone.remove();
  }
});

test('anvil is started only when an smtpd process has a client to count: none while every client is exempt', async () => {
  const quiet = await TestInstance.create();
  try {
    quiet.start();
    // The test instance's clients are in mynetworks, which smtpd_client_event_limit_exceptions exempts.
    await quiet.submit('a@example.org', ['root@localhost'], 'Subject: exempt\n\nx\n');
    await quiet.waitForLog(/status=sent/);
    assert.deepEqual(quiet.daemonPids('anvil'), [], 'anvil started with no client to count');
    assert.equal(quiet.run('postconf', ['-e', 'smtpd_client_event_limit_exceptions =']).status, 0);
    const before = quiet.daemonPids('smtpd');
    assert.equal(quiet.run('petrel', ['reload']).status, 0);
    await quiet.waitForLog(/reload -- version/);
    // The master logs the reload before it has read main.cf again; until then an smtpd process from before may take the next client.
    await waitFor(() => quiet.daemonPids('smtpd').every((pid) => !before.includes(pid)), 'the smtpd processes from before the reload to exit');
    await quiet.submit('a@example.org', ['root@localhost'], 'Subject: counted\n\nx\n');
    await waitFor(() => quiet.daemonPids('anvil').length === 1, 'anvil to start for a counted client');
  } finally {
    quiet.remove();
  }
});

test("fail2ban's postfix filter matches Petrel's limit lines exactly as it matches Postfix's", { skip: needFile(FAIL2BAN_REGEX, "fail2ban's postfix filter reads the log") }, () => {
  const wanted = /(limit exceeded: \d+ from |disconnect from .* auth=0\/1 )/;
  const petrel = mx.logText().split('\n').filter((line) => wanted.test(line));
  assert.ok(petrel.length >= 6, petrel.join('\n'));
  // The same events as Postfix 3.7's smtpd logs them through syslog.
  const postfix = [
    'Dec  2 17:00:00 mx postfix/smtpd[101]: warning: Connection concurrency limit exceeded: 3 from localhost[127.0.0.1] for service smtp',
    'Dec  2 17:00:00 mx postfix/smtpd[101]: warning: Connection rate limit exceeded: 3 from localhost[127.0.0.1] for service smtp',
    'Dec  2 17:00:00 mx postfix/smtpd[101]: warning: Recipient address rate limit exceeded: 4 from localhost[127.0.0.1] for service smtp',
    'Dec  2 17:00:00 mx postfix/smtpd[101]: warning: Message delivery request rate limit exceeded: 3 from localhost[127.0.0.1] for service smtp',
    'Dec  2 17:00:00 mx postfix/smtpd[101]: warning: AUTH command rate limit exceeded: 3 from localhost[127.0.0.1] for service smtp',
    'Dec  2 17:00:00 mx postfix/smtpd[101]: disconnect from localhost[127.0.0.1] ehlo=1 auth=0/1 quit=1 commands=2/3',
    'Dec  2 17:00:00 mx postfix/smtpd[101]: warning: New TLS session rate limit exceeded: 2 from localhost[127.0.0.1] for service smtp',
  ];
  const shape = (line: string): string => line.replace(/^.*?: (warning: |disconnect)/, '$1').replace(/service \S+$/, 'service S');
  assert.deepEqual(new Set(petrel.map(shape)), new Set(postfix.map(shape)));
  const petrelFile = join(mx.root, 'limits-petrel.log');
  const postfixFile = join(mx.root, 'limits-postfix.log');
  writeFileSync(petrelFile, `${petrel.join('\n')}\n`);
  writeFileSync(postfixFile, `${postfix.join('\n')}\n`);
  const matched = (file: string, mode: string): number => {
    const out = spawnSync(FAIL2BAN_REGEX, [file, `postfix[mode=${mode}]`], { encoding: 'utf8' }).stdout;
    const m = /Lines: \d+ lines, \d+ ignored, (\d+) matched/.exec(out);
    assert.ok(m !== null, out);
    return Number(m[1]);
  };
  // more includes normal, aggressive includes auth and ddos.
  const counts = (file: string): Record<string, boolean> => Object.fromEntries(['more', 'aggressive'].map((mode) => [mode, matched(file, mode) > 0]));
  const postfixCounts = counts(postfixFile);
  assert.deepEqual(counts(petrelFile), postfixCounts);
  assert.deepEqual(postfixCounts, { more: false, aggressive: true }, 'only the disconnect line of a refused AUTH is matched, in aggressive mode');
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

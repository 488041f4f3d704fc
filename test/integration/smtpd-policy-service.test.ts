/*
 * check_policy_service against the real daemon: policy servers written
 * here (on a loopback port and on a Unix socket named relative to
 * queue_directory) check every attribute Postfix 3.7 sends and answer
 * access(5) actions; servers that hang, close, refuse or answer without an
 * action give the default action and Postfix's warnings; Debian's
 * postgrey greylists the first attempt and accepts the retry; and Debian's
 * policyd-spf, started per connection as Postfix's spawn(8) would start it,
 * refuses a sender whose domain's SPF record fails the client and prepends
 * Received-SPF to mail that passes (its DNS lookups go to a loopback DNS
 * server of the test's own).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { startDnsServer } from '../support/dns-server.js';
import { freePort, TestInstance } from '../support/instance.js';
import { needFile } from '../support/need.js';
import { SmtpClient } from '../support/smtp-client.js';
import { makeTestPki } from '../support/tls-cert.js';
import { waitFor } from '../support/wait.js';

const instances: TestInstance[] = [];
const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
  for (const instance of instances) instance.remove();
});

/** What a test policy server does with a request: answer an action, hang, close the connection, or send a reply without an action. */
type Answer = { action: string } | 'hang' | 'close' | 'no-action';

/** A policy server of the test's own: the requests it got (attribute lists, in order) and the connections it accepted. */
interface TestPolicyServer {
  readonly requests: [string, string][][];
  connections: number;
}

/** Starts a policy server on a loopback port or a Unix socket path. */
async function policyServer(where: number | string, answer: (request: Map<string, string>) => Answer): Promise<TestPolicyServer> {
  const state: TestPolicyServer = { requests: [], connections: 0 };
  const server = createServer((socket: Socket) => {
    state.connections++;
    let pending = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
        const attributes = pending
          .slice(0, end)
          .split('\n')
          .map((line): [string, string] => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
        pending = pending.slice(end + 2);
        state.requests.push(attributes);
        const what = answer(new Map(attributes));
        if (what === 'close') socket.destroy();
        else if (what === 'no-action') socket.write('foo=bar\n\n');
        else if (what !== 'hang') socket.write(`action=${what.action}\n\n`);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => (typeof where === 'number' ? server.listen(where, '127.0.0.1', resolve) : server.listen(where, resolve)));
  return state;
}

/** The local part of the request's recipient. */
const localPart = (request: Map<string, string>): string => (request.get('recipient') ?? '').replace(/@.*/, '');

test('check_policy_service sends the attributes Postfix 3.7 sends, reuses its connection, and carries out the answer as an access action', async () => {
  const inetPort = await freePort();
  const mx = await TestInstance.create(
    [
      `smtpd_recipient_restrictions = check_policy_service { inet:127.0.0.1:${inetPort}, policy_context=ctx1 }, check_policy_service unix:policy/socket`,
      `smtpd_end_of_data_restrictions = check_policy_service { inet:127.0.0.1:${inetPort}, policy_context=eod }`,
    ].join('\n'),
  );
  instances.push(mx);
  const inet = await policyServer(inetPort, (request) => {
    const answers: Record<string, string> = { reject: 'REJECT go away', defer: '450 4.2.0 try later', prepend: 'PREPEND X-Policy: seen', ok: 'OK' };
    return { action: answers[localPart(request)] ?? 'DUNNO' };
  });
  mkdirSync(join(mx.queue, 'policy'), { recursive: true });
  const unix = await policyServer(join(mx.queue, 'policy', 'socket'), (request) => ({ action: localPart(request) === 'unixno' ? 'REJECT from the unix server' : 'DUNNO' }));
  mx.start();

  const { client } = await SmtpClient.openWhenListening(mx.port);
  assert.match(await client.command('EHLO client.example'), /^250/);
  assert.match(await client.command('MAIL FROM:<s@example.org> SIZE=1234'), /^250 /);
  assert.match(await client.command('RCPT TO:<a@localhost>'), /^250 /);
  assert.match(await client.command('RCPT TO:<prepend@localhost>'), /^250 /);
  assert.equal(await client.command('RCPT TO:<reject@localhost>'), '554 5.7.1 <reject@localhost>: Recipient address rejected: go away');
  assert.equal(await client.command('RCPT TO:<defer@localhost>'), '450 4.2.0 <defer@localhost>: Recipient address rejected: try later');
  assert.equal(await client.command('RCPT TO:<unixno@localhost>'), '554 5.7.1 <unixno@localhost>: Recipient address rejected: from the unix server');
  assert.match(await client.command('RCPT TO:<ok@localhost>'), /^250 /);
  assert.match(await client.command('DATA'), /^354 /);
  const queued = /queued as ([0-9A-Z]+)/.exec(await client.command('Subject: policy\r\n\r\nbody\r\n.'))?.[1];
  assert.ok(queued !== undefined);
  assert.match(await client.command('MAIL FROM:<>'), /^250 /);
  assert.match(await client.command('RCPT TO:<b@localhost>'), /^250 /);
  await client.quit();
  const second = await SmtpClient.open(mx.port);
  await second.client.command('HELO other.example');
  await second.client.command('MAIL FROM:<t@example.org>');
  assert.match(await second.client.command('RCPT TO:<c@localhost>'), /^250 /);
  await second.client.quit();

  const clientName = /connect from (\S+)\[127\.0\.0\.1\]/.exec(mx.logText())?.[1] ?? '';
  const [first, prepend] = inet.requests;
  const names = (first ?? []).map(([name]) => name);
  assert.deepEqual(names, [
    'request', 'protocol_state', 'protocol_name', 'client_address', 'client_name', 'client_port', 'reverse_client_name', 'server_address', 'server_port',
    'helo_name', 'sender', 'recipient', 'recipient_count', 'queue_id', 'instance', 'size', 'etrn_domain', 'stress', 'sasl_method', 'sasl_username',
    'sasl_sender', 'ccert_subject', 'ccert_issuer', 'ccert_fingerprint', 'ccert_pubkey_fingerprint', 'encryption_protocol', 'encryption_cipher',
    'encryption_keysize', 'policy_context',
  ]);
  const request = new Map(first);
  assert.match(request.get('client_port') ?? '', /^\d+$/);
  assert.notEqual(request.get('client_port'), String(mx.port));
  assert.match(request.get('instance') ?? '', /^[0-9a-f]+\.[0-9a-f]+\.[0-9a-f]+\.[0-9a-f]+$/);
  assert.deepEqual(Object.fromEntries([...request].filter(([name]) => name !== 'client_port' && name !== 'instance')), {
    request: 'smtpd_access_policy',
    protocol_state: 'RCPT',
    protocol_name: 'ESMTP',
    client_address: '127.0.0.1',
    client_name: clientName,
    reverse_client_name: clientName,
    server_address: '127.0.0.1',
    server_port: String(mx.port),
    helo_name: 'client.example',
    sender: 's@example.org',
    recipient: 'a@localhost',
    recipient_count: '0',
    queue_id: '',
    size: '1234',
    etrn_domain: '',
    stress: '',
    sasl_method: '',
    sasl_username: '',
    sasl_sender: '',
    ccert_subject: '',
    ccert_issuer: '',
    ccert_fingerprint: '',
    ccert_pubkey_fingerprint: '',
    encryption_protocol: '',
    encryption_cipher: '',
    encryption_keysize: '0',
    policy_context: 'ctx1',
  });
  // The second recipient of the transaction: the queue file is open, one recipient counted, the same instance.
  const next = new Map(prepend);
  assert.equal(next.get('recipient'), 'prepend@localhost');
  assert.equal(next.get('recipient_count'), '1');
  assert.equal(next.get('queue_id'), queued);
  assert.equal(next.get('instance'), request.get('instance'));
  const later = inet.requests.map((r) => new Map(r));
  // At the end of the message: its size as queued (the size= qmgr logs), every accepted recipient counted, the queue ID.
  const size = /from=<s@example\.org>, size=(\d+)/.exec(await mx.waitForLog(new RegExp(`${queued}: from=<s@example\\.org>, size=`)))?.[1];
  const eod = later.find((r) => r.get('protocol_state') === 'END-OF-MESSAGE');
  assert.deepEqual([eod?.get('recipient'), eod?.get('recipient_count'), eod?.get('queue_id'), eod?.get('size'), eod?.get('policy_context')], ['', '3', queued, size, 'eod']);
  const nullSender = later.find((r) => r.get('recipient') === 'b@localhost');
  assert.equal(nullSender?.get('sender'), '');
  assert.notEqual(nullSender?.get('instance'), request.get('instance'), 'a new transaction is a new instance');
  assert.equal(later.find((r) => r.get('recipient') === 'c@localhost')?.get('protocol_name'), 'SMTP');
  // OK from the first service ends the list: the Unix server never hears of ok@.
  assert.deepEqual(unix.requests.map((r) => new Map(r).get('recipient')), ['a@localhost', 'prepend@localhost', 'unixno@localhost', 'b@localhost', 'c@localhost']);
  assert.equal(new Map(unix.requests[0]).get('policy_context'), '');
  // One kept connection per service as written (as in Postfix, the end-of-data one, with its own options, is another service)
  // in each smtpd process that served the two sessions (usually one; the master may have started a second meanwhile).
  const processes = new Set([...mx.logText().matchAll(/smtpd\[(\d+)\]: connect from/g)].map((m) => m[1])).size;
  assert.ok(inet.connections <= 2 * processes && inet.requests.length === 9, `${inet.connections} connections for ${inet.requests.length} requests from ${processes} smtpd processes`);
  assert.ok(unix.connections <= processes);

  await mx.waitForLog(new RegExp(`${queued}: to=<prepend@localhost>, .*status=sent`));
  assert.match(mx.maildir('prepend')[0] ?? '', /^Return-Path: <s@example\.org>\n(.*\n)*X-Policy: seen\n/);
  assert.match(mx.logText(), new RegExp(`${queued}: reject: RCPT from \\S+\\[127\\.0\\.0\\.1\\]: 554 5\\.7\\.1 <reject@localhost>: Recipient address rejected: go away; from=<s@example\\.org> to=<reject@localhost> proto=ESMTP helo=<client\\.example>`));
});

test('over TLS: encryption_* describe the session, ccert_* the certificate (its names, xtext-encoded, only when it verified), sasl_* the login, as Postfix 3.7 sends them', async () => {
  const pki = makeTestPki();
  const port = await freePort();
  const policy = await policyServer(port, () => ({ action: 'DUNNO' }));
  const mx = await TestInstance.create(`smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:${port}`, 'postmaster: root\n', {
    smtpd_tls_cert_file: pki.serverCert,
    smtpd_tls_key_file: pki.serverKey,
    smtpd_tls_CAfile: pki.caCert,
    smtpd_tls_security_level: 'may',
    smtpd_tls_ask_ccert: 'yes',
    smtpd_sasl_auth_enable: 'yes',
    smtpd_sasl_type: 'petrel',
  });
  instances.push(mx);
  const users = join(mx.etc, 'sasl_users');
  assert.equal(mx.run('petrel', ['saslpasswd', users, 'alice'], 'alice secret\n').status, 0);
  writeFileSync(join(mx.etc, 'main.cf'), `${readFileSync(join(mx.etc, 'main.cf'), 'utf8')}smtpd_sasl_path = texthash:${users}\n`);
  mx.start();
  const names = ['protocol_name', 'sasl_method', 'sasl_username', 'sasl_sender', 'encryption_protocol', 'encryption_cipher', 'encryption_keysize', 'ccert_subject', 'ccert_issuer', 'ccert_fingerprint', 'ccert_pubkey_fingerprint'];
  const print = (bytes: Buffer): string => (createHash('sha256').update(bytes).digest('hex').toUpperCase().match(/../g) as string[]).join(':');
  // A certificate signed by smtpd_tls_CAfile's CA, then an expired one (presented, not verified).
  for (const [certFile, keyFile, trusted] of [[pki.clientCert, pki.clientKey, true], [pki.expiredCert, pki.expiredKey, false]] as const) {
    const { client } = await SmtpClient.openWhenListening(mx.port);
    await client.command('EHLO client.example');
    const tls = await client.startTls({ cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), rejectUnauthorized: false });
    await client.command('EHLO client.example');
    // The first session logs in and names the message's author with MAIL FROM's AUTH=.
    if (trusted) assert.match(await client.command(`AUTH PLAIN ${Buffer.from('\0alice\0alice secret').toString('base64')}`), /^235 /);
    assert.match(await client.command(`MAIL FROM:<s@example.org>${trusted ? ' AUTH=alice+2Bx@example.org' : ''}`), /^250 /);
    assert.match(await client.command('RCPT TO:<a@localhost>'), /^250 /);
    const cipher = tls.getCipher();
    const protocol = tls.getProtocol();
    await client.quit();
    const cert = new X509Certificate(readFileSync(certFile));
    const request = new Map(policy.requests.at(-1));
    assert.deepEqual(names.map((name) => request.get(name)), [
      'ESMTP',
      trusted ? 'PLAIN' : '',
      trusted ? 'alice' : '',
      trusted ? 'alice+x@example.org' : '',
      protocol,
      cipher.name,
      /256/.test(cipher.name) ? '256' : '128',
      trusted ? 'client.test.example' : '',
      trusted ? 'Petrel+20Test+20CA' : '',
      print(cert.raw),
      print(cert.publicKey.export({ type: 'spki', format: 'der' })),
    ]);
  }
  rmSync(pki.dir, { recursive: true, force: true });
});

test('a policy server that hangs, closes, refuses or answers without an action gives the default action, with Postfix warnings', async () => {
  const [hangPort, closePort, refusedPort, garbledPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const hang = await policyServer(hangPort, () => 'hang');
  await policyServer(closePort, () => 'close');
  await policyServer(garbledPort, () => 'no-action');
  const root = mkdtempSync(join(tmpdir(), 'petrel-policy-'));
  const access = join(root, 'access');
  writeFileSync(access, ['hang@localhost hang', 'closing@localhost closing', 'refused@localhost refused', 'garbled@localhost garbled', 'lenient@localhost lenient', ''].join('\n'));
  const mx = await TestInstance.create(
    [
      'smtpd_policy_service_try_limit = 1',
      'smtpd_restriction_classes = hang, closing, refused, garbled, lenient',
      `hang = check_policy_service { inet:127.0.0.1:${hangPort}, timeout=1s, try_limit=2, retry_delay=0s }`,
      `closing = check_policy_service inet:127.0.0.1:${closePort}`,
      `refused = check_policy_service inet:127.0.0.1:${refusedPort}`,
      `garbled = check_policy_service inet:127.0.0.1:${garbledPort}`,
      `lenient = check_policy_service { inet:127.0.0.1:${refusedPort}, default_action=DUNNO }`,
      `smtpd_recipient_restrictions = check_recipient_access texthash:${access}`,
    ].join('\n'),
  );
  instances.push(mx);
  mx.start();
  const { client } = await SmtpClient.openWhenListening(mx.port);
  await client.command('EHLO client.example');
  await client.command('MAIL FROM:<s@example.org>');
  const refusal = (user: string): string => `451 4.3.5 <${user}@localhost>: Recipient address rejected: Server configuration problem`;
  const started = Date.now();
  assert.equal(await client.command('RCPT TO:<hang@localhost>'), refusal('hang'));
  const took = Date.now() - started;
  assert.ok(took >= 2000 && took < 6000, `two attempts of one second each took ${took} ms`);
  assert.equal(hang.requests.length, 2);
  assert.equal(await client.command('RCPT TO:<closing@localhost>'), refusal('closing'));
  assert.equal(await client.command('RCPT TO:<refused@localhost>'), refusal('refused'));
  assert.equal(await client.command('RCPT TO:<garbled@localhost>'), refusal('garbled'));
  assert.match(await client.command('RCPT TO:<lenient@localhost>'), /^250 /);
  await client.quit();
  const log = mx.logText();
  assert.equal(log.match(new RegExp(`warning: problem talking to server 127\\.0\\.0\\.1:${hangPort}: Connection timed out\\n`, 'g'))?.length, 2, log);
  assert.match(log, new RegExp(`warning: problem talking to server 127\\.0\\.0\\.1:${closePort}: `));
  assert.match(log, new RegExp(`warning: connect to 127\\.0\\.0\\.1:${refusedPort}: Connection refused\\n`));
  assert.match(log, new RegExp(`warning: problem talking to server 127\\.0\\.0\\.1:${refusedPort}: Connection refused\\n`));
  assert.match(log, new RegExp(`warning: missing attribute action in input from 127\\.0\\.0\\.1:${garbledPort}\\n`));
  assert.match(log, /NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 451 4\.3\.5 <hang@localhost>: Recipient address rejected: Server configuration problem; from=<s@example\.org> to=<hang@localhost> proto=ESMTP helo=<client\.example>/);
  rmSync(root, { recursive: true, force: true });
});

const POSTGREY = '/usr/sbin/postgrey';

test("Debian's postgrey greylists the first attempt (450 4.2.0) and accepts the retry after its delay", { skip: needFile(POSTGREY, 'the greylisting policy server (apt-get install postgrey)') }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'petrel-postgrey-'));
  const dbdir = join(root, 'db');
  mkdirSync(dbdir);
  const asRoot = process.getuid?.() === 0;
  chmodSync(root, 0o755);
  // postgrey drops root privileges to its own user, which must own the database folder.
  if (asRoot) chownSync(dbdir, Number(spawnSync('id', ['-u', 'postgrey'], { encoding: 'utf8' }).stdout), Number(spawnSync('id', ['-g', 'postgrey'], { encoding: 'utf8' }).stdout));
  const port = await freePort();
  const owner = asRoot ? [] : [`--user=${spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim()}`, `--group=${spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim()}`];
  const postgrey: ChildProcess = spawn(POSTGREY, [`--inet=127.0.0.1:${port}`, `--dbdir=${dbdir}`, '--delay=2', `--pidfile=${join(root, 'pid')}`, ...owner], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  postgrey.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  try {
    const mx = await TestInstance.create(`smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:${port}`);
    instances.push(mx);
    mx.start();
    await waitFor(() => stderr.includes('Process Backgrounded') || /Binding to TCP port/.test(stderr) || postgrey.exitCode !== null ? true : undefined, 'postgrey to listen');
    await sleep(300);
    assert.equal(postgrey.exitCode, null, stderr);
    const attempt = async (): Promise<string> => {
      const { client } = await SmtpClient.openWhenListening(mx.port);
      await client.command('EHLO client.example');
      await client.command('MAIL FROM:<s@sender.example>');
      const reply = await client.command('RCPT TO:<grey@localhost>');
      if (reply.startsWith('250')) {
        await client.command('DATA');
        await client.command('Subject: greylisted\r\n\r\nbody\r\n.');
      }
      await client.quit();
      return reply;
    };
    assert.equal(await attempt(), '450 4.2.0 <grey@localhost>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/localhost.html');
    assert.match(mx.logText(), /NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 450 4\.2\.0 <grey@localhost>: Recipient address rejected: Greylisted, see http:\/\/postgrey\.schweikert\.ch\/help\/localhost\.html; from=<s@sender\.example> to=<grey@localhost> proto=ESMTP helo=<client\.example>/);
    await sleep(2500);
    assert.match(await attempt(), /^250 /);
    // postgrey's PREPEND of the first delivery after greylisting lands in the message.
    await mx.waitForLog(/to=<grey@localhost>, .*status=sent/);
    assert.match(mx.maildir('grey')[0] ?? '', /\nX-Greylist: delayed \d+ seconds by postgrey-/);
  } finally {
    postgrey.kill('SIGTERM');
    await new Promise((resolve) => (postgrey.exitCode !== null ? resolve(undefined) : postgrey.once('exit', resolve)));
    rmSync(root, { recursive: true, force: true });
  }
});

const POLICYD_SPF = '/usr/bin/policyd-spf';
const SYSTEM_PYTHON = '/usr/bin/python3';

/**
 * policyd-spf reads requests on standard input, as under Postfix's spawn(8):
 * this serves each connection on port with one policyd-spf process of its
 * own. Its DNS library (pydns) is pointed at the test's DNS server on
 * dnsPort instead of /etc/resolv.conf's, the only change to it.
 */
async function spawnPolicydSpf(port: number, config: string, dnsPort: number): Promise<void> {
  const start = [
    'import sys, spf, DNS',
    "DNS.defaults['server'] = ['127.0.0.1']",
    `DNS.defaults['port'] = ${dnsPort}`,
    'from spf_engine.policyd_spf import main',
    `sys.argv = ['policyd-spf', '${config}']`,
    'sys.exit(main())',
  ].join('\n');
  const server = createServer((socket: Socket) => {
    const child = spawn(SYSTEM_PYTHON, ['-c', start], { stdio: ['pipe', 'pipe', 'inherit'] });
    socket.pipe(child.stdin);
    child.stdout.pipe(socket);
    socket.on('error', () => child.kill());
    socket.on('close', () => child.kill());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

test("Debian's policyd-spf refuses a sender whose SPF record fails the client, and prepends Received-SPF to mail that passes", { skip: needFile(POLICYD_SPF, 'the SPF policy server (apt-get install postfix-policyd-spf-python)') }, async () => {
  const dns = await startDnsServer({
    'pass.example': { txt: ['v=spf1 ip4:127.0.0.1 -all'] },
    'fail.example': { txt: ['v=spf1 ip4:192.0.2.1 -all'] },
  });
  const root = mkdtempSync(join(tmpdir(), 'petrel-spf-'));
  try {
    // Debian's settings, less skip_addresses (which exempts 127.0.0.0/8, this test's client).
    const config = join(root, 'policyd-spf.conf');
    writeFileSync(config, ['debugLevel = 1', 'TestOnly = 1', 'HELO_reject = Fail', 'Mail_From_reject = Fail', 'PermError_reject = False', 'TempError_Defer = False', 'skip_addresses = 192.0.2.255/32', ''].join('\n'));
    const port = await freePort();
    await spawnPolicydSpf(port, config, dns.port);
    const mx = await TestInstance.create(`smtpd_recipient_restrictions = check_policy_service { inet:127.0.0.1:${port}, timeout=20s }`);
    instances.push(mx);
    mx.start();
    const { client } = await SmtpClient.openWhenListening(mx.port);
    await client.command('EHLO client.example');
    await client.command('MAIL FROM:<s@fail.example>');
    assert.match(await client.command('RCPT TO:<spf@localhost>'), /^550 5\.7\.23 <spf@localhost>: Recipient address rejected: Message rejected due to: SPF fail - not authorized\. /);
    await client.command('RSET');
    await client.command('MAIL FROM:<s@pass.example>');
    assert.match(await client.command('RCPT TO:<spf@localhost>'), /^250 /);
    assert.match(await client.command('DATA'), /^354 /);
    assert.match(await client.command('Subject: spf\r\n\r\nbody\r\n.'), /^250 /);
    await client.quit();
    await mx.waitForLog(/to=<spf@localhost>, .*status=sent/);
    assert.match(mx.maildir('spf')[0] ?? '', /\nReceived-SPF: Pass \(mailfrom\) identity=mailfrom; client-ip=127\.0\.0\.1; helo=client\.example; envelope-from=s@pass\.example; receiver=/);
  } finally {
    dns.close();
    rmSync(root, { recursive: true, force: true });
  }
});

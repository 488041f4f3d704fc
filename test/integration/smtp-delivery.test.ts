import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;
let dns: DnsServer;
let port: number;
const peers: SmtpPeer[] = [];
let up: SmtpPeer;
let plainOnly: SmtpPeer;

before(async () => {
  port = await freePort();
  dns = await startDnsServer({
    'multi.test': { mx: [{ preference: 10, exchange: 'mx1.multi.test' }, { preference: 20, exchange: 'mx2.multi.test' }] },
    'mx1.multi.test': { a: ['127.0.0.3'] },
    'mx2.multi.test': { a: ['127.0.0.2'] },
    'plain.test': { a: ['127.0.0.2'] },
    'mixed.test': { mx: [{ preference: 10, exchange: 'mx2.multi.test' }] },
    'loop.test': { mx: [{ preference: 10, exchange: 'mx.test.example' }] },
    'mx.test.example': { a: ['127.0.0.1'] },
    'later.test': { a: ['127.0.0.4'] },
    'dying.test': { a: ['127.0.0.6'] },
    'tls.test': { a: ['127.0.0.2'] },
    'tls12.test': { a: ['127.0.0.2'] },
    'tls13.test': { a: ['127.0.0.2'] },
    'legacy.test': { a: ['127.0.0.2'] },
    'legacyverify.test': { a: ['127.0.0.2'] },
    'legacyplain.test': { a: ['127.0.0.5'] },
    'notls.test': { a: ['127.0.0.5'] },
    'sub.policy.test': { a: ['127.0.0.5'] },
    'dane.test': { a: ['127.0.0.2'] },
    'old.test': { a: ['127.0.0.5'] },
  });
  up = await startSmtpPeer('127.0.0.2', port);
  plainOnly = await startSmtpPeer('127.0.0.5', port, { startTls: false, minimal: true });
  peers.push(up, plainOnly);
  mx = await TestInstance.createSmtpClient(
    dns.port,
    port,
    {
      smtp_connect_timeout: '2s',
      smtp_tls_loglevel: '1',
      smtp_tls_note_starttls_offer: 'yes',
      delay_warning_time: '1s',
      smtp_tls_policy_maps: 'inline:{ .policy.test=encrypt, dane.test=dane }',
      notify_classes: 'bounce, 2bounce',
      smtp_generic_maps: 'inline:{ gen@localhost=gen@public.example, @box.localdomain=ops@public.example }',
      transport_maps: 'inline:{ tls.test=tlsrelay:, notls.test=tlsrelay:, dying.test=onebyone:, tls12.test=tls12:, tls13.test=tls13:, legacy.test=legacytls:, legacyplain.test=legacytls:, legacyverify.test=legacyverify: }',
      onebyone_destination_recipient_limit: '1',
      onebyone_destination_concurrency_limit: '1',
    },
    'postmaster: alice\n',
    [
      'tlsrelay unix - - n - - smtp -o smtp_tls_security_level=encrypt',
      'onebyone unix - - n - - smtp',
      'tls12 unix - - n - - smtp -o smtp_tls_security_level=encrypt -o smtp_tls_mandatory_protocols=TLSv1.2 -o smtp_tls_mandatory_exclude_ciphers=AESGCM',
      'legacytls unix - - n - - smtp -o smtp_enforce_tls=yes -o smtp_tls_enforce_peername=no',
      'legacyverify unix - - n - - smtp -o smtp_enforce_tls=yes',
      'tls13 unix - - n - - smtp -o smtp_tls_security_level=encrypt -o smtp_tls_mandatory_protocols=>=TLSv1.3',
    ],
  );
  mx.start();
});

after(async () => {
  mx.remove();
  dns.close();
  for (const peer of peers) await peer.close();
});

function send(recipients: string[], subject: string): Promise<string> {
  return mx.submit('alice@localhost', recipients, `Subject: ${subject}\n\nbody of ${subject}\n`);
}

test('MX hosts are tried by preference: the first is down, the second takes the mail; Postfix\'s log line names it', async () => {
  const id = await send(['bob@multi.test'], 'mx order');
  const log = await mx.waitForLog(new RegExp(`${id}: to=<bob@multi\\.test>.*status=sent`));
  assert.match(log, new RegExp(`${id}: to=<bob@multi\\.test>, relay=mx2\\.multi\\.test\\[127\\.0\\.0\\.2\\]:${port}, delay=[\\d.]+, delays=[\\d./]+, dsn=2\\.0\\.0, status=sent \\(250 Ok: queued as PEER1\\)`));
  const got = up.received.find((m) => m.data.includes('body of mx order'));
  assert.ok(got);
  assert.equal(got.from, 'alice@localhost');
  assert.deepEqual(got.to, ['bob@multi.test']);
  assert.match(got.data, /^Received: from client\.example/);
  assert.match(got.data, /\r\n\r\nbody of mx order\r\n$/);
});

test('a domain without MX records is reached at its own address; a line over 998 bytes is broken with CRLF and a space', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const long = 'x'.repeat(2500);
  const reply = await client.send('alice@localhost', ['carol@plain.test'], `Subject: no mx\n\n${long}\n`);
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;
  await mx.waitForLog(new RegExp(`${id}: to=<carol@plain\\.test>, relay=plain\\.test\\[127\\.0\\.0\\.2\\]:${port},.*status=sent`));
  // Level none here: smtp_tls_note_starttls_offer notes the server that offered STARTTLS.
  assert.match(mx.logText(), /smtp\[\d+\]: Host offered STARTTLS: \[plain\.test\]/);
  const got = up.received.find((m) => m.data.includes('Subject: no mx'));
  assert.ok(got);
  const body = got.data.slice(got.data.indexOf('\r\n\r\n') + 4);
  assert.equal(body, `${'x'.repeat(998)}\r\n ${'x'.repeat(997)}\r\n ${'x'.repeat(505)}\r\n`);
});

test('a connection is kept for the next delivery to the same next hop, and counted in conn_use=', async () => {
  const first = await send(['reuse1@plain.test'], 'reuse one');
  const log = await mx.waitForLog(new RegExp(`${first}: to=<reuse1@plain\\.test>, relay=plain\\.test\\[127\\.0\\.0\\.2\\]:${port}, .*status=sent`));
  const uses = Number(new RegExp(`${first}: to=<reuse1@plain\\.test>, relay=\\S+, conn_use=(\\d+)`).exec(log)?.[1] ?? 1);
  const second = await send(['reuse2@plain.test'], 'reuse two');
  await mx.waitForLog(new RegExp(`${second}: to=<reuse2@plain\\.test>, relay=plain\\.test\\[127\\.0\\.0\\.2\\]:${port}, conn_use=${uses + 1}, delay=.*status=sent`));
});

test('one message, three answers: 250 delivered, 450 deferred, 550 bounced, and the sender is told about the bounced one', async () => {
  const id = await send(['ok@mixed.test', 'temp@mixed.test', 'perm@mixed.test'], 'mixed answers');
  const log = await mx.waitForLog(new RegExp(`${id}: to=<perm@mixed\\.test>.*status=bounced`));
  assert.match(log, new RegExp(`${id}: to=<ok@mixed\\.test>, relay=mx2\\.multi\\.test\\[127\\.0\\.0\\.2\\]:${port},.*dsn=2\\.0\\.0, status=sent`));
  assert.match(log, new RegExp(`${id}: to=<temp@mixed\\.test>, relay=mx2\\.multi\\.test\\[127\\.0\\.0\\.2\\]:${port},.*dsn=4\\.2\\.0, status=deferred \\(host mx2\\.multi\\.test\\[127\\.0\\.0\\.2\\] said: 450 4\\.2\\.0 <temp@mixed\\.test>: mailbox busy, try later \\(in reply to RCPT TO command\\)\\)`));
  assert.match(log, new RegExp(`${id}: to=<perm@mixed\\.test>,.*dsn=5\\.1\\.1, status=bounced \\(host mx2\\.multi\\.test\\[127\\.0\\.0\\.2\\] said: 550 5\\.1\\.1 <perm@mixed\\.test>`));
  await mx.waitForLog(new RegExp(`${id}: sender non-delivery notification: [0-9A-Z]+`));
  const notice = await waitFor(() => mx.maildir('alice').find((m) => m.includes('\nTo: alice@localhost\n') && m.includes('Final-Recipient: rfc822; perm@mixed.test')), 'the notice about perm in the Maildir of alice');
  assert.doesNotMatch(notice, /Final-Recipient: rfc822; temp@mixed\.test/);
  assert.match(notice, /^From: MAILER-DAEMON@mx\.test\.example \(Mail Delivery System\)$/m);
  assert.match(notice, /^Subject: Undelivered Mail Returned to Sender$/m);
  assert.match(notice, /^Content-Type: multipart\/report; report-type=delivery-status;\n\tboundary="([^"]+)"$/m);
  assert.match(notice, new RegExp(`Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\.test\.example\nX-Postfix-Queue-ID: ${id}\nX-Postfix-Sender: rfc822; alice@localhost\nArrival-Date: .+\n`));
  assert.match(notice, /\nFinal-Recipient: rfc822; perm@mixed\.test\nAction: failed\nStatus: 5\.1\.1\nRemote-MTA: dns; mx2\.multi\.test\nDiagnostic-Code: smtp; 550 5\.1\.1 <perm@mixed\.test>: Recipient address rejected: User unknown\n/);
  assert.match(notice, /Content-Type: message\/rfc822\nContent-Transfer-Encoding: 8bit\n\nReceived: from client\.example[\s\S]*\n\nbody of mixed answers\n\n--[^\n]+--\n$/);
  assert.match(mx.run('postqueue', ['-p']).stdout, /temp@mixed\.test/);
});

test('a name that does not exist bounces; an MX that is this host loops back to myself', async () => {
  const id = await send(['dan@nowhere.test', 'erin@loop.test'], 'dns failures');
  const log = await mx.waitForLog(new RegExp(`${id}: removed`));
  assert.match(log, new RegExp(`${id}: to=<dan@nowhere\\.test>, relay=none,.*dsn=5\\.4\\.4, status=bounced \\(Host or domain name not found\\. Name service error for name=nowhere\\.test type=MX: Host not found\\)`));
  assert.match(log, new RegExp(`${id}: to=<erin@loop\\.test>, relay=none,.*dsn=5\\.4\\.6, status=bounced \\(mail for loop\\.test loops back to myself\\)`));
});

test('deliveries still waiting for a destination that dies are deferred without an attempt, and the message is filed once', async () => {
  const id = await send(['one@dying.test', 'two@dying.test', 'three@dying.test'], 'one at a time');
  const refused = `connect to dying\\.test\\[127\\.0\\.0\\.6\\]:${port}: Connection refused`;
  await mx.waitForLog(new RegExp(`${id}: to=<one@dying\\.test>, relay=none,.*dsn=4\\.4\\.1, status=deferred \\(${refused}\\)`));
  for (const name of ['two', 'three']) await mx.waitForLog(new RegExp(`${id}: to=<${name}@dying\\.test>, relay=none,.*dsn=4\\.4\\.0, status=deferred \\(delivery temporarily suspended: ${refused}\\)`));
  await waitFor(() => mx.queued('deferred').includes(id), 'the message in deferred/');
  const log = mx.logText();
  assert.equal([...log.matchAll(new RegExp(`${id}: to=<[a-z]+@dying\\.test>.*status=deferred \\(${refused}\\)`, 'g'))].length, 1, 'one delivery attempt');
  assert.equal([...log.matchAll(new RegExp(`${id}: to=<[a-z]+@dying\\.test>`, 'g'))].length, 3, 'one line a recipient');
  assert.doesNotMatch(log, new RegExp(`${id}: removed`));
});

test('a destination that is down is deferred, then delivered once it is up and the queue is flushed', async () => {
  const id = await send(['frank@later.test'], 'come back');
  await mx.waitForLog(new RegExp(`${id}: to=<frank@later\\.test>, relay=none,.*status=deferred \\(connect to later\\.test\\[127\\.0\\.0\\.4\\]:${port}: Connection refused\\)`));
  const later = await startSmtpPeer('127.0.0.4', port);
  peers.push(later);
  assert.equal(mx.run('postqueue', ['-f']).status, 0);
  await mx.waitForLog(new RegExp(`${id}: to=<frank@later\\.test>, relay=later\\.test\\[127\\.0\\.0\\.4\\]:${port},.*status=sent`));
  assert.ok(later.received.some((m) => m.data.includes('body of come back')));
});

test('smtp_tls_security_level=encrypt: STARTTLS is used where offered, and mail waits where it is not', async () => {
  const id = await send(['gina@tls.test', 'hank@notls.test'], 'tls please');
  const log = await mx.waitForLog(new RegExp(`${id}: to=<hank@notls\\.test>.*status=deferred`));
  await mx.waitForLog(new RegExp(`${id}: to=<gina@tls\\.test>.*status=sent`));
  assert.match(mx.logText(), new RegExp(`Untrusted TLS connection established to tls\\.test\\[127\\.0\\.0\\.2\\]:${port}: TLSv1\\.[23] with cipher \\S+`));
  assert.ok(up.received.some((m) => m.data.includes('body of tls please') && m.secure));
  assert.match(log, /to=<hank@notls\.test>.*dsn=4\.7\.4, status=deferred \(TLS is required, but was not offered by host notls\.test\[127\.0\.0\.5\]\)/);
  assert.equal(plainOnly.received.length, 0);
});

test('DSN: NOTIFY=NEVER gets no notice, NOTIFY and ORCPT go on per recipient to a server with DSN, RET=HDRS only headers, ENVID and ORCPT echoed; a delay warning once', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.match(await client.command('MAIL FROM:<alice@localhost> RET=HDRS ENVID=env-42'), /^250/);
  assert.match(await client.command('RCPT TO:<perm1@mixed.test> NOTIFY=NEVER'), /^250/);
  assert.match(await client.command('RCPT TO:<perm2@mixed.test> NOTIFY=FAILURE ORCPT=rfc822;list+2Bperm2@example.org'), /^250/);
  assert.match(await client.command('RCPT TO:<good@mixed.test> NOTIFY=SUCCESS'), /^250/);
  assert.match(await client.command('RCPT TO:<temp9@mixed.test>'), /^250/);
  assert.match(await client.command('DATA'), /^354/);
  const reply = await client.command('Subject: dsn options\r\n\r\nsecret body\r\n.');
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;
  await mx.waitForLog(new RegExp(`${id}: sender non-delivery notification: `));
  await mx.waitForLog(new RegExp(`${id}: to=<good@mixed\\.test>.*status=sent`));
  const failed = await waitFor(() => mx.maildir('alice').find((m) => m.includes('\nTo: alice@localhost\n') && m.includes('Final-Recipient: rfc822; perm2@mixed.test')), 'the notice about perm2 in the Maildir of alice');
  assert.doesNotMatch(failed, /perm1@mixed\.test/);
  assert.match(failed, /Original-Envelope-Id: env-42\n/);
  assert.match(failed, /Final-Recipient: rfc822; perm2@mixed\.test\nOriginal-Recipient: rfc822; list\+perm2@example\.org\nAction: failed\n/);
  assert.match(failed, /Content-Type: text\/rfc822-headers\n/);
  assert.match(failed, /Subject: dsn options\n/);
  assert.doesNotMatch(failed, /secret body/);
  // Each recipient's own NOTIFY and ORCPT went on with its RCPT TO; the next hop announced DSN, so the
  // success report for good@ is its job, not ours.
  const sentOn = up.rcpts.filter((r) => r.address.endsWith('@mixed.test'));
  assert.deepEqual(sentOn.find((r) => r.address === 'perm1@mixed.test'), { address: 'perm1@mixed.test', notify: 'NEVER' });
  assert.deepEqual(sentOn.find((r) => r.address === 'perm2@mixed.test'), { address: 'perm2@mixed.test', notify: 'FAILURE', orcpt: 'rfc822;list+perm2@example.org' });
  assert.deepEqual(sentOn.find((r) => r.address === 'good@mixed.test'), { address: 'good@mixed.test', notify: 'SUCCESS' });
  assert.deepEqual(sentOn.find((r) => r.address === 'temp9@mixed.test'), { address: 'temp9@mixed.test' });
  assert.doesNotMatch(mx.logText(), new RegExp(`${id}: sender delivery status notification`));
  const delayed = await waitFor(() => mx.maildir('alice').find((m) => m.includes('Final-Recipient: rfc822; temp9@mixed.test')), 'the notice about temp9 in the Maildir of alice');
  assert.match(delayed, /^Subject: Delayed Mail \(still being retried\)$/m);
  assert.match(delayed, /Action: delayed\nStatus: 4\.2\.0\n/);
  assert.equal(mx.run('postqueue', ['-f']).status, 0);
  // Once a third attempt is logged, the second (the flush) is over: any delay notice it sent is logged by then.
  await waitFor(() => mx.logText().split(`${id}: to=<temp9@mixed.test>`).length > 3, 'a third delivery attempt for temp9@');
  assert.equal(mx.logText().split(`${id}: sender delay notification: `).length, 2, 'one delay notice, however many attempts');
  assert.equal(mx.maildir('alice').filter((m) => m.includes('Final-Recipient: rfc822; temp9@mixed.test')).length, 1);
});

test('smtp_tls_policy_maps: a parent-domain entry requires TLS; a policy Petrel cannot carry out defers the mail', async () => {
  const id = await send(['ivy@sub.policy.test', 'jon@dane.test'], 'tls policy');
  const log = await mx.waitForLog(new RegExp(`${id}: to=<jon@dane\\.test>.*status=deferred`));
  await mx.waitForLog(new RegExp(`${id}: to=<ivy@sub\\.policy\\.test>.*status=deferred`));
  assert.match(mx.logText(), new RegExp(`${id}: to=<ivy@sub\\.policy\\.test>,.*dsn=4\\.7\\.4, status=deferred \\(TLS is required, but was not offered by host sub\\.policy\\.test\\[127\\.0\\.0\\.5\\]\\)`));
  assert.match(log, new RegExp(`${id}: to=<jon@dane\\.test>, relay=none,.*dsn=4\\.7\\.5, status=deferred \\(TLS policy lookup for dane\\.test: unsupported TLS security level "dane"\\)`));
});

test('smtp_generic_maps rewrites the envelope and the header addresses of mail leaving by SMTP, not the body', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const reply = await client.send(
    'gen@localhost',
    ['hdr@plain.test'],
    'From: Gen <gen@localhost>\nTo: hdr@plain.test,\n root@box.localdomain\nSubject: generic\n\nwritten by gen@localhost\n',
  );
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;
  await mx.waitForLog(new RegExp(`${id}: to=<hdr@plain\\.test>, relay=plain\\.test.*status=sent`));
  const got = up.received.find((m) => m.data.includes('Subject: generic'));
  assert.ok(got);
  assert.equal(got.from, 'gen@public.example');
  assert.match(got.data, /\r\nFrom: Gen <gen@public\.example>\r\nTo: hdr@plain\.test,\r\n ops@public\.example\r\n/);
  assert.match(got.data, /\r\n\r\nwritten by gen@localhost\r\n$/);
});

test('notify_classes: the postmaster gets the headers of each bounce (bounce) and the bounces that cannot be returned (2bounce); mail to double-bounce is discarded', async () => {
  const id = await send(['perm7@mixed.test'], 'postmaster copy');
  await mx.waitForLog(new RegExp(`${id}: postmaster non-delivery notification: `));
  const copy = await waitFor(() => mx.maildir('alice').find((m) => m.includes('\nTo: postmaster\n') && m.includes('Final-Recipient: rfc822; perm7@mixed.test')), 'the notice about perm7 in the Maildir of alice');
  assert.match(copy, /^Return-Path: <double-bounce@mx\.test\.example>$/m);
  assert.match(copy, /Content-Type: text\/rfc822-headers\n/);
  assert.doesNotMatch(copy, /body of postmaster copy/);
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const reply = await client.send('', ['perm8@mixed.test'], 'Subject: a bounce that bounces\n\nnull sender\n');
  await client.quit();
  const nullId = /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;
  await mx.waitForLog(new RegExp(`${nullId}: postmaster non-delivery notification: `));
  const double = await waitFor(() => mx.maildir('alice').find((m) => m.includes('Final-Recipient: rfc822; perm8@mixed.test')), 'the notice about perm8 in the Maildir of alice');
  assert.match(double, /^Return-Path: <double-bounce@mx\.test\.example>$/m);
  assert.match(double, /Content-Type: message\/rfc822\n/);
  const discard = await send(['double-bounce@mx.test.example'], 'to double-bounce');
  await mx.waitForLog(new RegExp(`${discard}: to=<double-bounce@mx\\.test\\.example>, relay=none,.*status=sent \\(discarded: double-bounce\\)`));
});

test('an address that is not ASCII bounces at a server without SMTPUTF8; BODY=8BITMIME is passed on where the server has 8BITMIME, 8-bit parts are converted to quoted-printable where it has not', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.match(await client.command('MAIL FROM:<alice@localhost> SMTPUTF8'), /^250/);
  assert.match(await client.command('RCPT TO:<jörg@old.test>'), /^250/);
  assert.match(await client.command('DATA'), /^354/);
  const utf8 = /queued as ([0-9A-Z]+)/.exec(await client.command('Subject: utf8\r\n\r\nx\r\n.'))?.[1] as string;
  assert.match(await client.command('MAIL FROM:<alice@localhost> BODY=8BITMIME'), /^250/);
  assert.match(await client.command('RCPT TO:<eight@plain.test>'), /^250/);
  assert.match(await client.command('DATA'), /^354/);
  const eight = /queued as ([0-9A-Z]+)/.exec(await client.command('Subject: 8bit\r\n\r\nçà\r\n.'))?.[1] as string;
  assert.match(await client.command('MAIL FROM:<alice@localhost> BODY=8BITMIME'), /^250/);
  assert.match(await client.command('RCPT TO:<seven@old.test>'), /^250/);
  assert.match(await client.command('DATA'), /^354/);
  const mime = 'Subject: to 7bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n';
  const seven = /queued as ([0-9A-Z]+)/.exec(await client.command(`${mime}.`))?.[1] as string;
  await client.quit();
  await mx.waitForLog(new RegExp(`${utf8}: to=<jörg@old\\.test>, relay=old\\.test\\[127\\.0\\.0\\.5\\]:${port},.*dsn=5\\.6\\.7, status=bounced \\(SMTPUTF8 is required, but was not offered by host old\\.test\\[127\\.0\\.0\\.5\\]\\)`));
  await mx.waitForLog(new RegExp(`${eight}: to=<eight@plain\\.test>.*status=sent`));
  assert.equal(up.received.find((m) => m.data.includes('Subject: 8bit'))?.body, '8BITMIME');
  await mx.waitForLog(new RegExp(`${seven}: to=<seven@old\\.test>.*status=sent`));
  const converted = plainOnly.received.find((m) => m.data.includes('Subject: to 7bit'));
  assert.ok(converted);
  assert.equal(converted.body, undefined);
  assert.match(converted.data, /\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n$/);
  assert.ok(!/[^\x00-\x7f]/.test(converted.data), 'nothing 8-bit reached the 7-bit server');
});

test('NOTIFY=SUCCESS: a next hop with DSN takes the report over; one without gets a "relayed" report from here', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  assert.match(await client.command('MAIL FROM:<alice@localhost>'), /^250/);
  assert.match(await client.command('RCPT TO:<passed@plain.test> NOTIFY=SUCCESS'), /^250/);
  assert.match(await client.command('DATA'), /^354/);
  const passed = /queued as ([0-9A-Z]+)/.exec(await client.command('Subject: dsn passed\r\n\r\nx\r\n.'))?.[1] as string;
  assert.match(await client.command('MAIL FROM:<alice@localhost>'), /^250/);
  assert.match(await client.command('RCPT TO:<kept@old.test> NOTIFY=SUCCESS'), /^250/);
  assert.match(await client.command('DATA'), /^354/);
  const kept = /queued as ([0-9A-Z]+)/.exec(await client.command('Subject: dsn kept\r\n\r\nx\r\n.'))?.[1] as string;
  await client.quit();
  await mx.waitForLog(new RegExp(`${kept}: sender delivery status notification: `));
  await mx.waitForLog(new RegExp(`${passed}: removed`));
  assert.doesNotMatch(mx.logText(), new RegExp(`${passed}: sender delivery status notification`));
  const report = await waitFor(() => mx.maildir('alice').find((m) => m.includes('Final-Recipient: rfc822; kept@old.test')), 'the notice about kept in the Maildir of alice');
  assert.match(report, /Action: relayed\nStatus: 2\.0\.0\n/);
});


test('smtp_tls_mandatory_protocols and _exclude_ciphers: the TLS versions and ciphers the client speaks at level encrypt', async () => {
  const id = await send(['kim@tls12.test', 'lou@tls13.test'], 'versions');
  await mx.waitForLog(new RegExp(`${id}: to=<kim@tls12\\.test>.*status=sent`));
  await mx.waitForLog(new RegExp(`${id}: to=<lou@tls13\\.test>.*status=sent`));
  const tls12 = new RegExp(`Untrusted TLS connection established to tls12\\.test\\[127\\.0\\.0\\.2\\]:${port}: TLSv1\\.2 with cipher (\\S+)`).exec(mx.logText());
  assert.ok(tls12 !== null);
  assert.doesNotMatch(tls12[1] as string, /GCM/);
  assert.match(mx.logText(), new RegExp(`Untrusted TLS connection established to tls13\\.test\\[127\\.0\\.0\\.2\\]:${port}: TLSv1\\.3 with cipher`));
});

test('the obsolete smtp_enforce_tls, with smtp_tls_security_level unset: TLS required, and with smtp_tls_enforce_peername (its default) a verified certificate', async () => {
  const id = await send(['max@legacy.test', 'ned@legacyplain.test', 'ora@legacyverify.test'], 'legacy tls');
  await mx.waitForLog(new RegExp(`${id}: to=<max@legacy\\.test>.*status=sent`));
  assert.match(mx.logText(), new RegExp(`Untrusted TLS connection established to legacy\\.test\\[127\\.0\\.0\\.2\\]:${port}: TLSv1\\.[23]`));
  // A server without STARTTLS does not get the mail; one whose certificate does not verify neither.
  await mx.waitForLog(new RegExp(`${id}: to=<ned@legacyplain\\.test>.*dsn=4\\.7\\.4, status=deferred \\(TLS is required, but was not offered`));
  await mx.waitForLog(new RegExp(`${id}: to=<ora@legacyverify\\.test>.*status=deferred`));
  assert.equal(up.received.some((m) => m.to.includes('ora@legacyverify.test')), false);
});

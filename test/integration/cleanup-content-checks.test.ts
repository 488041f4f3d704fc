/*
 * header_checks, mime_header_checks, nested_header_checks and body_checks
 * through the real daemons: each action over SMTP, its log line, what
 * reaches the Maildir or the queue; MIME parts; a pathological pattern;
 * a rejected local submission bounced; receive_override_options.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';

let mx: TestInstance;
let unchecked: number;

const HEADER_CHECKS = [
  '/^Subject:.*reject me/ REJECT no thanks',
  '/^Subject:.*custom code/ REJECT 5.7.0 policy says no',
  '/^Subject:.*discard me/ DISCARD',
  '/^Subject:.*hold me/ HOLD held for review',
  '/^Subject:.*redirect me/ REDIRECT bob@localhost',
  '/^Subject:.*filter me/ FILTER discard:filtered',
  '/^Subject: folded[[:space:]]+second part/ REJECT folded header seen whole',
  '/^X-Replace-Me:/ REPLACE X-Replaced: done',
  '/^X-Drop:/ IGNORE',
  '/^X-Warn:/ WARN watch this',
  '/^X-Info:/ INFO noted',
  '/^X-Bcc:/ BCC carol@localhost',
  '/^X-Prepend:/ PREPEND X-Prepended: yes',
  '/^X-Dunno:/ DUNNO',
  '/^X-Slow: (a+)+$/ REJECT never reached',
  '',
].join('\n');

/** One message over SMTP; the reply to its content. */
async function transact(port: number, from: string, to: readonly string[], text: string): Promise<string> {
  const { client } = await SmtpClient.open(port);
  await client.command('EHLO client.example');
  const reply = await client.send(from, to, text);
  await client.quit();
  return reply;
}

function send(port: number, subject: string, extra = '', from = 'sender@example.org', to = ['alice@localhost']): Promise<string> {
  return transact(port, from, to, `Subject: ${subject}\n${extra}\nbody of ${subject}\n`);
}

function queuedId(reply: string): string {
  const id = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)$/.exec(reply)?.[1];
  assert.ok(id, reply);
  return id;
}

before(async () => {
  mx = await TestInstance.create('', 'postmaster: root\n', {
    header_checks: 'regexp:$config_directory/header_checks',
    mime_header_checks: 'pcre:$config_directory/mime_header_checks',
    nested_header_checks: 'regexp:$config_directory/nested_header_checks',
    body_checks: 'pcre:$config_directory/body_checks',
    virtual_alias_maps: 'inline:{ {alias@localhost=bob@localhost} }',
  });
  writeFileSync(join(mx.etc, 'header_checks'), HEADER_CHECKS);
  writeFileSync(join(mx.etc, 'mime_header_checks'), '/^Content-Disposition:.*filename="?[^"]*\\.exe/ REJECT attachment type not allowed\n/^X-Part-Warn:/ WARN part header\n');
  writeFileSync(join(mx.etc, 'nested_header_checks'), '/^Subject:.*nested bad/ REJECT attached message refused\n');
  writeFileSync(join(mx.etc, 'body_checks'), '/forbidden phrase/ REJECT body says no\n/^--spam-boundary/ REJECT boundary refused\n/^replace this line$/ REPLACE replaced line\n');
  unchecked = await freePort();
  appendFileSync(
    join(mx.etc, 'master.cf'),
    [`127.0.0.1:${unchecked} inet n - n - - smtpd -o receive_override_options=no_header_body_checks,no_address_mappings`, 'error unix - - n - - error', 'discard unix - - n - - discard', ''].join('\n'),
  );
  mx.start();
});

after(() => mx.remove());

test('REJECT: the client hears 550 with the text at the end of DATA, Postfix\'s log line, nothing queued', async () => {
  assert.equal(await send(mx.port, 'please reject me'), '550 5.7.1 no thanks');
  assert.equal(await send(mx.port, 'custom code'), '550 5.7.0 policy says no');
  assert.equal(await send(mx.port, 'folded', '\tsecond part\n'), '550 5.7.1 folded header seen whole');
  const log = await mx.waitForLog(/reject: header Subject: folded\tsecond part from/);
  assert.match(
    log,
    /postfix\/cleanup\[\d+\]: [0-9A-Z]+: reject: header Subject: please reject me from localhost\[127\.0\.0\.1\]; from=<sender@example\.org> to=<alice@localhost> proto=ESMTP helo=<client\.example>: 5\.7\.1 no thanks\n/,
  );
  assert.doesNotMatch(log, /qmgr\[\d+\]: [0-9A-Z]+: from=<sender@example\.org>/);
  assert.deepEqual(mx.queued('incoming').filter((f) => !f.startsWith('.')), []);
  assert.equal(mx.maildir('alice').length, 0);
});

test('DISCARD: 250 queued as ID, logged, never delivered; HOLD: in hold/ until postsuper -H', async () => {
  const discarded = queuedId(await send(mx.port, 'discard me'));
  await mx.waitForLog(new RegExp(`${discarded}: discard: header Subject: discard me from localhost\\[127\\.0\\.0\\.1\\]; from=<sender@example\\.org> to=<alice@localhost> proto=ESMTP helo=<client\\.example>\\n`));
  const held = queuedId(await send(mx.port, 'hold me'));
  await mx.waitForLog(new RegExp(`${held}: hold: header Subject: hold me from .*: held for review\\n`));
  assert.deepEqual(mx.queued('hold'), [held]);
  assert.equal(mx.run('postsuper', ['-H', held]).status, 0);
  await mx.waitForLog(new RegExp(`${held}: to=<alice@localhost>, relay=local, .*status=sent`));
  const bodies = mx.maildir('alice').map((m) => /body of (.*)/.exec(m)?.[1]);
  assert.deepEqual(bodies, ['hold me']);
  assert.doesNotMatch(mx.logText(), new RegExp(`${discarded}: to=`));
});

test('REDIRECT delivers to the new address (orig_to= the recipient); FILTER sends the message through the named transport', async () => {
  const redirected = queuedId(await send(mx.port, 'redirect me', '', 'sender@example.org', ['dave@localhost']));
  await mx.waitForLog(new RegExp(`${redirected}: to=<bob@localhost>, orig_to=<dave@localhost>, relay=local, .*status=sent`));
  assert.match(mx.logText(), new RegExp(`${redirected}: redirect: header Subject: redirect me from .*: bob@localhost\\n`));
  assert.ok(mx.maildir('bob').some((m) => m.includes('body of redirect me')));
  assert.equal(mx.maildir('dave').length, 0);
  const filtered = queuedId(await send(mx.port, 'filter me', '', 'sender@example.org', ['erin@localhost']));
  await mx.waitForLog(new RegExp(`${filtered}: to=<erin@localhost>, relay=none, .*status=sent \\(discarded: filtered\\)`));
  assert.match(mx.logText(), new RegExp(`${filtered}: filter: header Subject: filter me from .*: discard:filtered\\n`));
  assert.equal(mx.maildir('erin').length, 0);
});

test('PREPEND, REPLACE, IGNORE, WARN, INFO, BCC and DUNNO change the header or log it and inspection goes on', async () => {
  const extra = 'X-Prepend: p\nX-Replace-Me: old\nX-Drop: gone\nX-Warn: w\nX-Info: i\nX-Bcc: b\nX-Dunno: d\n';
  const id = queuedId(await send(mx.port, 'many actions', extra, 'sender@example.org', ['frank@localhost']));
  await mx.waitForLog(new RegExp(`${id}: to=<carol@localhost>, relay=local, .*status=sent`));
  await mx.waitForLog(new RegExp(`${id}: to=<frank@localhost>, relay=local, .*status=sent`));
  const log = mx.logText();
  assert.match(log, new RegExp(`${id}: warning: header X-Warn: w from localhost\\[127\\.0\\.0\\.1\\]; from=<sender@example\\.org> to=<frank@localhost> proto=ESMTP helo=<client\\.example>: watch this\\n`));
  assert.match(log, new RegExp(`${id}: info: header X-Info: i from .*: noted\\n`));
  const [message] = mx.maildir('frank');
  assert.ok(message);
  assert.match(message, /\nSubject: many actions\nX-Prepended: yes\nX-Prepend: p\nX-Replaced: done\nX-Warn: w\nX-Info: i\nX-Bcc: b\nX-Dunno: d\n\n/);
  assert.doesNotMatch(message, /X-Drop|X-Replace-Me/);
  assert.ok(mx.maildir('carol').some((m) => m.includes('body of many actions')));
});

test('MIME: part headers go to mime_header_checks, attached messages to nested_header_checks, boundaries and lines to body_checks', async () => {
  const multipart = (part: string, boundary = 'b1'): string =>
    `MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="${boundary}"\n\npreamble\n--${boundary}\nContent-Type: text/plain\n\nhello\n--${boundary}\n${part}\n--${boundary}--\nepilogue\n`;
  const attachment = 'Content-Type: application/octet-stream\nContent-Disposition: attachment;\n filename="run.exe"\n\nTVqQAAMAAAAEAAAA';
  const nested = 'Content-Type: message/rfc822\n\nFrom: x@example.org\nSubject: nested bad\n\ninner body';
  const body = (text: string): Promise<string> => transact(mx.port, 'sender@example.org', ['grace@localhost'], text);
  assert.equal(await body(`Subject: mime\n${multipart(attachment)}`), '550 5.7.1 attachment type not allowed');
  assert.equal(await body(`Subject: nested\n${multipart(nested)}`), '550 5.7.1 attached message refused');
  assert.equal(await body(`Subject: inner line\n${multipart('Content-Type: text/plain\n\na forbidden phrase here')}`), '550 5.7.1 body says no');
  assert.equal(await body(`Subject: boundary\n${multipart('Content-Type: text/plain\n\nfine', 'spam-boundary')}`), '550 5.7.1 boundary refused');
  // The nested rule is not a header_checks rule: the same Subject as a primary header passes; so does a part header that only warns.
  const ok = queuedId(await body(`Subject: nested bad\n${multipart('Content-Type: text/plain\nX-Part-Warn: yes\n\nreplace this line\nkept line')}`));
  await mx.waitForLog(new RegExp(`${ok}: to=<grace@localhost>, relay=local, .*status=sent`));
  assert.match(mx.logText(), new RegExp(`${ok}: warning: header X-Part-Warn: yes from .*: part header\\n`));
  const [message] = mx.maildir('grace');
  assert.match(message ?? '', /\nX-Part-Warn: yes\n\nreplaced line\nkept line\n--b1--\nepilogue\n$/);
  assert.match(mx.logText(), /reject: header Content-Disposition: attachment; filename="run\.exe" from localhost/);
  assert.match(mx.logText(), /reject: body a forbidden phrase here from localhost\[127\.0\.0\.1\]; .*: 5\.7\.1 body says no\n/);
});

test('a pathological pattern is stopped, logged with its table and treated as no match; the worker stays responsive', async () => {
  const started = Date.now();
  const id = queuedId(await send(mx.port, 'slow', `X-Slow: ${'a'.repeat(40)}b\n`, 'sender@example.org', ['heidi@localhost']));
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  const log = await mx.waitForLog(new RegExp(`${id}: to=<heidi@localhost>, relay=local, .*status=sent`));
  assert.match(log, /postfix\/cleanup\[\d+\]: warning: regexp:.*header_checks: pattern \/\^X-Slow: \(a\+\)\+\$\/ ran past 100 ms on a 49-byte input; treated as no match\n/);
});

test('a rejected local submission bounces to its sender; receive_override_options no_header_body_checks and no_address_mappings skip the checks and the mappings', async () => {
  const run = mx.run('sendmail', ['-f', 'ivan@localhost', 'judy@localhost'], 'Subject: reject me locally\n\nlocal body\n');
  assert.equal(run.status, 0, run.stderr);
  await mx.waitForLog(/to=<judy@localhost>, relay=none, .*dsn=5\.7\.1, status=bounced \(no thanks\)/);
  await mx.waitForLog(/sender non-delivery notification: /);
  await mx.waitForLog(/to=<ivan@localhost>, relay=local, .*status=sent/);
  assert.equal(mx.maildir('judy').length, 0);
  const id = queuedId(await send(unchecked, 'please reject me', '', 'sender@example.org', ['kate@localhost']));
  await mx.waitForLog(new RegExp(`${id}: to=<kate@localhost>, relay=local, .*status=sent`));
  // no_address_mappings: virtual_alias_maps is not applied to mail that service receives.
  const mapped = queuedId(await send(mx.port, 'mapped', '', 'sender@example.org', ['alias@localhost']));
  await mx.waitForLog(new RegExp(`${mapped}: to=<bob@localhost>, orig_to=<alias@localhost>, relay=local, .*status=sent`));
  const unmapped = queuedId(await send(unchecked, 'unmapped', '', 'sender@example.org', ['alias@localhost']));
  await mx.waitForLog(new RegExp(`${unmapped}: to=<alias@localhost>, relay=local, .*status=sent`));
});

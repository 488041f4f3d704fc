/*
 * Hostile and unusual SMTP input against the real master and smtpd with
 * Petrel's defaults: early talkers and pipelining where the client must
 * wait (smtpd_forbid_unauth_pipelining), every bare-LF/bare-CR smuggling
 * variant of the end of DATA, bare LF refused where configured, BDAT
 * (CHUNKING), parameter and syntax errors, the error and junk limits,
 * non-SMTP clients, VRFY and EHLO keyword controls, postmaster always
 * accepted, and PROXY protocol headers naming the real client.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';

let instance: TestInstance;
let strictPort: number;
let proxyPort: number;

/** A raw connection: what the server says, and whether it closed. */
class Raw {
  text = '';
  closed = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => (this.text += chunk.toString('latin1')));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<Raw> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    return new Raw(socket);
  }

  /** Waits until the text matches or the connection closes (then checks the match). */
  async until(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.text) && !this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.match(this.text, pattern);
    return this.text;
  }

  async closedByServer(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(this.closed, true, `still open after: ${this.text}`);
  }
}

/** Waits until the message id, sent to abuse (an alias of root), lands in root's Maildir. */
async function landed(id: string): Promise<void> {
  const log = await instance.waitForLog(new RegExp(`${id}: to=<abuse@mx\\.test\\.example>.*status=sent \\(forwarded as \\w+\\)`));
  const forwarded = new RegExp(`${id}: to=.*forwarded as (\\w+)`).exec(log)?.[1] as string;
  await instance.waitForLog(new RegExp(`${forwarded}: to=<root@mx\\.test\\.example>.*status=sent`));
}

before(async () => {
  // 127.0.0.1 is not in mynetworks: smtpd_forbid_bare_newline_exclusions ($mynetworks) would exempt it.
  instance = await TestInstance.create('', 'abuse: root\n', {
    local_recipient_maps: '$alias_maps',
    mynetworks: '192.0.2.0/24',
    smtpd_authorized_xclient_hosts: '127.0.0.0/8',
    smtpd_authorized_xforward_hosts: '127.0.0.0/8',
  });
  strictPort = await freePort();
  proxyPort = await freePort();
  appendFileSync(
    `${instance.etc}/master.cf`,
    [
      `127.0.0.1:${strictPort} inet n - n - - smtpd -o syslog_name=postfix/strict -o smtpd_forbid_bare_newline=reject -o smtpd_forbid_bare_newline_exclusions=`,
      '  -o smtpd_authorized_xclient_hosts= -o smtpd_authorized_xforward_hosts=',
      '  -o smtpd_hard_error_limit=3 -o smtpd_junk_command_limit=3 -o smtpd_error_sleep_time=0 -o disable_vrfy_command=yes',
      `  -o smtpd_discard_ehlo_keywords=chunking -o smtpd_discard_ehlo_keyword_address_maps=cidr:${instance.etc}/ehlo_discard`,
      `127.0.0.1:${proxyPort} inet n - n - - smtpd -o syslog_name=postfix/proxied -o smtpd_upstream_proxy_protocol=haproxy -o smtpd_upstream_proxy_timeout=2s`,
      '',
    ].join('\n'),
  );
  writeFileSync(`${instance.etc}/ehlo_discard`, '127.0.0.0/8 dsn, silent-discard\n192.0.2.0/24 pipelining\n');
  instance.start();
});

after(() => instance.remove());

test('an early talker (input before the greeting) gets 554 5.5.0 and is disconnected', async () => {
  // With smtpd frozen, the connection and its early command wait in the backlog together: no race with the check.
  const smtpd = instance.daemonPids('smtpd');
  assert.ok(smtpd.length > 0);
  for (const pid of smtpd) process.kill(pid, 'SIGSTOP');
  let raw: Raw;
  try {
    raw = await Raw.open(instance.port);
    // Handed to the kernel before smtpd runs again: the early command waits in the backlog with the connection.
    await new Promise((resolve) => raw.socket.write('EHLO early.example\r\n', resolve));
  } finally {
    for (const pid of smtpd) process.kill(pid, 'SIGCONT');
  }
  await raw.until(/554 5\.5\.0 Error: SMTP protocol synchronization\r\n/);
  await raw.closedByServer();
  assert.doesNotMatch(raw.text, /^220 /);
  await instance.waitForLog(/improper command pipelining after CONNECT from localhost\[127\.0\.0\.1\]: EHLO early\.example/);
});

test('commands pipelined after EHLO, or by a HELO client, are refused; RFC 2920 pipelining is served', async () => {
  const afterEhlo = await Raw.open(instance.port);
  await afterEhlo.until(/^220 /);
  afterEhlo.socket.write('EHLO x.example\r\nMAIL FROM:<a@example.org>\r\n');
  await afterEhlo.until(/554 5\.5\.0 Error: SMTP protocol synchronization/);
  await afterEhlo.closedByServer();
  const heloClient = await Raw.open(instance.port);
  await heloClient.until(/^220 /);
  heloClient.socket.write('HELO x.example\r\n');
  await heloClient.until(/250 mx\.test\.example\r\n/);
  heloClient.socket.write('MAIL FROM:<a@example.org>\r\nRCPT TO:<abuse@mx.test.example>\r\n');
  await heloClient.until(/554 5\.5\.0 Error: SMTP protocol synchronization/);
  const good = await Raw.open(instance.port);
  await good.until(/^220 /);
  good.socket.write('EHLO x.example\r\n');
  await good.until(/250 CHUNKING\r\n/);
  good.socket.write('MAIL FROM:<a@example.org>\r\nRCPT TO:<abuse@mx.test.example>\r\nDATA\r\n');
  await good.until(/250 2\.1\.0 Ok\r\n250 2\.1\.5 Ok\r\n354 End data with <CR><LF>\.<CR><LF>\r\n/);
  good.socket.write('Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n');
  await good.until(/250 2\.0\.0 Ok: queued as \w+\r\n221 2\.0\.0 Bye\r\n/);
});

test('no bare LF or bare CR sequence ends DATA: the smuggled command stays message text, one message is queued', async () => {
  const { client } = await SmtpClient.open(instance.port);
  await client.command('EHLO x.example');
  assert.match(await client.command('MAIL FROM:<sender@example.org>'), /^250/);
  assert.match(await client.command('RCPT TO:<abuse@mx.test.example>'), /^250/);
  assert.match(await client.command('DATA'), /^354/);
  const smuggled = 'MAIL FROM:<evil@example.org>\r\nRCPT TO:<abuse@mx.test.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n';
  const variants = ['\n.\n', '\n.\r\n', '\r.\r\n', '\r\n.\n', '\r\n.\r', '\r.\r'];
  client.write(`Subject: carrier\r\n\r\nstart${variants.map((v, i) => `${v}${smuggled.replace('evil@', `evil${i}@`)}`).join('')}`);
  const queued = await client.command('\r\n.');
  assert.match(queued, /^250 2\.0\.0 Ok: queued as/);
  await client.quit();
  await landed(queued.split(' ').pop() as string);
  const log = instance.logText();
  assert.doesNotMatch(log, /from=<evil\d@example\.org>/);
  const delivered = instance.maildir('root').find((m) => m.includes('Subject: carrier'));
  assert.ok(delivered !== undefined);
  for (let i = 0; i < variants.length; i++) assert.ok(delivered.includes(`evil${i}@example.org`), `variant ${i} kept as text`);
  assert.doesNotMatch(delivered, /\r/);
});

test('smtpd_forbid_bare_newline = reject: a bare LF is refused with 550 and the client disconnected', async () => {
  const raw = await Raw.open(strictPort);
  await raw.until(/^220 /);
  raw.socket.write('EHLO x.example\n');
  await raw.until(/550 5\.5\.2 mx\.test\.example Error: bare <LF> received\r\n/);
  await raw.closedByServer();
  const lenient = await Raw.open(instance.port);
  await lenient.until(/^220 /);
  lenient.socket.write('EHLO x.example\n');
  await lenient.until(/250 CHUNKING\r\n/);
});

test('BDAT: chunks of exact size, CRLF split across chunks, LAST queues the message; DATA after BDAT is refused', async () => {
  const raw = await Raw.open(instance.port);
  await raw.until(/^220 /);
  raw.socket.write('EHLO x.example\r\n');
  await raw.until(/250 CHUNKING\r\n/);
  raw.socket.write('MAIL FROM:<bdat@example.org> BODY=8BITMIME\r\nRCPT TO:<abuse@mx.test.example>\r\n');
  await raw.until(/250 2\.1\.5 Ok\r\n/);
  const first = 'Subject: chunked\r\n\r\nline one\r';
  raw.socket.write(`BDAT ${Buffer.byteLength(first)}\r\n${first}`);
  await raw.until(/250 2\.0\.0 Ok: \d+ bytes\r\n/);
  raw.socket.write('DATA\r\n');
  await raw.until(/503 5\.5\.1 Error: DATA after BDAT\r\n/);
  const last = '\n.line two\r\n';
  raw.socket.write(`BDAT ${Buffer.byteLength(last)} LAST\r\n${last}`);
  const id = /queued as (\w+)\r\n/.exec(await raw.until(/250 2\.0\.0 Ok: queued as \w+\r\n/))?.[1] as string;
  raw.socket.write('QUIT\r\n');
  await landed(id);
  const message = instance.maildir('root').find((m) => m.includes('Subject: chunked'));
  assert.match(message ?? '', /\n\nline one\n\.line two\n$/);
});

test('syntax, parameters and order: Postfix replies', async () => {
  const { client } = await SmtpClient.open(instance.port);
  // As in Postfix, MAIL before HELO is accepted unless smtpd_helo_required = yes; EHLO then ends that transaction.
  assert.match(await client.command('MAIL FROM:<a@example.org>'), /^250 2\.1\.0 Ok/);
  assert.match(await client.command('EHLO'), /^501 Syntax: EHLO hostname/);
  await client.command('EHLO x.example');
  assert.match(await client.command('RCPT TO:<abuse@mx.test.example>'), /^503 5\.5\.1 Error: need MAIL command/);
  assert.match(await client.command('MAIL FROM:<a@example.org> FOO=bar'), /^555 5\.5\.4 Unsupported option: FOO/);
  assert.match(await client.command('MAIL FROM:<a@example.org> SIZE=999999999999'), /^552 5\.3\.4 Message size exceeds fixed limit/);
  assert.match(await client.command('MAIL FROM:<a@example.org'), /^501 5\.1\.7 Bad sender address syntax/);
  assert.match(await client.command('MAIL FROM:<a@example.org> RET=HDRS ENVID=x+2By'), /^250 2\.1\.0 Ok/);
  assert.match(await client.command('RCPT TO:<abuse@mx.test.example> NOTIFY=SOMETIMES'), /^501 5\.5\.4 Error: Bad NOTIFY parameter syntax/);
  assert.match(await client.command('RCPT TO:<abuse@mx.test.example> XYZ=1'), /^555 5\.5\.4 Unsupported option: XYZ/);
  assert.match(await client.command('RCPT TO:<nobody@mx.test.example>'), /^550 5\.1\.1 <nobody@mx\.test\.example>: Recipient address rejected: User unknown in local recipient table/);
  assert.match(await client.command('RCPT TO:<postmaster>'), /^250 2\.1\.5 Ok/);
  assert.match(await client.command('RCPT TO:<Postmaster@mx.test.example>'), /^250 2\.1\.5 Ok/);
  assert.match(await client.command(`NOOP ${'x'.repeat(3000)}`), /^500 5\.5\.2 Error: line too long/);
  assert.match(await client.command('FROB'), /^502 5\.5\.2 Error: command not recognized/);
  assert.match(await client.command('VRFY abuse'), /^252 2\.0\.0 abuse/);
  assert.match(await client.command('STARTTLS'), /^502 5\.5\.1 Error: command not implemented/);
  assert.match(await client.command('AUTH PLAIN'), /^503 5\.5\.1 Error: authentication not enabled/);
  await client.quit();
});

test('the error limit and the junk-command limit end the session with 421; VRFY and EHLO keywords follow the settings', async () => {
  const { client } = await SmtpClient.open(strictPort);
  const ehlo = await client.command('EHLO x.example');
  assert.doesNotMatch(ehlo, /CHUNKING|DSN/);
  assert.match(await client.command('VRFY abuse'), /^502 5\.5\.1 VRFY command is disabled/);
  assert.match(await client.command('FROB'), /^502 /);
  assert.match(await client.command('MAIL FROM:<a@example.org'), /^501 /);
  assert.match(await client.reply().catch(() => 'closed'), /^421 4\.7\.0 mx\.test\.example Error: too many errors|closed/);
  await instance.waitForLog(/postfix\/strict\/smtpd\[\d+\]: too many errors after MAIL from localhost\[127\.0\.0\.1\]/);
  const junk = await SmtpClient.open(strictPort);
  await junk.client.command('EHLO x.example');
  for (let i = 0; i < 3; i++) assert.match(await junk.client.command('NOOP'), /^250 /);
  assert.match(await junk.client.command('NOOP'), /^421 4\.7\.0 /);
  assert.equal(junk.client.isClosed || (await junk.client.reply(2000).catch(() => 'closed')) === 'closed', true);
});

test('a client that speaks HTTP is sent away at once', async () => {
  const raw = await Raw.open(instance.port);
  await raw.until(/^220 /);
  raw.socket.write('GET / HTTP/1.1\r\nHost: mx\r\n\r\n');
  await raw.until(/521 5\.7\.0 Error: I can break rules, too\. Goodbye\.\r\n/);
  await raw.closedByServer();
  await instance.waitForLog(/warning: non-SMTP command from localhost\[127\.0\.0\.1\]: GET \/ HTTP\/1\.1/);
});

test('PROXY protocol: v1 and v2 headers name the client; a bad or missing header gets no greeting', async () => {
  const v1 = await Raw.open(proxyPort);
  v1.socket.write('PROXY TCP4 198.51.100.10 127.0.0.1 40000 25\r\n');
  await v1.until(/^220 mx\.test\.example ESMTP/);
  v1.socket.write('EHLO x.example\r\n');
  await v1.until(/250 CHUNKING\r\n/);
  v1.socket.write('MAIL FROM:<a@example.org>\r\n');
  await v1.until(/250 2\.1\.0 Ok\r\n/);
  v1.socket.write('RCPT TO:<someone@example.net>\r\n');
  await v1.until(/454 4\.7\.1 <someone@example\.net>: Relay access denied\r\n/);
  await instance.waitForLog(/postfix\/proxied\/smtpd\[\d+\]: connect from unknown\[198\.51\.100\.10\]/);
  await instance.waitForLog(/NOQUEUE: reject: RCPT from unknown\[198\.51\.100\.10\]: 454 4\.7\.1/);
  const header = Buffer.concat([
    Buffer.from('0d0a0d0a000d0a515549540a', 'hex'),
    Buffer.from([0x21, 0x11, 0x00, 12, 198, 51, 100, 7, 127, 0, 0, 1, 0x9c, 0x40, 0x00, 0x19]),
  ]);
  const v2 = await Raw.open(proxyPort);
  v2.socket.write(header);
  await v2.until(/^220 /);
  await instance.waitForLog(/connect from unknown\[198\.51\.100\.7\]/);
  const bad = await Raw.open(proxyPort);
  bad.socket.write('EHLO x.example\r\n');
  await bad.closedByServer();
  assert.equal(bad.text, '');
  await instance.waitForLog(/postfix\/proxied\/smtpd\[\d+\]: warning: haproxy read: /);
});

test("XCLIENT from an authorized proxy makes the session the named client's; XFORWARD names the original client of the next message; others get 550", async () => {
  const { client } = await SmtpClient.open(instance.port);
  const ehlo = await client.command('EHLO proxy.example');
  assert.match(ehlo, /250-XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT/);
  assert.match(ehlo, /250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE/);
  assert.match(await client.command('XCLIENT ADDR=192.0.2.5 NAME=trusted.example PROTO=ESMTP HELO=inner.example'), /^220 mx\.test\.example ESMTP/);
  assert.match(await client.command('MAIL FROM:<a@example.org>'), /^250 /);
  assert.match(await client.command('RCPT TO:<someone@example.net>'), /^250 2\.1\.5 Ok/);
  await client.command('RSET');
  assert.match(await client.command('XFORWARD NAME=origin.example ADDR=198.51.100.9 HELO=origin-helo.example'), /^250 2\.0\.0 Ok/);
  const queued = await client.send('a@example.org', ['abuse@mx.test.example'], 'Subject: forwarded\n\nhi\n');
  assert.match(queued, /^250 2\.0\.0 Ok: queued as/);
  await client.quit();
  await instance.waitForLog(/client=trusted\.example\[192\.0\.2\.5\], orig_client=origin\.example\[198\.51\.100\.9\]/);
  await landed(queued.split(' ').pop() as string);
  const message = instance.maildir('root').find((m) => m.includes('Subject: forwarded'));
  assert.match(message ?? '', /Received: from origin-helo\.example \(origin\.example \[198\.51\.100\.9\]\)/);
  const other = await SmtpClient.open(strictPort);
  assert.doesNotMatch(await other.client.command('EHLO x.example'), /XCLIENT|XFORWARD/);
  assert.match(await other.client.command('XCLIENT ADDR=192.0.2.5'), /^550 5\.7\.0 Error: insufficient authorization/);
  assert.match(await other.client.command('XFORWARD ADDR=192.0.2.5'), /^550 5\.7\.0 Error: insufficient authorization/);
  await other.client.quit();
});

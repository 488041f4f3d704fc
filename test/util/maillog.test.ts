import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMaillog, syslogLine } from '../../src/util/maillog.js';
import { asctime, syslogTime } from '../../src/util/time-format.js';

test('syslog lines have the shape pflogsumm and fail2ban read', () => {
  const when = new Date(2026, 10, 2, 9, 5, 7);
  assert.equal(syslogTime(when), 'Nov  2 09:05:07');
  assert.equal(asctime(when), 'Mon Nov  2 09:05:07 2026');
  assert.equal(
    syslogLine(when, 'mx', 'postfix/smtpd', 42, 'info', 'connect from unknown[192.0.2.1]'),
    'Nov  2 09:05:07 mx postfix/smtpd[42]: connect from unknown[192.0.2.1]\n',
  );
  assert.equal(
    syslogLine(when, 'mx', 'postfix/qmgr', 7, 'warning', 'bad file'),
    'Nov  2 09:05:07 mx postfix/qmgr[7]: warning: bad file\n',
  );
});

test('text and JSON logs land in the file, one line per event', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-maillog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const text = openMaillog({ file: join(dir, 'log', 'mail.log'), format: 'text', hostname: 'mx.example.com' });
  text.sink('info', 'postfix/cleanup', 'ABC: message-id=<x@y>');
  text.sink('error', 'postfix/cleanup', 'oops');
  const json = openMaillog({ file: join(dir, 'mail.json'), format: 'json', hostname: 'mx.example.com' });
  json.sink('warning', 'postfix/smtpd', 'hello');
  await text.flush();
  await json.flush();
  const lines = readFileSync(join(dir, 'log', 'mail.log'), 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0] as string, /^\w{3} [ \d]\d \d\d:\d\d:\d\d mx postfix\/cleanup\[\d+\]: ABC: message-id=<x@y>$/);
  assert.match(lines[1] as string, /postfix\/cleanup\[\d+\]: error: oops$/);
  const record = JSON.parse(readFileSync(join(dir, 'mail.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(record.message, 'hello');
  assert.equal(record.program, 'postfix/smtpd');
  assert.equal(record.severity, 'warning');
  assert.equal(record.host, 'mx');
});

test('several processes appending to one log never split a line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-maillog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'mail.log');
  const moduleUrl = new URL('../../src/util/maillog.js', import.meta.url).href;
  const script = `const { openMaillog } = await import(${JSON.stringify(moduleUrl)});
const log = openMaillog({ file: ${JSON.stringify(file)}, format: 'text', hostname: 'mx' });
for (let i = 0; i < 2000; i++) log.sink('info', 'postfix/test', 'line ' + i + ' ' + 'x'.repeat(100));
await log.flush();`;
  await Promise.all(
    Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
      return new Promise((resolve) => child.once('exit', resolve));
    }),
  );
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 8000);
  for (const line of lines) assert.match(line, /^\w{3} [ \d]\d \d\d:\d\d:\d\d mx postfix\/test\[\d+\]: line \d+ x{100}$/);
});

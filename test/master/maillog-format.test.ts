import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TestInstance } from '../support/instance.js';

const instances: TestInstance[] = [];
after(() => {
  for (const instance of instances) instance.remove();
});

/** The mail log's lines, each parsed as JSON (a line that is not JSON fails the test). */
function jsonLines(mx: TestInstance): Record<string, unknown>[] {
  return mx.logText().trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('maillog_format = json: master and workers write one JSON object a line, the Postfix text in its message field', async () => {
  const mx = await TestInstance.create('maillog_format = json');
  instances.push(mx);
  mx.start();
  const id = await mx.submit('alice@example.org', ['root@localhost'], 'Subject: json\n\nhello\n');
  await mx.waitForLog(/status=sent/);
  const lines = jsonLines(mx);
  const find = (program: string, pattern: RegExp): Record<string, unknown> | undefined =>
    lines.find((line) => line.program === `postfix/${program}` && pattern.test(String(line.message)));
  const started = find('master', /^daemon started -- version /);
  assert.ok(started, 'the master logs its start');
  assert.equal(started.severity, 'info');
  assert.equal(started.host, 'mx');
  assert.ok(find('smtpd', /^connect from localhost\[127\.0\.0\.1\]$/), 'smtpd');
  assert.ok(find('smtpd', new RegExp(`^${id}: client=localhost\\[127\\.0\\.0\\.1\\]$`)), 'smtpd queued');
  assert.ok(find('qmgr', new RegExp(`^${id}: from=<alice@example\\.org>, size=\\d+, nrcpt=1 \\(queue active\\)$`)), 'qmgr');
  const sent = find('local', new RegExp(`^${id}: to=<root@localhost>, relay=local, .*status=sent`));
  assert.ok(sent, 'local');
  assert.equal(typeof sent.pid, 'number');
  assert.ok(!Number.isNaN(Date.parse(String(sent.time))), 'an ISO time');
});

test('a maillog_format other than text or json is a configuration error', async () => {
  const mx = await TestInstance.create();
  instances.push(mx);
  appendFileSync(join(mx.etc, 'main.cf'), 'maillog_format = xml\n');
  for (const command of ['check', 'start']) {
    const run = mx.run('petrel', [command]);
    assert.equal(run.status, 1, command);
    assert.match(run.stderr, /petrel: fatal: \S+\/main\.cf, line \d+: invalid maillog_format parameter value xml: must be one of text, json/, command);
  }
  const postconf = mx.run('postconf', ['-d', 'maillog_format']);
  assert.equal(postconf.stdout, 'maillog_format = text\n');
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';

let mx: TestInstance;

before(async () => {
  mx = await TestInstance.create();
  mx.start();
});

after(() => mx.remove());

test('sendmail delivers like smtpd: headers added for a local submission, Bcc removed, the dot ends input', async () => {
  const run = mx.run('sendmail', ['-f', 'me@mx.test.example', '-F', 'Me Myself', 'someone@localhost'], 'Subject: via sendmail\nBcc: hidden@localhost\n\nline one\n.\nnot sent\n');
  assert.equal(run.status, 0, run.stderr);
  const log = await mx.waitForLog(/to=<someone@localhost>, relay=local, .*status=sent \(delivered to maildir\)/);
  assert.match(log, /postfix\/pickup\[\d+\]: [0-9A-Z]+: uid=\d+ from=<me@mx\.test\.example>/);
  const [message] = mx.maildir('someone');
  assert.ok(message);
  assert.match(message, /\nFrom: Me Myself <me@mx\.test\.example>\n/);
  assert.match(message, /\nMessage-Id: <[^>]+@mx\.test\.example>\n/);
  assert.match(message, /\nDate: \w{3}, /);
  assert.match(message, /\nTo: undisclosed-recipients:;\n/);
  assert.doesNotMatch(message, /Bcc:|hidden/);
  assert.match(message, /\n\nline one\n$/);
});

test('sendmail -t takes recipients from the header; -i reads to the end', async () => {
  const run = mx.run('sendmail', ['-t', '-i'], 'To: Alpha <alpha@localhost>, beta@localhost\nCc: "Gamma, G." <gamma@localhost>\nSubject: -t\n\nbody\n.\nstill body\n');
  assert.equal(run.status, 0, run.stderr);
  for (const user of ['alpha', 'beta', 'gamma']) await mx.waitForLog(new RegExp(`to=<${user}@localhost>, relay=local, .*status=sent`));
  assert.match(mx.maildir('gamma')[0] ?? '', /\n\nbody\n\.\nstill body\n$/);
});

test('sendmail -bs speaks SMTP on standard input and output', async () => {
  const session = ['EHLO me.example', 'MAIL FROM:<me@example.org>', 'RCPT TO:<delta@localhost>', 'DATA', 'Subject: -bs', '', 'over stdio', '.', 'QUIT', ''].join('\r\n');
  const run = mx.run('sendmail', ['-bs'], session);
  assert.equal(run.status, 0, run.stderr);
  const replies = run.stdout.split('\r\n').filter((line) => /^\d{3} /.test(line));
  assert.equal(replies[0], '220 mx.test.example ESMTP Petrel');
  assert.deepEqual(replies.map((r) => r.slice(0, 3)), ['220', '250', '250', '250', '354', '250', '221']);
  assert.match(replies[5] ?? '', /^250 2\.\d\.\d Ok: queued as [0-9A-Z]+$/);
  await mx.waitForLog(/to=<delta@localhost>, relay=local, .*status=sent/);
  assert.match(mx.maildir('delta')[0] ?? '', /\n\nover stdio\n$/);
});

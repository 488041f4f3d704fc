import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replyClass, SmtpChat } from '../../src/smtpd/smtpd-chat.js';

test('replies are sorted into Postfix notify classes by their codes', () => {
  assert.equal(replyClass(250, '2.0.0 Ok'), undefined);
  assert.equal(replyClass(452, '4.3.1 Insufficient system storage'), 'resource');
  assert.equal(replyClass(451, '4.3.0 Error: queue file write error'), 'resource');
  assert.equal(replyClass(451, '4.3.0 Error: internal error'), 'software');
  assert.equal(replyClass(554, '5.7.1 <x@remote.example>: Relay access denied'), 'policy');
  assert.equal(replyClass(550, '5.1.1 <nobody@localhost>: Recipient address rejected: User unknown in local recipient table'), 'bounce');
  assert.equal(replyClass(502, 'Error: command not recognized'), 'protocol');
  assert.equal(replyClass(503, '5.5.1 Error: need MAIL command'), 'protocol');
  assert.equal(replyClass(421, 'Timeout - closing connection'), undefined);
});

test('the transcript has In: and Out: lines, keeps no AUTH secret, and keeps only the latest lines of a long session', () => {
  const chat = new SmtpChat();
  chat.reply(220, ['mx.example ESMTP']);
  chat.command('EHLO client.example');
  chat.reply(250, ['mx.example', 'PIPELINING', 'SIZE 10240000']);
  chat.command('AUTH PLAIN c2VjcmV0');
  chat.command('BOGUS');
  chat.reply(502, ['Error: command not recognized']);
  const text = chat.transcript();
  assert.match(text, /^Transcript of session follows\.\n\n Out: 220 mx\.example ESMTP\n In:  EHLO client\.example\n Out: 250-mx\.example\n Out: 250-PIPELINING\n Out: 250 SIZE 10240000\n In:  AUTH PLAIN \.\.\.\n In:  BOGUS\n Out: 502 Error: command not recognized\n$/);
  assert.deepEqual([...chat.errors], ['protocol']);
  for (let i = 0; i < 1000; i++) chat.command(`NOOP ${i}`);
  const long = chat.transcript().split('\n').filter((line) => line.startsWith(' In:'));
  assert.ok(long.length <= 400 && long.at(-1) === ' In:  NOOP 999', `${long.length} lines kept`);
});

test('smtpd_history_flush_threshold: a history longer than it starts again at a checkpoint (EHLO, RSET, end of a message)', () => {
  const chat = new SmtpChat(3);
  for (let i = 0; i < 3; i++) chat.command(`NOOP ${i}`);
  chat.checkpoint();
  assert.match(chat.transcript(), /NOOP 0/);
  chat.command('NOOP 3');
  chat.checkpoint();
  assert.doesNotMatch(chat.transcript(), /NOOP/);
  chat.command('RSET');
  assert.match(chat.transcript(), /In: {2}RSET\n$/);
});

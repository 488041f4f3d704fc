import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reportParts, wantsNotice } from '../../src/global/dsn-report.js';

test('NOTIFY decides which notices a recipient gets', () => {
  assert.equal(wantsNotice('', 'failed'), true);
  assert.equal(wantsNotice('', 'delayed'), true);
  assert.equal(wantsNotice('', 'delivered'), false);
  assert.equal(wantsNotice('NEVER', 'failed'), false);
  assert.equal(wantsNotice('SUCCESS', 'failed'), false);
  assert.equal(wantsNotice('SUCCESS,DELAY', 'delivered'), true);
  assert.equal(wantsNotice('failure', 'failed'), true);
});

test('the original goes back whole unless RET=HDRS or it is over bounce_size_limit; a local reason is an X-Postfix diagnostic', () => {
  const message = { queueId: 'ABC', sender: 's@example.org', arrival: 0, contentSize: 1000, headerSize: 100 };
  const recipients = [{ address: 'r@example.net', orcpt: '', dsn: '5.1.1', reason: 'unknown user: "r"' }];
  assert.equal(reportParts('failed', 'mx.example', message, recipients, 50000).includeBody, true);
  assert.equal(reportParts('failed', 'mx.example', message, recipients, 999).includeBody, false);
  assert.equal(reportParts('failed', 'mx.example', { ...message, ret: 'HDRS' }, recipients, 50000).includeBody, false);
  assert.equal(reportParts('delivered', 'mx.example', message, recipients, 50000).includeBody, false);
  const { head, tail } = reportParts('failed', 'mx.example', message, recipients, 50000);
  assert.match(head, /\nDiagnostic-Code: X-Postfix; unknown user: "r"\n/);
  assert.doesNotMatch(head, /Remote-MTA/);
  const boundary = /boundary="([^"]+)"/.exec(head)?.[1] as string;
  assert.equal(tail, `\n--${boundary}--\n`);
});

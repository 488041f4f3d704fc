import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeaderPass, type HeaderPolicy } from '../../src/cleanup/cleanup-headers.js';

const POLICY: HeaderPolicy = {
  addMissing: false,
  dropHeaders: new Set(['bcc', 'content-length', 'resent-bcc', 'return-path']),
  sender: 'me@example.org',
  myhostname: 'mx.example.org',
  queueId: '0ABCDEFGHIJKLMNO',
  undisclosedHeader: 'To: undisclosed-recipients:;',
  headerSizeLimit: 102400,
  extractRecipients: false,
  fullName: '',
};

async function pass(text: string, policy: Partial<HeaderPolicy> = {}, chunk = 5): Promise<{ out: string; pass: HeaderPass }> {
  const p = new HeaderPass({ ...POLICY, ...policy });
  let out = '';
  for (let i = 0; i < text.length; i += chunk) out += (await p.write(Buffer.from(text.slice(i, i + chunk), 'latin1'))).toString('latin1');
  out += (await p.finish()).toString('latin1');
  return { out, pass: p };
}

test('remote mail: the message_drop_headers (Return-Path, Bcc, Resent-Bcc, Content-Length) dropped, the rest untouched, Message-ID and hops found', async () => {
  const text = 'Received: from a\n\tby b\nReturn-Path: <x@y>\nBcc: secret@x\nResent-Bcc: other@x\nContent-Length: 12\nMessage-ID: <id@x>\nSubject: hi\n\nbody\nReturn-Path: stays in the body\n';
  const { out, pass: p } = await pass(text);
  assert.equal(out, 'Received: from a\n\tby b\nMessage-ID: <id@x>\nSubject: hi\n\nbody\nReturn-Path: stays in the body\n');
  const kept = await pass('Bcc: kept@x\nSubject: hi\n\nbody\n', { dropHeaders: new Set(['return-path']) });
  assert.equal(kept.out, 'Bcc: kept@x\nSubject: hi\n\nbody\n');
  assert.deepEqual(p.result, { messageId: '<id@x>', hops: 1, extracted: [] });
});

test('local submissions get Date, Message-Id, From and To; Bcc is removed; -t extracts addresses', async () => {
  const { out, pass: p } = await pass('Subject: s\nBcc: hidden@x, "A, B" <ab@x>\nCc: c@x\n\nbody\n', { addMissing: true, extractRecipients: true, fullName: 'Me Myself' });
  assert.match(out, /^Subject: s\nCc: c@x\nDate: \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(.+\)\nMessage-Id: <\d{14}\.0ABCDEFGHIJKLMNO\.[0-9a-f]{6}@mx\.example\.org>\nFrom: Me Myself <me@example\.org>\n\nbody\n$/);
  assert.deepEqual(p.result.extracted, ['hidden@x', 'ab@x', 'c@x']);
  const none = await pass('Subject: s\n\nb\n', { addMissing: true });
  assert.match(none.out, /\nTo: undisclosed-recipients:;\n\nb\n$/);
});

test('a body line without the empty separator starts the body; header_size_limit cuts each header', async () => {
  assert.equal((await pass('Subject: s\nnot a header line\nmore\n')).out, 'Subject: s\n\nnot a header line\nmore\n');
  assert.equal((await pass('no headers at all\n')).out, 'no headers at all\n');
  assert.equal((await pass('Subject: no newline at end')).out, 'Subject: no newline at end\n\n');
  const big = await pass(`A: ${'x'.repeat(50)}\nB: short\n  ${'y'.repeat(50)}\n  more\nC: z\n\nbody\n`, { headerSizeLimit: 20 });
  assert.equal(big.out, `A: ${'x'.repeat(17)}\nB: short\n  ${'y'.repeat(9)}\nC: z\n\nbody\n`);
});

test('the output does not depend on how the content is cut into chunks', async () => {
  const texts = [
    'Received: from a\n\tby b\nReturn-Path: <x@y>\nSubject: hi\n\nbody\nReturn-Path: stays\n',
    'Subject: s\nnot a header line\nmore\n',
    'Subject: no newline at end',
    `A: ${'x'.repeat(50)}\nB: short\n  ${'y'.repeat(50)}\n\n${'body line\n'.repeat(200)}`,
  ];
  for (const text of texts) {
    const whole = (await pass(text, { headerSizeLimit: 30 }, 1_000_000)).out;
    for (const chunk of [1, 2, 7, 64]) assert.equal((await pass(text, { headerSizeLimit: 30 }, chunk)).out, whole, `chunks of ${chunk}`);
  }
});

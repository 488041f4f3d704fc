import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DotDecoder, type BareNewlineMode } from '../../src/smtpd/smtpd-dot-decoder.js';

/** Feeds input in pieces of size step; the decoded text, the offset after the end, and whether a bare LF was seen. */
function decode(input: string, mode: BareNewlineMode, step = input.length): { text: string; rest: string; bareLf: boolean } {
  const out: Buffer[] = [];
  const decoder = new DotDecoder(mode, (chunk) => out.push(Buffer.from(chunk)));
  const data = Buffer.from(input, 'latin1');
  for (let at = 0; at < data.length; at += step) {
    const chunk = data.subarray(at, Math.min(at + step, data.length));
    const end = decoder.feed(chunk);
    if (end >= 0) return { text: Buffer.concat(out).toString('latin1'), rest: data.subarray(at + end).toString('latin1'), bareLf: decoder.bareLf };
  }
  return { text: Buffer.concat(out).toString('latin1'), rest: '<no end>', bareLf: decoder.bareLf };
}

const CASES: readonly (readonly [string, BareNewlineMode, string, string])[] = [
  ['Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n', 'normalize', 'Subject: x\n\nbody\n', 'QUIT\r\n'],
  ['.\r\n', 'normalize', '', ''],
  ['..leading dot\r\n.\r\n', 'normalize', '.leading dot\n', ''],
  ['a\n.\nb\r\n.\r\n', 'normalize', 'a\n\nb\n', ''],
  ['a\r\n.\nb\r\n.\r\n', 'normalize', 'a\n\nb\n', ''],
  ['a\n.\r\nb\r\n.\r\n', 'normalize', 'a\n\nb\n', ''],
  ['a\r.\r\nb\r\n.\r\n', 'normalize', 'a\n.\nb\n', ''],
  ['a\r\n.\rMAIL\r\n.\r\n', 'normalize', 'a\n\nMAIL\n', ''],
  ['a\n.\nSMUGGLED\r\n.\r\n', 'no', 'a\n', 'SMUGGLED\r\n.\r\n'],
  ['bare\rcr\r\n.\r\n', 'normalize', 'bare\ncr\n', ''],
];

test('the end of DATA is CRLF.CRLF only (normalize), dot-stuffing undone, every line ending one LF, whatever the chunking', () => {
  for (const [input, mode, text, rest] of CASES) {
    for (const step of [1, 2, 3, 7, input.length]) {
      const result = decode(input, mode, step);
      assert.equal(result.text, text, `${JSON.stringify(input)} ${mode} step ${step}`);
      assert.equal(result.rest, rest, `${JSON.stringify(input)} ${mode} step ${step}: rest`);
    }
  }
});

test('reject mode stops at the first bare LF; a long line is passed on in pieces, its CR kept with its LF', () => {
  const rejected = decode('ok\r\nbad\nmore\r\n.\r\n', 'reject');
  assert.equal(rejected.bareLf, true);
  assert.equal(rejected.text, 'ok\n');
  const long = `${'x'.repeat(20000)}\r\n.${'y'.repeat(9000)}\r\n.\r\n`;
  for (const step of [4096, 8193, 65536]) {
    const result = decode(long, 'normalize', step);
    assert.equal(result.text, `${'x'.repeat(20000)}\n${'y'.repeat(9000)}\n`, `step ${step}`);
    assert.equal(result.rest, '');
  }
});

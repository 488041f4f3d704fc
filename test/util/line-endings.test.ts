import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineEndingNormalizer } from '../../src/util/line-endings.js';

function run(chunks: string[]): string {
  const n = new LineEndingNormalizer();
  return chunks.map((c) => n.write(Buffer.from(c, 'latin1')).toString('latin1')).join('') + n.end().toString('latin1');
}

test('CRLF, bare LF and bare CR all become LF, also across chunk boundaries', () => {
  const cases: [string[], string][] = [
    [['a\r\nb\r\n'], 'a\nb\n'],
    [['a\nb\n'], 'a\nb\n'],
    [['a\rb\r'], 'a\nb\n'],
    [['a\r', '\nb'], 'a\nb'],
    [['a\r', 'b'], 'a\nb'],
    [['a\r'], 'a\n'],
    [['x\r\n.\r\nMAIL FROM:<evil@x>\r\n'], 'x\n.\nMAIL FROM:<evil@x>\n'],
    [['x\n.\r\nsmuggled', '\r.\r'], 'x\n.\nsmuggled\n.\n'],
    [['\r\r\n'], '\n\n'],
  ];
  for (const [chunks, want] of cases) assert.equal(run(chunks), want, JSON.stringify(chunks));
});

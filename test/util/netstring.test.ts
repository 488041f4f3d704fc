import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeNetstring, NetstringDecoder, NetstringError } from '../../src/util/netstring.js';

test('netstrings frame payloads by their byte count', () => {
  assert.equal(encodeNetstring('hello world!').toString(), '12:hello world!,');
  assert.equal(encodeNetstring('').toString(), '0:,');
  assert.equal(encodeNetstring('é').toString('latin1'), '2:\xc3\xa9,');
  assert.deepEqual(encodeNetstring(Buffer.from([0, 1, 2])), Buffer.from('3:\x00\x01\x02,', 'latin1'));
});

test('the decoder hands out whole payloads whatever the chunking', () => {
  const stream = Buffer.concat([encodeNetstring('OK one'), encodeNetstring(''), encodeNetstring('NOTFOUND '), encodeNetstring('x'.repeat(300))]);
  for (const size of [1, 2, 3, 7, 64, stream.length]) {
    const decoder = new NetstringDecoder(1000);
    const out: string[] = [];
    for (let i = 0; i < stream.length; i += size) out.push(...decoder.push(stream.subarray(i, i + size)).map((b) => b.toString()));
    assert.deepEqual(out, ['OK one', '', 'NOTFOUND ', 'x'.repeat(300)], `chunks of ${size}`);
    assert.equal(decoder.partial, false);
  }
  const decoder = new NetstringDecoder(1000);
  assert.deepEqual(decoder.push(Buffer.from('5:ab')), []);
  assert.equal(decoder.partial, true);
});

test('bad framing and oversize lengths are errors, found before the payload is read', () => {
  const cases: [string, number, RegExp][] = [
    ['x:abc,', 100, /bad length character 0x78/],
    [':abc,', 100, /empty length/],
    ['3:abc;', 100, /no comma after the payload/],
    ['-1:a,', 100, /bad length character 0x2d/],
    ['101:', 100, /netstring too long: more than 100 bytes/],
    ['99999999999999999999', 100, /netstring too long/],
  ];
  for (const [input, limit, pattern] of cases) {
    assert.throws(() => new NetstringDecoder(limit).push(Buffer.from(input)), (err: unknown) => err instanceof NetstringError && pattern.test(err.message), input);
  }
  assert.deepEqual(new NetstringDecoder(3).push(Buffer.from('3:abc,')).map(String), ['abc'], 'exactly the limit is accepted');
});

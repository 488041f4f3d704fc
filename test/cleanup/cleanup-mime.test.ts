import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentType, MimeState, primaryHeaderClass, type MimeItem, type MimeOptions } from '../../src/cleanup/cleanup-mime.js';

const OPTIONS: MimeOptions = { mime: true, nestingLimit: 100, bodyLimit: 51200 };

function walk(primaryType: string | undefined, body: string, options: Partial<MimeOptions> = {}): MimeItem[] {
  const state = new MimeState({ ...OPTIONS, ...options }, primaryType);
  return [...body.split('\n').flatMap((line) => state.push(line)), ...state.end()];
}

/** Items as short strings: "H:class:text" for headers, "L:text" for inspected lines, "-:text" for the rest. */
function shown(items: readonly MimeItem[]): string[] {
  return items.map((item) => (item.kind === 'header' ? `H:${item.cls}:${item.text}` : `${item.inspect ? 'L' : '-'}:${item.text}`));
}

const MULTIPART = [
  'preamble',
  '--outer',
  'Content-Type: text/plain',
  'X-Part: folded',
  '\tcontinued',
  '',
  'part one',
  '--outer',
  'Content-Type: message/rfc822',
  '',
  'Subject: inner',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/html',
  '',
  '<p>x</p>',
  '--inner--',
  '--outer--',
  'epilogue',
].join('\n');

test('part headers are folded and classed: MIME headers and part headers to mime, an attached message\'s headers to nested', () => {
  assert.deepEqual(shown(walk('Content-Type: multipart/mixed; boundary="outer"', MULTIPART)), [
    'L:preamble',
    'L:--outer',
    'H:mime:Content-Type: text/plain',
    'H:mime:X-Part: folded\n\tcontinued',
    '-:',
    'L:part one',
    'L:--outer',
    'H:mime:Content-Type: message/rfc822',
    '-:',
    'H:nested:Subject: inner',
    'H:mime:Content-Type: multipart/alternative; boundary=inner',
    '-:',
    'L:--inner',
    'H:mime:Content-Type: text/html',
    '-:',
    'L:<p>x</p>',
    'L:--inner--',
    'L:--outer--',
    'L:epilogue',
  ]);
});

test('without MIME processing, or past mime_nesting_limit, every line is a body line', () => {
  const flat = shown(walk('Content-Type: multipart/mixed; boundary="outer"', MULTIPART, { mime: false }));
  assert.ok(flat.every((item) => item.startsWith('L:')));
  const limited = shown(walk('Content-Type: multipart/mixed; boundary="outer"', MULTIPART, { nestingLimit: 1 }));
  assert.ok(limited.includes('H:mime:Content-Type: message/rfc822'));
  assert.ok(limited.includes('L:Subject: inner'), limited.join('|'));
  assert.equal(primaryHeaderClass('Content-Type: text/plain', OPTIONS), 'mime');
  assert.equal(primaryHeaderClass('MIME-Version: 1.0', OPTIONS), 'mime');
  assert.equal(primaryHeaderClass('Content-Type: text/plain', { ...OPTIONS, mime: false }), 'header');
  assert.equal(primaryHeaderClass('Subject: x', OPTIONS), 'header');
});

test('body_checks_size_limit bounds each body segment, counted again after a boundary', () => {
  const items = shown(walk('Content-Type: multipart/mixed; boundary=b', 'x\n--b\n\n0123456789\nabcdefghij\nlast\n--b\n\nagain', { bodyLimit: 12 }));
  assert.deepEqual(items, ['L:x', 'L:--b', '-:', 'L:0123456789', 'L:abcdefghij', '-:last', 'L:--b', '-:', 'L:again']);
});

test('Content-Type parameters: quoted or bare boundary, folded, any case', () => {
  assert.deepEqual(contentType('Content-Type: Multipart/Mixed;\n\tBoundary="a b"'), { type: 'multipart/mixed', boundary: 'a b' });
  assert.deepEqual(contentType('content-type: multipart/related; type=x; boundary=abc'), { type: 'multipart/related', boundary: 'abc' });
  assert.deepEqual(contentType('Content-Type:'), { type: 'text/plain' });
});

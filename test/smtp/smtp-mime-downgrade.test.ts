import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MimeDowngrade, quotedPrintableLine } from '../../src/smtp/smtp-mime-downgrade.js';

function convert(text: string | Buffer, chunk = 1_000_000): string {
  const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const downgrade = new MimeDowngrade(100);
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) out.push(downgrade.write(data.subarray(i, i + chunk)));
  out.push(downgrade.end());
  return Buffer.concat(out).toString('latin1');
}

/** Decodes quoted-printable text (for round trips). */
function unQuote(text: string): Buffer {
  const joined = text.replace(/=\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] === '=') {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(joined.charCodeAt(i));
    }
  }
  return Buffer.from(bytes);
}

test('an 8bit text part becomes quoted-printable; its header says so; 7-bit content is left byte for byte', () => {
  const out = convert('Subject: x\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße=1 \nplain\n');
  assert.equal(out, 'Subject: x\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nGr=C3=BC=C3=9Fe=3D1=20\nplain\n');
  const seven = 'Subject: y\nContent-Transfer-Encoding: 7bit\n\nhello\n.\n';
  assert.equal(convert(seven), seven);
});

test('multipart: only the parts declared 8bit or binary are encoded, boundaries, preamble, epilogue and base64 untouched, the multipart relabelled 7bit', () => {
  const lines = [
    'Content-Type: multipart/mixed; boundary="b1"',
    'Content-Transfer-Encoding: 8bit',
    '',
    'preamble',
    '--b1',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: 8bit',
    '',
    'caf\u00e9',
    '--b1',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: base64',
    '',
    'AAEC',
    '--b1--',
    'epilogue \u00e9',
    '',
  ];
  // What changes: the multipart's label, the text part's label and its one body line.
  const expected = lines.map((line, i) => ({ 1: 'Content-Transfer-Encoding: 7bit', 6: 'Content-Transfer-Encoding: quoted-printable', 8: 'caf=E9' })[i] ?? line);
  assert.equal(convert(Buffer.from(lines.join('\n'), 'latin1')), expected.join('\n'));
});

test('a message/rfc822 part is followed into: its own 8bit part is encoded', () => {
  const text = [
    'Content-Type: multipart/mixed; boundary=outer',
    '',
    '--outer',
    'Content-Type: message/rfc822',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Subject: inner',
    'Content-Type: text/plain',
    'Content-Transfer-Encoding: 8bit',
    '',
    'ñ',
    '--outer--',
    '',
  ].join('\n');
  const out = convert(text);
  assert.match(out, /Content-Type: message\/rfc822\nContent-Transfer-Encoding: 7bit\n\nSubject: inner\nContent-Type: text\/plain\nContent-Transfer-Encoding: quoted-printable\n\n=C3=B1\n--outer--\n$/);
});

test('quoted-printable lines stay within 76 columns and decode to the original, whatever the chunking', () => {
  const long = Buffer.from(`${'é'.repeat(40)} ${'x'.repeat(200)}=\t`, 'utf8');
  const encoded = quotedPrintableLine(long);
  for (const line of encoded.split('\n')) assert.ok(line.length <= 76, `${line.length}: ${line}`);
  assert.deepEqual(unQuote(encoded.slice(0, -1)), long);
  const message = `Content-Transfer-Encoding: binary\n\n${long.toString('utf8')}\nsecond line ü\n`;
  const whole = convert(message);
  for (const chunk of [1, 3, 64]) assert.equal(convert(message, chunk), whole, `chunks of ${chunk}`);
  assert.match(whole, /^Content-Transfer-Encoding: quoted-printable\n\n/);
});

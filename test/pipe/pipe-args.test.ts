import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandArgv, parsePipeArgs } from '../../src/pipe/pipe-args.js';

test('pipe attributes: flags, user, size, eol and everything after argv=', () => {
  const settings = parsePipeArgs(['flags=DRhu.', 'user=list:mail', 'size=1000', 'eol=\\r\\n', 'argv=/usr/bin/deliver', '-f', '${sender}', '--', '${recipient}']);
  assert.deepEqual(settings, { flags: 'DRhu.', user: 'list', group: 'mail', size: 1000, eol: '\r\n', argv: ['/usr/bin/deliver', '-f', '${sender}', '--', '${recipient}'] });
  assert.throws(() => parsePipeArgs(['user=list']), /missing argv=/);
  assert.throws(() => parsePipeArgs(['argv=/bin/true']), /missing user=/);
  assert.throws(() => parsePipeArgs(['user=root', 'argv=/bin/true']), /may not be root/);
  assert.throws(() => parsePipeArgs(['flags=Z', 'user=list', 'argv=/bin/true']), /unsupported flags "Z"/);
});

test('argv: per-recipient macros repeat the element once per recipient; h and u lower-case; nothing is split or interpreted', () => {
  const settings = parsePipeArgs(['flags=hu', 'user=list', 'argv=/bin/x', '${sender}', '${nexthop}', 'rcpt=${recipient}', '${user}', '${extension}', '${domain}', '${queue_id}', '${client_address}']);
  const argv = expandArgv(settings, {
    sender: 'a@b',
    nexthop: 'pipe.test',
    queueId: 'QID',
    size: 10,
    recipientDelimiter: '+',
    attrs: { client_address: '192.0.2.1' },
    recipients: [
      { address: 'Bob+Box@Pipe.Test', original: 'Bob+Box@Pipe.Test' },
      { address: 'x`touch y`;z@pipe.test', original: '' },
    ],
  });
  assert.deepEqual(argv, [
    '/bin/x',
    'a@b',
    'pipe.test',
    'rcpt=bob+box@pipe.test',
    'rcpt=x`touch y`;z@pipe.test',
    'bob',
    'x`touch y`;z',
    'box',
    '',
    'pipe.test',
    'pipe.test',
    'QID',
    '192.0.2.1',
  ]);
  assert.throws(() => expandArgv(parsePipeArgs(['user=list', 'argv=/bin/x', '${nosuch}']), { sender: '', nexthop: '', queueId: '', size: 0, recipientDelimiter: '', attrs: {}, recipients: [] }), /unknown macro/);
});

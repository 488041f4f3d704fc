import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessAddressKeysForIp,
  accessHostKeys,
  accessMailKeys,
  mailAddrKeys,
  transportKeys,
  type SearchKey,
} from '../../../src/global/addr/addr-search-keys.js';

/** Renders keys as "key" for whole-string keys and "~key" for fixed-only partial keys. */
function show(keys: SearchKey[]): string[] {
  return keys.map((k) => (k.fixedOnly ? `~${k.key}` : k.key));
}

const parentStyle = { parentMatchesSubdomains: true, delimiters: '+', nullKey: '<>' };
const dotStyle = { parentMatchesSubdomains: false, delimiters: '+', nullKey: '<>' };

test('access(5) address order, with and without extension and parent style', () => {
  const cases: Array<[string, typeof parentStyle, string[]]> = [
    ['user@a.example.com', parentStyle, ['user@a.example.com', '~a.example.com', '~example.com', '~com', '~user@']],
    ['user@a.example.com', dotStyle, ['user@a.example.com', '~a.example.com', '~.example.com', '~.com', '~user@']],
    [
      'user+foo@example.com',
      parentStyle,
      ['user+foo@example.com', '~user@example.com', '~example.com', '~com', '~user+foo@', '~user@'],
    ],
    ['', parentStyle, ['<>']],
    ['user', parentStyle, ['user', '~user@']],
    ['user@[192.0.2.1]', parentStyle, ['user@[192.0.2.1]', '~[192.0.2.1]', '~user@']],
  ];
  for (const [address, options, expected] of cases) {
    assert.deepEqual(show(accessMailKeys(address, options)), expected, address);
  }
});

test('access(5) extension keys carry the stripped extension', () => {
  const keys = accessMailKeys('user+foo@example.com', parentStyle);
  assert.equal(keys[1]?.strippedExtension, '+foo');
  assert.equal(keys[0]?.strippedExtension, undefined);
});

test('access(5) host name order', () => {
  assert.deepEqual(show(accessHostKeys('mail.example.com', parentStyle)), ['mail.example.com', '~example.com', '~com']);
  assert.deepEqual(show(accessHostKeys('mail.example.com', dotStyle)), ['mail.example.com', '~.example.com', '~.com']);
  assert.deepEqual(show(accessHostKeys('localhost', dotStyle)), ['localhost']);
});

test('access(5) IP address order for IPv4, IPv6 and IPv4-mapped IPv6', () => {
  assert.deepEqual(show(accessAddressKeysForIp('192.0.2.10')), ['192.0.2.10', '~192.0.2', '~192.0', '~192']);
  assert.deepEqual(show(accessAddressKeysForIp('2001:db8:1:2:3:4:5:6')), [
    '2001:db8:1:2:3:4:5:6',
    '~2001:db8:1:2:3:4:5',
    '~2001:db8:1:2:3:4',
    '~2001:db8:1:2:3',
    '~2001:db8:1:2',
    '~2001:db8:1',
  ]);
  assert.deepEqual(show(accessAddressKeysForIp('2001:0db8:0:0:0:0:0:1')), ['2001:db8::1', '~2001:db8:']);
  assert.deepEqual(show(accessAddressKeysForIp('::ffff:192.0.2.10')), ['192.0.2.10', '~192.0.2', '~192.0', '~192']);
});

test('virtual(5)/canonical(5) order: user only for local domains', () => {
  const local = { delimiters: '+', isLocalDomain: (d: string) => d === 'example.com' };
  const cases: Array<[string, string[]]> = [
    ['user@example.com', ['user@example.com', '~user', '~@example.com']],
    ['user+foo@example.com', ['user+foo@example.com', '~user@example.com', '~user+foo', '~user', '~@example.com']],
    ['user+foo@elsewhere.org', ['user+foo@elsewhere.org', '~user@elsewhere.org', '~@elsewhere.org']],
    ['user', ['user']],
    ['user+foo', ['user+foo', '~user']],
  ];
  for (const [address, expected] of cases) {
    assert.deepEqual(show(mailAddrKeys(address, local)), expected, address);
  }
});

test('transport(5) order ends with the * wild card', () => {
  assert.deepEqual(show(transportKeys('user+foo@a.example.com', dotStyle)), [
    'user+foo@a.example.com',
    '~user@a.example.com',
    '~a.example.com',
    '~.example.com',
    '~.com',
    '~*',
  ]);
  assert.deepEqual(show(transportKeys('user@example.com', parentStyle)), ['user@example.com', '~example.com', '~com', '~*']);
});

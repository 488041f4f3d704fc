import assert from 'node:assert/strict';
import { test } from 'node:test';
import { masquerade } from '../../../src/global/addr/addr-masquerade.js';

test('masquerade_domains: the first parent listed wins, !domain and exceptions are left alone', () => {
  const rules = { domains: ['!internal.example.com', 'foo.example.com', 'example.com'], exceptions: ['root'] };
  const cases: [string, string][] = [
    ['a@host.foo.example.com', 'a@foo.example.com'],
    ['a@host.bar.example.com', 'a@example.com'],
    ['a@example.com', 'a@example.com'],
    ['a@foo.example.com', 'a@foo.example.com'],
    ['a@x.internal.example.com', 'a@x.internal.example.com'],
    ['root@host.example.com', 'root@host.example.com'],
    ['a@elsewhere.org', 'a@elsewhere.org'],
    ['nodomain', 'nodomain'],
    ['A@Host.Example.COM', 'A@example.com'],
  ];
  for (const [address, want] of cases) assert.equal(masquerade(address, rules), want, address);
  assert.equal(masquerade('a@b.example.com', { domains: [], exceptions: [] }), 'a@b.example.com');
});

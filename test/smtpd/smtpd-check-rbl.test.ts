import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDnsList } from '../../src/smtpd/smtpd-check-rbl.js';
import { parseRestrictions } from '../../src/smtpd/smtpd-check-names.js';

test('DNS list arguments: the domain and its =d.d.d.d reply filter, each octet a number or [n;n..m]', () => {
  assert.deepEqual(parseDnsList('x', 'reject_rbl_client', 'Zen.Example.').domain, 'zen.example');
  assert.equal(parseDnsList('x', 'reject_rbl_client', 'zen.example').filter, undefined);
  assert.deepEqual(parseDnsList('x', 'reject_rbl_client', 'zen.example=127.0.0.[2..11;14]').filter, [[[127, 127]], [[0, 0]], [[0, 0]], [[2, 11], [14, 14]]]);
  assert.deepEqual(parseDnsList('x', 'permit_dnswl_client', 'wl.example=127.0.[0..255].[1;2]').filter, [[[127, 127]], [[0, 0]], [[0, 255]], [[1, 1], [2, 2]]]);
  for (const bad of ['zen.example=127.0.0', 'zen.example=127.0.0.256', 'zen.example=127.0.0.[3..2]', 'zen.example=127.0.0.[2..]', 'zen.example=127.0.0.2..3', 'zen', 'zen.example=x']) {
    assert.throws(() => parseDnsList('smtpd_client_restrictions', 'reject_rbl_client', bad), /smtpd_client_restrictions: .*reject_rbl_client/, bad);
  }
});

test('a DNS list restriction takes the next item as its list; without one it is a configuration error', () => {
  const steps = parseRestrictions('smtpd_recipient_restrictions', ['reject_rbl_client', 'zen.example', 'permit_dnswl_client', 'wl.example', 'permit'], new Map());
  assert.deepEqual(
    steps.map((s) => [s.name, s.table]),
    [
      ['reject_rbl_client', 'zen.example'],
      ['permit_dnswl_client', 'wl.example'],
      ['permit', ''],
    ],
  );
  assert.throws(() => parseRestrictions('smtpd_recipient_restrictions', ['permit', 'reject_rhsbl_sender'], new Map()), /restriction "reject_rhsbl_sender" needs a DNS domain argument/);
  assert.throws(() => parseRestrictions('smtpd_recipient_restrictions', ['reject_rhsbl_helo', 'permit'], new Map()), /needs a DNS domain argument, not "permit"/);
});

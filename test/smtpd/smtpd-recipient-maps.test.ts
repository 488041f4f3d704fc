/*
 * smtpd-recipient-maps: address classes from domain lists given as tables
 * (virtual_mailbox_domains = $virtual_mailbox_maps ...) and the
 * unknown-recipient replies of each class, on real texthash: and fail:
 * tables.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AddressResolver } from '../../src/global/addr/addr-resolve.js';
import { loadConfig } from '../../src/global/config/load-config.js';
import { SmtpdChecks } from '../../src/smtpd/smtpd-checks.js';
import { openRecipientMaps, unlistedRecipient } from '../../src/smtpd/smtpd-recipient-maps.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-rcptmaps-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'vmailbox'), ['mbox.example anything', 'alice@mbox.example mbox.example/alice/', '@catch.example catch.example/', 'catch.example anything', ''].join('\n'));
writeFileSync(join(dir, 'valias'), ['alias.example anything', 'info@alias.example alice@mbox.example', 'sales@mbox.example alice@mbox.example', ''].join('\n'));
writeFileSync(join(dir, 'relayrcpt'), ['known@relay.example x', ''].join('\n'));
writeFileSync(join(dir, 'localrcpt'), ['root x', ''].join('\n'));

function config(extra = '') {
  writeFileSync(
    join(dir, 'main.cf'),
    [
      'myhostname = mx.test.example',
      'mydestination = $myhostname, localhost',
      `virtual_mailbox_maps = texthash:${join(dir, 'vmailbox')}`,
      `virtual_alias_maps = texthash:${join(dir, 'valias')}`,
      'relay_domains = relay.example',
      `relay_recipient_maps = texthash:${join(dir, 'relayrcpt')}`,
      `local_recipient_maps = texthash:${join(dir, 'localrcpt')}`,
      'unknown_virtual_mailbox_reject_code = 551',
      extra,
      '',
    ].join('\n'),
  );
  return loadConfig({ configDir: dir }).params;
}

test('domains listed in virtual_mailbox_maps and virtual_alias_maps (their default domain lists) are classified and routed', async () => {
  const resolver = await AddressResolver.open(config());
  const route = async (address: string) => {
    const r = await resolver.resolve(address);
    return [r.addressClass, r.transport];
  };
  assert.deepEqual(await route('alice@mbox.example'), ['virtual_mailbox', 'virtual']);
  assert.deepEqual(await route('x@sub.mbox.example'), ['default', 'smtp']);
  assert.deepEqual(await route('info@alias.example'), ['virtual_alias', 'error']);
  assert.deepEqual(await route('known@relay.example'), ['relay', 'relay']);
  assert.deepEqual(await route('root@localhost'), ['local', 'local']);
  const other = await AddressResolver.open(config('virtual_transport = lmtp:unix:private/dovecot-lmtp'));
  assert.deepEqual(await other.resolve('alice@mbox.example'), { addressClass: 'virtual_mailbox', transport: 'lmtp', nexthop: 'unix:private/dovecot-lmtp', recipient: 'alice@mbox.example' });
});

test('each class refuses its unlisted recipients with its own code and table; aliases and catch-alls are known', async () => {
  const params = config();
  const resolver = await AddressResolver.open(params);
  const maps = await openRecipientMaps(params);
  const check = (rcpt: string) => unlistedRecipient(params, resolver, maps, new Set(['localhost', 'mx.test.example']), rcpt);
  for (const known of ['alice@mbox.example', 'Alice@MBOX.example', 'sales@mbox.example', 'anyone@catch.example', 'info@alias.example', 'known@relay.example', 'root@localhost', 'postmaster@localhost', 'someone@elsewhere.example']) {
    assert.equal(await check(known), undefined, known);
  }
  assert.deepEqual(await check('bob@mbox.example'), { code: 551, dsn: '5.1.1', text: '<bob@mbox.example>: Recipient address rejected: User unknown in virtual mailbox table' });
  assert.deepEqual(await check('bob@alias.example'), { code: 550, dsn: '5.1.1', text: '<bob@alias.example>: Recipient address rejected: User unknown in virtual alias table' });
  assert.deepEqual(await check('bob@relay.example'), { code: 550, dsn: '5.1.1', text: '<bob@relay.example>: Recipient address rejected: User unknown in relay recipient table' });
  assert.deepEqual(await check('bob@localhost'), { code: 550, dsn: '5.1.1', text: '<bob@localhost>: Recipient address rejected: User unknown in local recipient table' });
});

test('an empty relay_recipient_maps accepts every relay recipient; a table that cannot answer throws its temporary error', async () => {
  const open = config('relay_recipient_maps =');
  const maps = await openRecipientMaps(open);
  assert.equal(await unlistedRecipient(open, await AddressResolver.open(open), maps, new Set(), 'bob@relay.example'), undefined);
  const down = config('relay_recipient_maps = fail:down');
  await assert.rejects(unlistedRecipient(down, await AddressResolver.open(down), await openRecipientMaps(down), new Set(), 'bob@relay.example'), /table lookup failed/);
});

test('SmtpdChecks: smtpd_reject_unlisted_recipient = no turns the check off, reject_unlisted_recipient turns it on again; a table down is 451 4.3.0', async () => {
  const checksFor = async (extra: string) => {
    const params = config(extra);
    return new SmtpdChecks(params, await AddressResolver.open(params), { recipientMaps: await openRecipientMaps(params), senderLogins: undefined, relayClientCerts: undefined, ehloKeywordMaps: undefined });
  };
  const rcpt = (recipient: string) => ({ clientAddress: '127.0.0.1', saslUsername: undefined, clientCert: undefined, sender: 's@example.org', recipient });
  const unknown = 'Recipient address rejected: User unknown in virtual mailbox table';
  assert.match((await (await checksFor('')).recipient(rcpt('bob@mbox.example')))?.text ?? '', new RegExp(unknown));
  assert.equal(await (await checksFor('smtpd_reject_unlisted_recipient = no')).recipient(rcpt('bob@mbox.example')), undefined);
  const explicit = await checksFor('smtpd_reject_unlisted_recipient = no\nsmtpd_recipient_restrictions = reject_unlisted_recipient, permit_mynetworks, reject_unauth_destination\nsmtpd_data_restrictions = reject_unlisted_recipient');
  assert.match((await explicit.recipient(rcpt('bob@mbox.example')))?.text ?? '', new RegExp(unknown));
  assert.equal(await explicit.data({ clientAddress: '127.0.0.1', saslUsername: undefined, clientCert: undefined, sender: 's@example.org' }), undefined);
  const down = await checksFor('virtual_mailbox_maps = fail:down\nvirtual_mailbox_domains = mbox.example');
  assert.deepEqual(await down.recipient(rcpt('alice@mbox.example')), { code: 451, dsn: '4.3.0', text: '<alice@mbox.example>: Temporary lookup failure' });
});

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
import { checkRecipient, checkStages } from '../../src/smtpd/smtpd-check.js';
import { SmtpdChecks } from '../../src/smtpd/smtpd-check-config.js';
import { noActions } from '../../src/smtpd/smtpd-check-types.js';
import { openRecipientMaps, unlistedAddress } from '../../src/smtpd/smtpd-recipient-maps.js';

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
  const check = (rcpt: string) => unlistedAddress(params, resolver, maps, new Set(['localhost', 'mx.test.example']), rcpt, 'recipient');
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
  assert.equal(await unlistedAddress(open, await AddressResolver.open(open), maps, new Set(), 'bob@relay.example', 'recipient'), undefined);
  const down = config('relay_recipient_maps = fail:down');
  await assert.rejects(unlistedAddress(down, await AddressResolver.open(down), await openRecipientMaps(down), new Set(), 'bob@relay.example', 'recipient'), /table lookup failed/);
});

test('SmtpdChecks: smtpd_reject_unlisted_recipient = no turns the check off, reject_unlisted_recipient turns it on again; a table down is 451 4.3.0', async () => {
  const checksFor = async (extra: string) => {
    const params = config(extra);
    const checks = await SmtpdChecks.open(params, await AddressResolver.open(params), { recipientMaps: await openRecipientMaps(params), senderLogins: undefined, relayClientCerts: undefined, ehloKeywordMaps: undefined });
    return {
      check: (req: ReturnType<typeof rcpt>) => checkRecipient(checks, req),
      data: (req: ReturnType<typeof rcpt>) => checkStages(checks, { ...req, command: 'DATA' }, ['data']),
    };
  };
  const rcpt = (recipient: string) => ({
    command: 'RCPT', queueId: undefined, clientName: 'localhost', reverseName: 'localhost', nameTempFail: false, clientAddress: '127.0.0.1', protocol: 'ESMTP', helo: 'client.example',
    saslUsername: undefined, clientCert: undefined, tls: false, sender: 's@example.org', recipient, recipientCount: 0, pipelined: false, actions: noActions(), dnsCache: new Map(),
    policy: { clientPort: 1025, serverAddress: '127.0.0.1', serverPort: 25, saslMethod: undefined, saslSender: undefined, tls: undefined, size: 0, instance: '' },
  });
  const unknown = 'Recipient address rejected: User unknown in virtual mailbox table';
  assert.match((await (await checksFor('')).check(rcpt('bob@mbox.example')))?.text ?? '', new RegExp(unknown));
  assert.equal(await (await checksFor('smtpd_reject_unlisted_recipient = no')).check(rcpt('bob@mbox.example')), undefined);
  const explicit = await checksFor('smtpd_reject_unlisted_recipient = no\nsmtpd_recipient_restrictions = reject_unlisted_recipient, permit_mynetworks, reject_unauth_destination\nsmtpd_data_restrictions = reject_unlisted_recipient');
  assert.match((await explicit.check(rcpt('bob@mbox.example')))?.text ?? '', new RegExp(unknown));
  // At DATA the last accepted recipient is the one reject_unlisted_recipient sees.
  assert.equal(await explicit.data(rcpt('root@localhost')), undefined);
  const down = await checksFor('virtual_mailbox_maps = fail:down\nvirtual_mailbox_domains = mbox.example');
  assert.deepEqual(await down.check(rcpt('alice@mbox.example')), { code: 451, dsn: '4.3.0', text: '<alice@mbox.example>: Temporary lookup failure' });
});

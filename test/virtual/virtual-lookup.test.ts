/*
 * virtual-lookup: virtual(8)'s table search order (user+ext@domain,
 * user@domain, @domain), uid/gid maps with virtual_minimum_uid, per-user
 * limits, and the outcomes of unknown users, bad results and tables that
 * cannot answer; real texthash:, static: and fail: tables.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/global/config/load-config.js';
import { openTableList } from '../../src/global/tables/table-list.js';
import { findMailbox, type VirtualTables } from '../../src/virtual/virtual-lookup.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-vlookup-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, 'vmailbox'),
  ['alice@example.com example.com/alice/', 'alice+lists@example.com example.com/alice-lists/', 'bob@example.com example.com/bob', '@catch.example catch.example/all/', 'evil@example.com ../../etc/', ''].join('\n'),
);
writeFileSync(join(dir, 'vuids'), ['alice@example.com 5001', 'bob@example.com 50', '@catch.example 5003', ''].join('\n'));
writeFileSync(join(dir, 'vlimits'), ['alice@example.com 1000', 'bob@example.com 900000000', '@catch.example 0', ''].join('\n'));

async function tables(overrides: Partial<Record<keyof VirtualTables, string[]>> = {}): Promise<VirtualTables> {
  const open = (specs: string[]) => openTableList(specs, { configDir: dir });
  return {
    mailboxes: await open(overrides.mailboxes ?? [`texthash:${join(dir, 'vmailbox')}`]),
    uids: await open(overrides.uids ?? [`texthash:${join(dir, 'vuids')}`, 'static:5000']),
    gids: await open(overrides.gids ?? ['static:5000']),
    limits: await open(overrides.limits ?? []),
  };
}

function params(main: string) {
  writeFileSync(join(dir, 'main.cf'), `virtual_mailbox_base = /srv/vmail\nrecipient_delimiter = +\n${main}`);
  return loadConfig({ configDir: dir }).params;
}

test('the search order is user+ext@domain, user@domain, @domain; a "/" ending means Maildir', async () => {
  const p = params('');
  const t = await tables({ uids: [`texthash:${join(dir, 'vuids')}`] });
  const cases: [string, string, number][] = [
    ['alice@example.com', '/srv/vmail/example.com/alice/', 5001],
    ['Alice@Example.COM', '/srv/vmail/example.com/alice/', 5001],
    ['alice+lists@example.com', '/srv/vmail/example.com/alice-lists/', 5001],
    ['alice+other@example.com', '/srv/vmail/example.com/alice/', 5001],
    ['anyone@catch.example', '/srv/vmail/catch.example/all/', 5003],
  ];
  for (const [address, path, uid] of cases) {
    const box = await findMailbox(t, p, address);
    assert.ok(!('status' in box), `${address}: ${JSON.stringify(box)}`);
    assert.equal(box.path, path, address);
    assert.equal(box.maildir, true, address);
    assert.equal(box.uid, uid, address);
    assert.equal(box.gid, 5000, address);
    assert.equal(box.limit, 51200000, address);
  }
  // Each key is tried in every table before the next key (Postfix's maps): static: answers the whole address first.
  const both = await findMailbox(await tables(), p, 'alice+lists@example.com');
  assert.equal((both as { uid: number }).uid, 5000);
  const mbox = await findMailbox(t, params('virtual_minimum_uid = 10\n'), 'bob@example.com');
  assert.ok(!('status' in mbox));
  assert.equal(mbox.path, '/srv/vmail/example.com/bob');
  assert.equal(mbox.maildir, false);
});

test('an unknown user bounces 5.1.1; a uid below virtual_minimum_uid, a missing gid or a path out of the base wait (4.3.5)', async () => {
  const p = params('');
  assert.deepEqual(await findMailbox(await tables(), p, 'nobody@example.com'), { status: 'bounced', dsn: '5.1.1', reason: 'unknown user: "nobody@example.com"' });
  assert.equal(((await findMailbox(await tables(), p, 'bob@example.com')) as { dsn: string }).dsn, '4.3.5');
  assert.equal(((await findMailbox(await tables({ gids: [] }), p, 'alice@example.com')) as { dsn: string }).dsn, '4.3.5');
  assert.equal(((await findMailbox(await tables({ uids: ['static:abc'] }), p, 'alice@example.com')) as { dsn: string }).dsn, '4.3.5');
  assert.equal(((await findMailbox(await tables(), p, 'evil@example.com')) as { dsn: string }).dsn, '4.3.5');
});

test('a table that cannot answer defers with 4.3.0, never "unknown user"', async () => {
  const p = params('');
  for (const which of ['mailboxes', 'uids', 'gids', 'limits'] as const) {
    const outcome = await findMailbox(await tables({ [which]: ['fail:down'] }), p, 'alice@example.com');
    assert.deepEqual(outcome, { status: 'deferred', dsn: '4.3.0', reason: 'table lookup failure' }, which);
  }
});

test('virtual_mailbox_limit_maps: a per-user limit, capped by virtual_mailbox_limit unless virtual_mailbox_limit_override', async () => {
  const limits = [`texthash:${join(dir, 'vlimits')}`];
  const capped = params('virtual_mailbox_limit = 100000\nvirtual_minimum_uid = 10\n');
  const open = params('virtual_mailbox_limit = 100000\nvirtual_minimum_uid = 10\nvirtual_mailbox_limit_override = yes\n');
  const limit = async (p: typeof capped, address: string) => {
    const box = await findMailbox(await tables({ limits }), p, address);
    assert.ok(!('status' in box), address);
    return [box.limit, box.perUserLimit];
  };
  assert.deepEqual(await limit(capped, 'alice@example.com'), [1000, true]);
  assert.deepEqual(await limit(capped, 'bob@example.com'), [100000, true]);
  assert.deepEqual(await limit(capped, 'x@catch.example'), [100000, true]);
  assert.deepEqual(await limit(open, 'bob@example.com'), [900000000, true]);
  assert.deepEqual(await limit(open, 'x@catch.example'), [0, true]);
  assert.deepEqual(await limit(open, 'alice+lists@example.com'), [1000, true]);
});

/*
 * virtual-params: virtual_destination_recipient_limit and
 * virtual_destination_concurrency_limit follow the default_ ones unless
 * set, as qmgr reads them for the virtual transport; the VDA parameters
 * have the VDA patch's defaults.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/global/config/load-config.js';
import { perServiceValue } from '../../src/global/config/per-service-params.js';
import { recipientLimit } from '../../src/qmgr/qmgr-limits.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-vparams-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(main: string) {
  writeFileSync(join(dir, 'main.cf'), main);
  return loadConfig({ configDir: dir });
}

test('the virtual transport limits default to the default_destination ones and can be set', () => {
  const defaults = config('default_destination_recipient_limit = 7\ndefault_destination_concurrency_limit = 9\n');
  assert.equal(recipientLimit(defaults, 'virtual'), 7);
  assert.equal(perServiceValue(defaults, 'virtual', 'destination_concurrency_limit', 0), 9);
  const set = config('virtual_destination_recipient_limit = 1\nvirtual_destination_concurrency_limit = 3\n');
  assert.equal(recipientLimit(set, 'virtual'), 1);
  assert.equal(perServiceValue(set, 'virtual', 'destination_concurrency_limit', 0), 3);
});

test('virtual(8) and VDA defaults', () => {
  const { params } = config('');
  assert.equal(params.virtual_minimum_uid, 100);
  assert.equal(params.virtual_mailbox_limit, 51200000);
  assert.deepEqual(params.virtual_mailbox_lock, ['dotlock']);
  assert.equal(params.virtual_transport, 'virtual');
  assert.equal(params.virtual_maildir_extended, false);
  assert.equal(params.virtual_overquota_bounce, false);
  assert.equal(params.virtual_mailbox_limit_override, false);
  assert.equal(params.virtual_trash_name, '.Trash');
  assert.match(params.virtual_maildir_limit_message, /overdrawn his diskspace quota/);
});

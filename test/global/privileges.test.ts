import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EffectiveUser } from '../../src/global/privileges.js';
import { ID_SWITCH } from '../../src/util/thread-ids.js';
import { needRoot } from '../support/need.js';

const NOBODY = { uid: 65534, gid: 65534 };
const skip = needRoot('switching effective ids needs root');
const dir = mkdtempSync(join(tmpdir(), 'petrel-privileges-'));
const secret = join(dir, 'root-only');
writeFileSync(secret, 'root only\n', { mode: 0o600 });
after(() => rmSync(dir, { recursive: true, force: true }));

test('the thread-ids addon is built (npm install builds it; CI must have it)', () => {
  if (!ID_SWITCH.perThread) {
    const reason = `native/thread-ids is not loaded: ${ID_SWITCH.problem}`;
    if (process.env.CI === 'true') assert.fail(reason);
    process.stderr.write(`WARNING: ${reason}\n`);
  }
});

test('a section runs with the account ids and gives root back, also when it throws', { skip }, () => {
  const effective = new EffectiveUser();
  assert.deepEqual(effective.run(NOBODY, () => [process.geteuid?.(), process.getegid?.()]), [NOBODY.uid, NOBODY.gid]);
  assert.equal(process.geteuid?.(), 0);
  assert.throws(() => effective.run(NOBODY, () => readFileSync(secret)), { code: 'EACCES' });
  assert.equal(process.geteuid?.(), 0);
  assert.equal(process.getegid?.(), 0);
  assert.equal(readFileSync(secret, 'utf8'), 'root only\n');
});

test('a section must be synchronous', { skip }, () => {
  const effective = new EffectiveUser();
  assert.throws(() => effective.run(NOBODY, async () => 1), /must be synchronous/);
  assert.equal(process.geteuid?.(), 0);
});

test("with the addon only the main thread switches: libuv's pool keeps root's ids", { skip: skip || (!ID_SWITCH.perThread && 'no thread-ids addon') }, async () => {
  const effective = new EffectiveUser();
  // Started inside the section, the read runs on a pool thread, which stays root.
  const pooled = effective.run(NOBODY, () => {
    assert.throws(() => readFileSync(secret), { code: 'EACCES' });
    return { read: readFile(secret, 'utf8') };
  });
  assert.equal(await pooled.read, 'root only\n');
});

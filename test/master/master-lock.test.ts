import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockMaster, masterIsRunning, masterPidPath, runningMasterPid } from '../../src/master/master-lock.js';

test('one lock per queue directory; released on release()', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = await lockMaster(dir);
  assert.ok(first);
  assert.equal(await lockMaster(dir), undefined);
  assert.equal(await runningMasterPid(dir), process.pid);
  await first.release();
  assert.equal(existsSync(masterPidPath(dir)), false);
  assert.equal(await masterIsRunning(dir), false);
  const again = await lockMaster(dir);
  assert.ok(again);
  await again.release();
});

test('a SIGKILLed holder leaves no stale lock', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const moduleUrl = new URL('../../src/master/master-lock.js', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(moduleUrl)}); await m.lockMaster(${JSON.stringify(dir)}); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  assert.equal(await lockMaster(dir), undefined);
  assert.equal(await runningMasterPid(dir), child.pid);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const lock = await lockMaster(dir);
  assert.ok(lock, 'the lock is free once its holder died');
  await lock.release();
});

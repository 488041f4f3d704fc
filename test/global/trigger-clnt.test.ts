import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { QMGR_TRIGGER, triggerQmgr } from '../../src/global/trigger-clnt.js';

const queue = mkdtempSync(join(tmpdir(), 'petrel-trigger-'));
after(() => rmSync(queue, { recursive: true, force: true }));

test('triggers are folded while one waits for its turn, and a request after a trigger went out gets one of its own', async () => {
  mkdirSync(join(queue, 'public'));
  const received: number[] = [];
  const server = createServer((socket) => {
    socket.on('data', () => received.push(Date.now()));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(join(queue, 'public', 'qmgr'), resolve));
  try {
    const asked: Promise<boolean>[] = [];
    for (let i = 0; i < 200; i++) {
      asked.push(triggerQmgr(queue, QMGR_TRIGGER.scanIncoming));
      if (i % 20 === 0) await sleep(1);
    }
    assert.ok((await Promise.all(asked)).every(Boolean), 'every request reports the trigger taken');
    await sleep(100);
    const burst = received.length;
    assert.ok(burst >= 2 && burst < 50, `${burst} triggers for 200 requests`);
    // Long after the burst: the next request goes out at once, and so does the one after its interval.
    assert.equal(await triggerQmgr(queue, QMGR_TRIGGER.scanIncoming), true);
    await sleep(50);
    assert.equal(received.length, burst + 1);
    assert.equal(await triggerQmgr(queue, QMGR_TRIGGER.scanIncoming), true);
    await sleep(50);
    assert.equal(received.length, burst + 2);
  } finally {
    server.close();
  }
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { QMGR_TRIGGER, triggerQmgr } from '../../src/global/trigger-clnt.js';

const queue = mkdtempSync(join(tmpdir(), 'petrel-trigger-'));
after(() => rmSync(queue, { recursive: true, force: true }));

test('triggers are folded while one waits for its turn, and a request after a trigger went out gets one of its own', async () => {
  // A request resolves once its trigger went out and the server closed: by then the server counted it, so no wait is needed.
  mkdirSync(join(queue, 'public'));
  const received: number[] = [];
  const server = createServer((socket) => {
    socket.on('data', () => received.push(Date.now()));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(join(queue, 'public', 'qmgr'), resolve));
  try {
    const asked: Promise<boolean>[] = [];
    for (let i = 0; i < 200; i++) asked.push(triggerQmgr(queue, QMGR_TRIGGER.scanIncoming));
    assert.ok((await Promise.all(asked)).every(Boolean), 'every request reports the trigger taken');
    assert.equal(received.length, 2, 'the first request went out at once, the 199 made meanwhile rode on one more');
    // After the burst each request gets a trigger of its own, one after the other.
    assert.equal(await triggerQmgr(queue, QMGR_TRIGGER.scanIncoming), true);
    assert.equal(received.length, 3);
    assert.equal(await triggerQmgr(queue, QMGR_TRIGGER.scanIncoming), true);
    assert.equal(received.length, 4);
  } finally {
    server.close();
  }
});

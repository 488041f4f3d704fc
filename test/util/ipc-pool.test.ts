import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { FramedConnection } from '../../src/util/ipc-frame.js';
import { keepConnection, takeConnection } from '../../src/util/ipc-pool.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-pool-'));
after(() => rmSync(dir, { recursive: true }));

/** A server that answers each JSON request with the number of its connection, and closes a connection when asked. */
async function server(name: string): Promise<string> {
  const path = join(dir, name);
  let connections = 0;
  const srv = createServer((socket: Socket) => {
    const conn = new FramedConnection(socket);
    const number = ++connections;
    void (async () => {
      for (;;) {
        const request = await conn.nextJson<{ close?: boolean }>(5000).catch(() => undefined);
        if (request === undefined) return;
        await conn.sendJson({ connection: number });
        if (request.close === true) conn.close();
      }
    })();
  });
  srv.unref();
  await new Promise<void>((resolve) => srv.listen(path, resolve));
  return path;
}

async function ask(path: string, request: object): Promise<number> {
  const conn = takeConnection(path) ?? (await FramedConnection.connect(path, 1000));
  await conn.sendJson(request);
  const { connection } = await conn.nextJson<{ connection: number }>(1000);
  keepConnection(path, conn, 1);
  return connection;
}

test('a kept connection carries the next request; one the peer closed is not handed out again', async () => {
  const path = await server('reuse');
  assert.equal(await ask(path, {}), 1);
  assert.equal(await ask(path, {}), 1);
  assert.equal(await ask(path, { close: true }), 1);
  await sleep(50);
  assert.equal(takeConnection(path), undefined);
  assert.equal(await ask(path, {}), 2);
});

test('a kept connection is closed after its idle time', async () => {
  const path = await server('idle');
  assert.equal(await ask(path, {}), 1);
  await sleep(1200);
  assert.equal(takeConnection(path), undefined);
  assert.equal(await ask(path, {}), 2);
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FramedConnection } from '../../src/util/ipc-frame.js';
import { keepConnection, takeConnection } from '../../src/util/ipc-pool.js';
import { waitFor } from '../support/wait.js';

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

/** Sends request on a kept or new connection and keeps it (idle one second); the server's connection number and the connection kept. */
async function ask(path: string, request: object): Promise<{ connection: number; kept: FramedConnection }> {
  const conn = takeConnection(path) ?? (await FramedConnection.connect(path, 1000));
  await conn.sendJson(request);
  const { connection } = await conn.nextJson<{ connection: number }>(1000);
  keepConnection(path, conn, 1);
  return { connection, kept: conn };
}

test('a kept connection carries the next request; one the peer closed is not handed out again', async () => {
  const path = await server('reuse');
  assert.equal((await ask(path, {})).connection, 1);
  assert.equal((await ask(path, {})).connection, 1);
  const { connection, kept } = await ask(path, { close: true });
  assert.equal(connection, 1);
  await waitFor(() => !kept.open, 'the client to see the peer close');
  assert.equal(takeConnection(path), undefined);
  assert.equal((await ask(path, {})).connection, 2);
});

test('a kept connection is closed after its idle time', async () => {
  const path = await server('idle');
  const { connection, kept } = await ask(path, {});
  assert.equal(connection, 1);
  await waitFor(() => !kept.open, 'the pool to close the connection after its idle second');
  assert.equal(takeConnection(path), undefined);
  assert.equal((await ask(path, {})).connection, 2);
});

test('a connection kept again is idle from its last keep, not its first', async () => {
  const path = await server('rearm');
  const { kept } = await ask(path, {});
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.equal((await ask(path, {})).connection, 1);
  // 1.2 s after the first keep, 0.5 s after the second: the idle second counts from the second.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.ok(kept.open, 'the connection was closed one second after its first keep');
  assert.equal((await ask(path, {})).connection, 1);
  await waitFor(() => !kept.open, 'the pool to close the connection one second after its last keep');
});

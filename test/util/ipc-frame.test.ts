import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FRAME, FramedConnection, IpcError } from '../../src/util/ipc-frame.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-ipc-'));
after(() => rmSync(dir, { recursive: true }));

async function pair(name: string, onServer: (conn: FramedConnection) => Promise<void>): Promise<FramedConnection> {
  const path = join(dir, name);
  const server = createServer((socket: Socket) => void onServer(new FramedConnection(socket)).finally(() => server.close()));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return FramedConnection.connect(path, 1000);
}

test('JSON and binary data frames arrive whole and in order, whatever the chunking', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  const client = await pair('echo', async (conn) => {
    const request = await conn.nextJson<{ op: string }>(5000);
    const data = await conn.next(5000);
    const end = await conn.next(5000);
    await conn.sendJson({ got: request.op, bytes: data?.payload.length, kinds: [data?.kind, end?.kind] });
    conn.close();
  });
  await client.sendJson({ op: 'hello \u00e9\u0000' });
  await client.send(FRAME.data, big);
  await client.send(FRAME.end, Buffer.alloc(0));
  assert.deepEqual(await client.nextJson(5000), { got: 'hello \u00e9\u0000', bytes: big.length, kinds: [FRAME.data, FRAME.end] });
  assert.equal(await client.next(1000), undefined);
});

test('a silent peer times out; a closed one is reported', async () => {
  let hang = (): void => undefined;
  const hungUp = new Promise<void>((resolve) => (hang = resolve));
  // The peer stays silent until the client's wait has timed out, then closes.
  const client = await pair('silent', async (conn) => {
    await hungUp;
    conn.close();
  });
  await assert.rejects(client.next(100), IpcError);
  hang();
  await assert.rejects(client.nextJson(2000), /closed the connection/);
  await assert.rejects(FramedConnection.connect(join(dir, 'nobody-listens'), 500), IpcError);
});

test('held frames leave together on release; holding more than fits in the socket buffer does not stall', async () => {
  let reads = 0;
  let readsForTen = 0;
  const client = await pair('held', async (conn) => {
    conn.socket.on('data', () => reads++);
    const sizes: number[] = [];
    for (let frame = await conn.next(5000); frame !== undefined && frame.kind !== FRAME.end; frame = await conn.next(5000)) {
      sizes.push(frame.payload.length);
      if (sizes.length === 10) readsForTen = reads;
    }
    await conn.sendJson({ sizes, readsForTen });
    conn.close();
  });
  // What the socket handed to the kernel so far: bytes written less those still buffered in the process.
  const dispatched = (): number => client.socket.bytesWritten - client.socket.writableLength;
  const before = dispatched();
  client.hold();
  for (let i = 0; i < 10; i++) await client.send(FRAME.data, Buffer.alloc(100, i));
  assert.equal(dispatched(), before, 'nothing left before release()');
  assert.ok(client.socket.writableLength >= 10 * 100, 'the ten frames wait in the process');
  client.release();
  client.hold();
  for (let i = 0; i < 40; i++) await client.send(FRAME.data, Buffer.alloc(10_000, i));
  await client.send(FRAME.end, Buffer.alloc(0));
  client.release();
  const reply = await client.nextJson<{ sizes: number[]; readsForTen: number }>(5000);
  assert.deepEqual(reply.sizes, [...Array(10).fill(100), ...Array(40).fill(10_000)]);
  assert.equal(reply.readsForTen, 1, 'ten frames, one read');
});

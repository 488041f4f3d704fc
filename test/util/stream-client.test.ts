import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostPort, StreamClient, StreamClientError, type ReplyDecoder, type StreamClientOptions } from '../../src/util/stream-client.js';
import { TestServer } from '../global/tables/table-servers.js';
import { waitFor } from '../support/wait.js';

/** Replies are lines. */
class Lines implements ReplyDecoder {
  private text = '';
  push(chunk: Buffer): Buffer[] {
    this.text += chunk.toString();
    const lines = this.text.split('\n');
    this.text = lines.pop() as string;
    return lines.map((line) => Buffer.from(line));
  }
}

/** A line server answering "echo:LINE" after delayMs; "quiet" gets no answer. */
function echoServer(delayMs = 0): TestServer {
  return new TestServer((socket) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split('\n');
      text = lines.pop() as string;
      for (const line of lines) {
        if (line === 'quiet') continue;
        setTimeout(() => socket.writable && socket.write(`echo:${line}\n`), delayMs);
      }
    });
  });
}

const OPTIONS: StreamClientOptions = { timeoutMs: 2000, idleMs: 10_000, ttlMs: 100_000, maxConnections: 2, decoder: () => new Lines() };
const failure = (kind: string, pattern: RegExp) => (err: unknown) => err instanceof StreamClientError && err.failure === kind && pattern.test(err.message);

test('host:port and [address]:port endpoints', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:25'), { host: '127.0.0.1', port: 25 });
  assert.deepEqual(parseHostPort('[::1]:6379'), { host: '::1', port: 6379 });
  assert.deepEqual(parseHostPort('mail.example.com:65535'), { host: 'mail.example.com', port: 65535 });
  for (const bad of ['host', 'host:', ':25', 'host:0', 'host:65536', '::1:25', 'a:b:25', 'host:2x']) assert.equal(parseHostPort(bad), undefined, bad);
});

test('no more than maxConnections at once; the rest wait their turn, each reply to its request', async () => {
  const server = await echoServer(20).listen();
  const client = new StreamClient({ host: '127.0.0.1', port: server.port }, OPTIONS);
  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => client.request(Buffer.from(`r${i}\n`))));
  assert.deepEqual(replies.map(String), Array.from({ length: 10 }, (_, i) => `echo:r${i}`));
  assert.equal(server.connections, 2);
  client.close();
  await server.stop();
});

test('the deadline covers waiting for a connection; a request after close fails', async () => {
  const server = await echoServer().listen();
  const client = new StreamClient({ host: '127.0.0.1', port: server.port }, { ...OPTIONS, maxConnections: 1, timeoutMs: 300 });
  const started = Date.now();
  const first = client.request(Buffer.from('quiet\n'));
  const second = client.request(Buffer.from('hello\n'));
  // Both deadlines fall together: the second fails waiting for the connection, or just after it got it.
  await Promise.all([
    assert.rejects(first, failure('timeout', /timed out waiting for the reply/)),
    assert.rejects(second, failure('timeout', /timed out waiting for (the reply|a free connection to 127\.0\.0\.1:\d+)/)),
  ]);
  const took = Date.now() - started;
  assert.ok(took < 550, `the wait counts in the deadline: ${took} ms, not two deadlines`);
  assert.equal(String(await client.request(Buffer.from('again\n'))), 'echo:again');
  client.close();
  await assert.rejects(client.request(Buffer.from('late\n')), failure('closed', /closed/));
  await server.stop();
});

test('idle connections are closed after idleMs, old ones are replaced after ttlMs', async () => {
  const server = await echoServer().listen();
  const idle = new StreamClient({ host: '127.0.0.1', port: server.port }, { ...OPTIONS, idleMs: 100 });
  assert.equal(String(await idle.request(Buffer.from('a\n'))), 'echo:a');
  await waitFor(() => server.open === 0, 'the client to close its idle connection');
  assert.equal(String(await idle.request(Buffer.from('b\n'))), 'echo:b');
  assert.equal(server.connections, 2, 'the idle connection was closed, a new one made');
  idle.close();

  const aging = new StreamClient({ host: '127.0.0.1', port: server.port }, { ...OPTIONS, ttlMs: 100 });
  assert.equal(String(await aging.request(Buffer.from('c\n'))), 'echo:c');
  assert.equal(String(await aging.request(Buffer.from('d\n'))), 'echo:d');
  assert.equal(server.connections, 3, 'reused while young');
  // Each request either reuses the connection or, once it is older than ttlMs, replaces it.
  await waitFor(async () => String(await aging.request(Buffer.from('e\n'))) === 'echo:e' && server.connections === 4, 'the old connection replaced');
  assert.equal(server.connections, 4, 'replaced once old');
  aging.close();
  await server.stop();
});

test('an unexpected reply breaks the connection; a Unix socket that is not there is a connect failure', async () => {
  const chatty = await new TestServer((socket) => socket.on('data', () => socket.write('one\ntwo\n'))).listen();
  const client = new StreamClient({ host: '127.0.0.1', port: chatty.port }, OPTIONS);
  await assert.rejects(client.request(Buffer.from('x\n')), failure('protocol', /more than one reply/));
  client.close();
  await chatty.stop();
  const missing = new StreamClient({ path: '/nonexistent/petrel.sock' }, OPTIONS);
  await assert.rejects(missing.request(Buffer.from('x\n')), failure('connect', /connect to \/nonexistent\/petrel\.sock: No such file or directory/));
  missing.close();
});

test('a connection that carried requestLimit requests is closed and the next request opens a new one', async () => {
  const server = await echoServer().listen();
  const client = new StreamClient({ host: '127.0.0.1', port: server.port }, { ...OPTIONS, requestLimit: 2 });
  for (const word of ['a', 'b', 'c', 'd', 'e']) assert.equal(String(await client.request(Buffer.from(`${word}\n`))), `echo:${word}`);
  assert.equal(server.connections, 3, 'two requests each on the first two connections, the fifth on a third');
  client.close();
  await server.stop();
});

/*
 * listen-handle: the Node internals the master relies on to let workers
 * accept on sockets it bound. A Node upgrade that changes them fails here,
 * naming net._createServerHandle or the listen(handle) path.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bindTcpHandle, bindUnixHandle, type ListenHandle } from '../../src/util/listen-handle.js';
import { freePort } from '../support/instance.js';

const MODULE = fileURLToPath(new URL('../../src/util/listen-handle.js', import.meta.url));

/** A child process that accepts on the handle it is sent and answers each connection with its pid. */
const CHILD = `
const { acceptOn, isListenHandle } = await import(${JSON.stringify(MODULE)});
process.on('message', (message, handle) => {
  if (!isListenHandle(handle)) { process.send('not a handle'); return; }
  const server = acceptOn(handle, 16, (socket) => { socket.resume(); socket.end(String(process.pid)); });
  server.on('listening', () => process.send('listening'));
  server.on('error', (err) => process.send('error ' + err.message));
});
`;

async function answer(target: { port: number; host: string } | { path: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(target as never);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

async function acceptInChild(handle: ListenHandle): Promise<{ pid: number; stop: () => void }> {
  const child = fork('--input-type=module', ['-e', CHILD], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const reply = new Promise<string>((resolve) => child.once('message', (m) => resolve(String(m))));
  child.send({ type: 'listen' }, handle as never);
  assert.equal(await reply, 'listening');
  return { pid: child.pid as number, stop: () => child.kill() };
}

test('a TCP socket bound here is accepted on by the child it is sent to, never by this process', async () => {
  const port = await freePort();
  const handle = bindTcpHandle('127.0.0.1', port);
  assert.ok(handle.fd > 0);
  const child = await acceptInChild(handle);
  try {
    assert.equal(await answer({ port, host: '127.0.0.1' }), String(child.pid));
    assert.equal(await answer({ port, host: '127.0.0.1' }), String(child.pid));
  } finally {
    child.stop();
    handle.close();
  }
});

test('a TCP port another socket listens on cannot be bound: the error names EADDRINUSE', async () => {
  const other = createServer();
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  const { port } = other.address() as AddressInfo;
  try {
    assert.throws(() => bindTcpHandle('127.0.0.1', port), /EADDRINUSE/);
  } finally {
    other.close();
  }
});

test('a Unix-domain socket bound here is accepted on by the child it is sent to', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-listen-'));
  const path = join(dir, 'service');
  const handle = bindUnixHandle(path);
  const child = await acceptInChild(handle);
  try {
    assert.equal(await answer({ path }), String(child.pid));
  } finally {
    child.stop();
    handle.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

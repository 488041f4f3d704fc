import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { freePort, TestInstance } from '../support/instance.js';

let mx: TestInstance;
let dns: DnsServer;
let port: number;
let silent: Server | undefined;
const held: Socket[] = [];

before(async () => {
  port = await freePort();
  dns = await startDnsServer({ 'hang.test': { a: ['127.0.0.9'] } });
  mx = await TestInstance.createSmtpClient(dns.port, port, {
    smtp_helo_timeout: '60s',
    qmgr_message_active_limit: '2',
    minimal_backoff_time: '1h',
    maximal_backoff_time: '2h',
    queue_run_delay: '1h',
  });
  mx.start();
});

after(async () => {
  mx.remove();
  dns.close();
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => (silent === undefined ? resolve() : silent.close(() => resolve())));
});

function send(to: string): Promise<string> {
  return mx.submit('alice@localhost', [to], `Subject: for ${to}\n\nx\n`);
}

test('a deferred backlog that hangs takes at most half of qmgr_message_active_limit: new mail still goes through', async () => {
  const backlog = [await send('a@hang.test'), await send('b@hang.test'), await send('c@hang.test')];
  for (const id of backlog) await mx.waitForLog(new RegExp(`${id}: to=<[abc]@hang\\.test>.*status=deferred`));
  // Now the destination answers the connection and then says nothing: every delivery to it hangs.
  silent = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent?.listen(port, '127.0.0.9', resolve));
  assert.equal(mx.run('postqueue', ['-f']).status, 0);
  await mx.waitForLog(/from=<alice@localhost>, size=\d+, nrcpt=1 \(queue active\)[\s\S]*from=<alice@localhost>, size=\d+, nrcpt=1 \(queue active\)[\s\S]*from=<alice@localhost>, size=\d+, nrcpt=1 \(queue active\)[\s\S]*from=<alice@localhost>, size=\d+, nrcpt=1 \(queue active\)/);
  const fresh = await send('root@localhost');
  await mx.waitForLog(new RegExp(`${fresh}: to=<root@localhost>, relay=local,.*status=sent`), 10_000);
  assert.equal(held.length, 1, `deferred mail held ${held.length} of the 2 active slots`);
});

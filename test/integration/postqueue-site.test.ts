import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { freePort, TestInstance } from '../support/instance.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;
let dns: DnsServer;
let port: number;
let peer: SmtpPeer | undefined;

before(async () => {
  port = await freePort();
  dns = await startDnsServer({ 'site.test': { a: ['127.0.0.7'] }, 'other.test': { a: ['127.0.0.8'] } });
  // Long backoff: only postqueue -s and -i bring the deferred mail back early.
  mx = await TestInstance.createSmtpClient(dns.port, port, { minimal_backoff_time: '1h', maximal_backoff_time: '2h', queue_run_delay: '1h' });
  mx.start();
});

after(async () => {
  mx.remove();
  dns.close();
  await peer?.close();
});

function send(to: string): Promise<string> {
  return mx.submit('alice@localhost', [to], `Subject: for ${to}\n\nx\n`);
}

function attempts(id: string): number {
  return mx.logText().split(`${id}: to=<`).length - 1;
}

test('a failed destination is dead: its mail waits without attempts; postqueue -s site revives and delivers that site only; postqueue -i ID retries one message', async () => {
  const forSite = await send('a@site.test');
  const forOther = await send('b@other.test');
  await mx.waitForLog(new RegExp(`${forSite}: to=<a@site\\.test>.*status=deferred`));
  await mx.waitForLog(new RegExp(`${forOther}: to=<b@other\\.test>.*status=deferred`));
  // other.test failed once: it is dead now, and new mail for it waits without a delivery attempt.
  const another = await send('c@other.test');
  await mx.waitForLog(new RegExp(`${another}: to=<c@other\\.test>, relay=none,.*dsn=4\\.4\\.0, status=deferred \\(delivery temporarily suspended: connect to other\\.test\\[127\\.0\\.0\\.8\\]:${port}: Connection refused\\)`));
  peer = await startSmtpPeer('127.0.0.7', port);
  const flushed = mx.run('postqueue', ['-s', 'site.test']);
  assert.equal(flushed.status, 0, flushed.stderr);
  await mx.waitForLog(new RegExp(`${forSite}: to=<a@site\\.test>, relay=site\\.test\\[127\\.0\\.0\\.7\\]:${port},.*status=sent`));
  assert.equal(attempts(forOther), 1);
  assert.equal(mx.run('postqueue', ['-i', forOther]).status, 0);
  await waitFor(() => attempts(forOther) >= 2, 'postqueue -i to bring the message back');
  const missing = mx.run('postqueue', ['-i', '0000000000000ABC']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /0000000000000ABC: no such message in the deferred queue/);
});

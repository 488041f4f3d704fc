import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';

let mx: TestInstance;

before(async () => {
  mx = await TestInstance.create('', 'postmaster: root\n', { service_throttle_time: '2s' });
  appendFileSync(join(mx.etc, 'master.cf'), 'broken unix - n n - - local -o append_dot_mydomain=perhaps\nnothere unix - n n - - no-such-daemon\nretry unix - - n - - error\n');
  mx.start();
});

after(() => mx.remove());

test('a service whose workers die at start-up is throttled, with Postfix\'s log lines', async () => {
  await mx.waitForLog(/warning: master\.cf: line \d+: service nothere\/unix: Petrel has no "no-such-daemon" daemon; service not started/);
  await mx.waitForLog(/postfix\/master\[\d+\]: master\.cf: line \d+: service retry\/unix: no process of its own \(qmgr carries out the error and retry transports itself\)/);
  // The listeners are open once the master says it started.
  await mx.waitForLog(/daemon started/);
  const socket = connect(join(mx.queue, 'private', 'broken'));
  socket.on('error', () => undefined);
  const log = await mx.waitForLog(/local-main\.js: bad command startup -- throttling/);
  assert.match(log, /postfix\/master\[\d+\]: warning: process \S+\/local\/local-main\.js pid \d+ exit status 1/);
  assert.match(log, /bad boolean configuration: append_dot_mydomain = perhaps/);
  socket.destroy();
});

test('SIGHUP reload adds a listener and keeps serving', async () => {
  const port = await freePort();
  appendFileSync(join(mx.etc, 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd -o { smtpd_banner = $myhostname ESMTP reloaded }\n`);
  assert.equal(mx.run('petrel', ['reload']).status, 0);
  await mx.waitForLog(/reload -- version/);
  for (let attempt = 0; ; attempt++) {
    try {
      const { client, greeting } = await SmtpClient.open(port);
      assert.equal(greeting, '220 mx.test.example ESMTP reloaded');
      await client.quit();
      break;
    } catch (err) {
      if (attempt > 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const { client, greeting } = await SmtpClient.open(mx.port);
  assert.equal(greeting, '220 mx.test.example ESMTP Petrel');
  await client.quit();
  assert.equal(mx.run('petrel', ['status']).status, 0);
  const second = mx.run('petrel', ['start']);
  assert.equal(second.status, 1);
  assert.match(second.stderr, /already running/);
});

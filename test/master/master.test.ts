import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DAEMON_NODE_FLAGS, MASTER_NODE_FLAGS } from '../../src/master/master-child.js';
import { freePort, TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { absenceWindow } from '../support/wait.js';

let mx: TestInstance;

before(async () => {
  mx = await TestInstance.create('', 'postmaster: root\n', { service_throttle_time: '2s', petrel_io_threads: '12' });
  const masterCf = join(mx.etc, 'master.cf');
  const smtpLine = /^(\S+ +inet +.* smtpd)$/m;
  assert.match(readFileSync(masterCf, 'utf8'), smtpLine);
  writeFileSync(masterCf, readFileSync(masterCf, 'utf8').replace(smtpLine, '$1 -o petrel_io_threads=20'));
  appendFileSync(masterCf, 'broken unix - n n - - local -o append_dot_mydomain=perhaps\nnothere unix - n n - - no-such-daemon\nretry unix - - n - - error\n');
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
  const { client: reloaded, greeting: banner } = await SmtpClient.openWhenListening(port);
  assert.equal(banner, '220 mx.test.example ESMTP reloaded');
  await reloaded.quit();
  const { client, greeting } = await SmtpClient.open(mx.port);
  assert.equal(greeting, '220 mx.test.example ESMTP Petrel');
  await client.quit();
  assert.equal(mx.run('petrel', ['status']).status, 0);
  const second = mx.run('petrel', ['start']);
  assert.equal(second.status, 1);
  assert.match(second.stderr, /already running/);
});

test('smtpd processes accept connections themselves: a client is served while the master is stopped', async () => {
  const master = Number(readFileSync(join(mx.queue, 'pid', 'master.pid'), 'utf8').trim());
  // A first connection makes sure the smtpd process is up before the master is frozen.
  const first = await SmtpClient.open(mx.port);
  await first.client.quit();
  process.kill(master, 'SIGSTOP');
  try {
    const { client, greeting } = await SmtpClient.open(mx.port);
    assert.equal(greeting, '220 mx.test.example ESMTP Petrel');
    assert.match(await client.command('EHLO client.example'), /^250-mx\.test\.example/);
    assert.match(await client.command('MAIL FROM:<a@client.example>'), /^250 /);
    await client.quit();
  } finally {
    process.kill(master, 'SIGCONT');
  }
});

test('an smtpd at its share of maxproc stops accepting: another process takes the next connection, the one after waits', async () => {
  const port = await freePort();
  // maxproc 2 on a 2-CPU machine or more: two processes with one connection each (one process with two on one CPU).
  appendFileSync(join(mx.etc, 'master.cf'), `127.0.0.1:${port} inet n - n - 2 smtpd\n`);
  assert.equal(mx.run('petrel', ['reload']).status, 0);
  const opened: SmtpClient[] = [(await SmtpClient.openWhenListening(port)).client];
  opened.push((await SmtpClient.open(port)).client);
  const sinceReload = mx.logText().split(/reload -- version/).pop() as string;
  const pids = new Set([...sinceReload.matchAll(/smtpd\[(\d+)\]: connect from /g)].map((m) => m[1]));
  assert.equal(pids.size, Math.min(2, availableParallelism()), 'each process took one of the two connections');
  // The third connection is not served while two are open.
  let third: Promise<{ client: SmtpClient; greeting: string }> | undefined = SmtpClient.open(port);
  const early = await Promise.race([third.then(() => 'served'), absenceWindow(1000).then(() => 'waiting')]);
  assert.equal(early, 'waiting');
  await (opened.shift() as SmtpClient).quit();
  const { client, greeting } = await third;
  third = undefined;
  assert.match(greeting, /^220 /);
  await client.quit();
  await (opened.shift() as SmtpClient).quit();
});

test('the master and every worker run with the daemon V8 settings (a bounded young generation), the master alone with its own', () => {
  const master = Number(readFileSync(join(mx.queue, 'pid', 'master.pid'), 'utf8').trim());
  const workers = [...mx.daemonPids('smtpd'), ...mx.daemonPids('qmgr')];
  assert.ok(workers.length >= 2, 'smtpd and qmgr are running');
  const argsOf = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  for (const pid of [master, ...workers]) {
    const args = argsOf(pid);
    for (const flag of DAEMON_NODE_FLAGS) assert.ok(args.includes(flag), `pid ${pid} runs without ${flag}: ${args.join(' ')}`);
  }
  for (const flag of MASTER_NODE_FLAGS) {
    assert.ok(argsOf(master).includes(flag), `the master runs without ${flag}`);
    for (const pid of workers) assert.ok(!argsOf(pid).includes(flag), `worker ${pid} inherited the master's ${flag}`);
  }
});

test('node takes the master\'s and the daemons\' V8 settings without a word on stderr', () => {
  const run = spawnSync(process.execPath, [...DAEMON_NODE_FLAGS, ...MASTER_NODE_FLAGS, '-e', 'process.exit(0)'], { encoding: 'utf8' });
  assert.equal(run.status, 0);
  assert.equal(run.stderr, '');
});

test('each worker gets petrel_io_threads as its thread pool size: main.cf\'s, or its service\'s -o', () => {
  const read = (pid: number, file: string): string[] => readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0');
  const poolSize = (pid: number): string | undefined => read(pid, 'environ').find((entry) => entry.startsWith('UV_THREADPOOL_SIZE='));
  const qmgr = mx.daemonPids('qmgr');
  assert.ok(qmgr.length > 0);
  for (const pid of qmgr) assert.equal(poolSize(pid), 'UV_THREADPOOL_SIZE=12');
  // The first smtp service has the -o; those other tests added have not.
  const smtpd = mx.daemonPids('smtpd').map((pid) => ({ pid, overridden: read(pid, 'cmdline').includes('petrel_io_threads=20') }));
  assert.ok(smtpd.some(({ overridden }) => overridden));
  for (const { pid, overridden } of smtpd) assert.equal(poolSize(pid), `UV_THREADPOOL_SIZE=${overridden ? 20 : 12}`);
});

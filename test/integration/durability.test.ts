/*
 * The durability promise (DESIGN §2): while 2,000 messages go in over 20
 * concurrent SMTP sessions, the master and every worker are killed with
 * SIGKILL at random moments, several rounds, and restarted. Every message
 * that got "250 ... queued" must be delivered; a message may be delivered
 * twice only when it was in flight at a kill (the log shows it entered the
 * active queue more than once).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { waitFor } from '../support/wait.js';

const MESSAGES = 2000;
const SESSIONS = 20;
const KILL_ROUNDS = 4;

let mx: TestInstance | undefined;
after(() => mx?.remove());

function masterPid(instance: TestInstance): number | undefined {
  const text = (() => {
    try {
      return readFileSync(join(instance.queue, 'pid', 'master.pid'), 'utf8');
    } catch {
      return '';
    }
  })();
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Kills the master and its workers; returns their pids. */
function killEverything(instance: TestInstance): number[] {
  const pid = masterPid(instance);
  if (pid === undefined) return [];
  const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map(Number).filter((n) => n > 0);
  const victims = [pid, ...children];
  for (const victim of victims) {
    try {
      process.kill(victim, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return victims;
}

/** Whether pid is a running process (a killed one is gone once its parent reaped it, or a zombie until then). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function sender(instance: TestInstance, next: () => number | undefined, acked: Map<string, string>): Promise<void> {
  let client: SmtpClient | undefined;
  let attempt = 0;
  for (let n = next(); n !== undefined; ) {
    const token = `m${n}a${attempt++}`;
    try {
      if (client === undefined) {
        client = (await SmtpClient.open(instance.port)).client;
        await client.command('EHLO durability.test');
      }
      const reply = await client.send('load@example.org', ['sink@localhost'], `Subject: ${token}\n\n${'x'.repeat(200)}\n${token}\n`);
      const id = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)$/.exec(reply)?.[1];
      if (id !== undefined) {
        acked.set(token, id);
        n = next();
      }
    } catch {
      client = undefined;
      await sleep(50);
    }
  }
  await client?.quit().catch(() => undefined);
}

test('no acknowledged message is lost across SIGKILL rounds of the whole system', { timeout: 300_000 }, async () => {
  const instance = await TestInstance.create('', 'postmaster: root\n', { queue_run_delay: '1s', minimal_backoff_time: '1s' });
  mx = instance;
  instance.start();
  let counter = 0;
  const next = (): number | undefined => (counter < MESSAGES ? counter++ : undefined);
  const acked = new Map<string, string>();
  const senders = Array.from({ length: SESSIONS }, () => sender(instance, next, acked));
  let rounds = 0;
  const killer = (async () => {
    while (rounds < KILL_ROUNDS) {
      // Each round strikes after its share of the messages has been acknowledged (and a random moment more), so all rounds happen.
      const due = ((rounds + 1) * MESSAGES) / (KILL_ROUNDS + 1);
      await waitFor(() => acked.size >= due, `${due} acknowledged messages`, 120_000);
      // The moment of the kill is random on purpose.
      await sleep(Math.random() * 300);
      const victims = killEverything(instance);
      rounds++;
      await waitFor(() => !victims.some(running), 'the killed processes gone');
      instance.start();
    }
  })();
  await Promise.all(senders);
  await killer;
  assert.equal(rounds, KILL_ROUNDS, `only ${rounds} kill rounds happened`);
  assert.equal(acked.size, MESSAGES);

  const deliveredCount = new Map<string, number>();
  const newDir = join(instance.mail, 'sink', 'new');
  const deadline = Date.now() + 120_000;
  for (;;) {
    deliveredCount.clear();
    for (const name of readdirSync(newDir)) {
      const token = /\nSubject: (m\d+a\d+)\n/.exec(readFileSync(join(newDir, name), 'utf8'))?.[1];
      if (token !== undefined) deliveredCount.set(token, (deliveredCount.get(token) ?? 0) + 1);
    }
    const missing = [...acked.keys()].filter((token) => !deliveredCount.has(token));
    if (missing.length === 0) break;
    if (Date.now() > deadline) {
      const ids = missing.slice(0, 5).map((token) => acked.get(token) as string);
      const where = ids.map((id) => `${id}: ${['incoming', 'active', 'deferred', 'hold', 'corrupt'].filter((q) => instance.queued(q).includes(id)).join(',') || 'in no queue'}`);
      const all = instance.logText().split('\n');
      const lines = [...all.filter((line) => ids.some((id) => line.includes(id))), '--- warnings and master lines ---', ...all.filter((line) => /warning|master|fatal/.test(line)).slice(-40)];
      const ps = execFileSync('ps', ['-eo', 'pid,ppid,etime,args'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(instance.root));
      lines.push('--- processes ---', ...ps);
      assert.fail(`${missing.length} acknowledged messages were never delivered: ${where.join('; ')}\n${lines.join('\n')}`);
    }
    await sleep(500);
  }
  const log = instance.logText();
  const duplicates = [...deliveredCount].filter(([token, count]) => count > 1 && acked.has(token));
  for (const [token] of duplicates) {
    const id = acked.get(token) as string;
    const activations = log.split('\n').filter((line) => line.includes(`${id}: from=<`)).length;
    assert.ok(activations > 1, `${token} (${id}) was delivered twice but was never in flight at a kill`);
  }
  process.stderr.write(`durability: ${MESSAGES} acknowledged, ${rounds} SIGKILL rounds, ${duplicates.length} in-flight duplicates\n`);
});

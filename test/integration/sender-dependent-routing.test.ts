/*
 * sender_dependent_relayhost_maps and sender_dependent_default_transport_maps
 * in qmgr's routing: looked up by the envelope sender, then @domain; DUNNO
 * keeps the global relayhost; transport_maps still wins. Two SMTP peers
 * stand for the global relay (B) and a sender's own relay (A).
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, TestInstance } from '../support/instance.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { waitFor } from '../support/wait.js';

let mx: TestInstance;
let peerA: SmtpPeer;
let peerB: SmtpPeer;
let portA: number;
let portB: number;

before(async () => {
  portA = await freePort();
  portB = await freePort();
  peerA = await startSmtpPeer('127.0.0.1', portA, { startTls: false });
  peerB = await startSmtpPeer('127.0.0.1', portB, { startTls: false });
  mx = await TestInstance.create('', 'postmaster: root\n', {
    relayhost: `[127.0.0.1]:${portB}`,
    sender_dependent_relayhost_maps: `inline:{ @one.example=[127.0.0.1]:${portA}, boss@two.example=DUNNO, @two.example=[127.0.0.1]:${portA} }`,
    sender_dependent_default_transport_maps: 'inline:{ @three.example=sink: }',
    transport_maps: `inline:{ fixed.test=smtp:[127.0.0.1]:${portB}, direct.test=smtp: }`,
  });
  appendFileSync(join(mx.etc, 'master.cf'), ['smtp unix - - n - - smtp', 'sink unix - - n - - discard', ''].join('\n'));
  mx.start();
});

after(async () => {
  mx.remove();
  await peerA.close();
  await peerB.close();
});

/** Submits a message from sender to recipient and says which peer got it. */
async function relayedBy(sender: string, recipient: string): Promise<'A' | 'B'> {
  await mx.submit(sender, [recipient], `Subject: from ${sender}\n\nbody\n`);
  const at = (peer: SmtpPeer): boolean => peer.received.some((m) => m.to.includes(recipient));
  await waitFor(() => at(peerA) || at(peerB), `${recipient} at a peer`);
  return at(peerA) ? 'A' : 'B';
}

test('a sender (by @domain) with its own relayhost; others take the global one', async () => {
  assert.equal(await relayedBy('x@one.example', 'r1@remote.test'), 'A');
  assert.equal(await relayedBy('y@other.example', 'r2@remote.test'), 'B');
});

test('DUNNO for the full address keeps the global relayhost, before @domain is looked at', async () => {
  assert.equal(await relayedBy('boss@two.example', 'r3@remote.test'), 'B');
  assert.equal(await relayedBy('staff@two.example', 'r4@remote.test'), 'A');
});

test('transport_maps wins over the sender relayhost', async () => {
  assert.equal(await relayedBy('x@one.example', 'r5@fixed.test'), 'B');
});

test("sender_dependent_default_transport_maps gives the sender's mail another transport", async () => {
  const id = await mx.submit('z@three.example', ['r6@remote.test'], 'Subject: to the sink\n\nbody\n');
  await mx.waitForLog(new RegExp(`${id}: to=<r6@remote\\.test>, relay=none, .*status=sent \\(discarded`));
  assert.equal([...peerA.received, ...peerB.received].some((m) => m.to.includes('r6@remote.test')), false);
});

test('a route a sender table answers is not cached for the recipient: the same recipient from another sender takes the global relayhost, and back', async () => {
  assert.equal(await relayedBy('x@one.example', 'same@remote.test'), 'A');
  const before = peerB.received.length;
  await mx.submit('y@other.example', ['same@remote.test'], 'Subject: again\n\nbody\n');
  await waitFor(() => peerB.received.length === before + 1, 'the second message at B');
  const beforeA = peerA.received.length;
  await mx.submit('x@one.example', ['same@remote.test'], 'Subject: and again\n\nbody\n');
  await waitFor(() => peerA.received.length === beforeA + 1, 'the third message at A');
});

test('a sender address with an extension finds its entry without it (Postfix\'s search order)', async () => {
  assert.equal(await relayedBy('x+tag@one.example', 'r8@remote.test'), 'A');
});

test('transport_maps "smtp:" with an empty next hop sends to the recipient domain, not to relayhost', async () => {
  const id = await mx.submit('y@other.example', ['r7@direct.test'], 'Subject: direct\n\nbody\n');
  await mx.waitForLog(new RegExp(`${id}: to=<r7@direct\\.test>, relay=none, `));
  assert.equal([...peerA.received, ...peerB.received].some((m) => m.to.includes('r7@direct.test')), false);
});

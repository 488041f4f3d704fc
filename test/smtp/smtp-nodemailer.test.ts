/*
 * Tests of smtp-nodemailer: every nodemailer internal Petrel hooks exists in
 * the installed version (an upgrade that drops one fails here, by name),
 * and a hook refuses, loudly, a connection that lacks its member.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { freePort } from '../support/instance.js';
import { startSmtpPeer } from '../support/smtp-peer.js';
import { HOOKED_MEMBERS, hookLmtpReplies, hookRcptParams, hookTlsSocket, missingMembers, serverAnnouncesAuth, serverAuthMechanisms, serverExtensions } from '../../src/smtp/smtp-nodemailer.js';

test('the installed nodemailer has every member the hooks patch', () => {
  assert.deepEqual(missingMembers(), [], `nodemailer's SMTPConnection lost ${missingMembers().join(', ')}: rework src/smtp/smtp-nodemailer.ts`);
  assert.ok(HOOKED_MEMBERS.includes('_upgradeConnection'));
  const connection = new SMTPConnection({ host: '127.0.0.1', port: 1 });
  assert.ok(Array.isArray((connection as unknown as { _supportedExtensions?: unknown })._supportedExtensions), 'SMTPConnection._supportedExtensions is gone');
  assert.deepEqual(serverExtensions(connection), []);
  assert.ok(Array.isArray((connection as unknown as { _supportedAuth?: unknown })._supportedAuth), 'SMTPConnection._supportedAuth is gone');
  assert.deepEqual(serverAuthMechanisms(connection), []);
  hookRcptParams(connection, () => ' NOTIFY=NEVER');
  hookLmtpReplies(connection, () => undefined);
  hookTlsSocket(connection, () => undefined);
  assert.equal((connection as unknown as { _getDsnRcptToArgs: () => string })._getDsnRcptToArgs(), ' NOTIFY=NEVER');
});

test('a hook on a connection without its member throws, naming the member', () => {
  for (const [hook, member] of [
    [(c: SMTPConnection) => hookTlsSocket(c, () => undefined), '_upgradeConnection'],
    [(c: SMTPConnection) => hookLmtpReplies(c, () => undefined), '_actionLMTPStream'],
    [(c: SMTPConnection) => hookRcptParams(c, () => ''), '_getDsnRcptToArgs'],
  ] as const) {
    const connection = new SMTPConnection({ host: '127.0.0.1', port: 1 });
    Object.defineProperty(connection, member, { value: undefined });
    assert.throws(() => hook(connection), new RegExp(`no SMTPConnection\\.${member}`));
  }
});

test("after EHLO, nodemailer keeps the reply's lines where serverAnnouncesAuth reads them (a server with AUTH), and the mechanisms", async () => {
  const port = await freePort();
  const peer = await startSmtpPeer('127.0.0.1', port, { startTls: false });
  const connection = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true });
  try {
    assert.equal(serverAnnouncesAuth(connection), false);
    await new Promise<void>((resolve, reject) => connection.connect((err) => (err ? reject(err) : resolve())));
    assert.equal(serverAnnouncesAuth(connection), true, "SMTPConnection._ehloLines is gone or changed: rework serverAnnouncesAuth in src/smtp/smtp-nodemailer.ts");
    assert.deepEqual(serverAuthMechanisms(connection), ['PLAIN', 'LOGIN']);
  } finally {
    connection.close();
    await peer.close();
  }
});

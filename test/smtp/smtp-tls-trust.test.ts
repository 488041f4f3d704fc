/*
 * Tests of smtp-tls-trust: smtp_tls_CApath read once with what cannot be
 * used skipped, smtp_tls_CAfile beside it, a directory that cannot be read
 * or holds no certificate refused, and the contexts really verifying a
 * server (a node:tls server with a certificate from the test CA).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, createServer, type Server } from 'node:tls';
import { ClientTrust } from '../../src/smtp/smtp-tls-trust.js';
import { makeTestPki, type TestPki } from '../support/tls-cert.js';

let pki: TestPki;
let dir: string;
let server: Server;
let port: number;

before(async () => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'petrel-capath-'));
  copyFileSync(pki.caCert, join(dir, 'petrel-test-ca.pem'));
  // The same certificate under its hash name, as c_rehash links it.
  symlinkSync(join(dir, 'petrel-test-ca.pem'), join(dir, 'abcd1234.0'));
  writeFileSync(join(dir, 'README'), 'not a certificate\n');
  symlinkSync(join(dir, 'missing.pem'), join(dir, 'dangling.pem'));
  mkdirSync(join(dir, 'subdir'));
  server = createServer({ key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert) }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(pki.dir, { recursive: true, force: true });
});

/** TLS 1.2 and 1.3. */
const TLS12_UP = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const;

/** Connects with trust's context; resolves to the authorization error, or "" when the server was verified. */
function verifyWith(trust: ClientTrust): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'mx.test.example', secureContext: trust.context(TLS12_UP, 'HIGH'), rejectUnauthorized: false }, () => {
      resolve(socket.authorized ? '' : String(socket.authorizationError));
      socket.destroy();
    });
    socket.on('error', (err) => resolve(err.message));
  });
}

test('smtp_tls_CApath: the certificates of the readable PEM files, each once; other entries skipped', async () => {
  const trust = ClientTrust.load('smtp', '', dir);
  assert.equal(trust.count, 1);
  assert.notEqual(trust.id, 'system');
  assert.equal(await verifyWith(trust), '');
});

test('smtp_tls_CAfile and smtp_tls_CApath together; neither set is the built-in store, which does not know the test CA', async () => {
  const both = ClientTrust.load('smtp', pki.caCert, dir);
  assert.equal(both.count, 1);
  assert.equal(await verifyWith(both), '');
  const system = ClientTrust.load('smtp', '', '');
  assert.equal(system.id, 'system');
  assert.match(await verifyWith(system), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
  assert.strictEqual(system.context(TLS12_UP, 'HIGH'), system.context({ ...TLS12_UP }, 'HIGH'), 'one context per version range and cipher list, built once');
  assert.notStrictEqual(system.context(TLS12_UP, 'HIGH'), system.context({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }, 'HIGH'));
  assert.notStrictEqual(system.context(TLS12_UP, 'HIGH'), system.context(TLS12_UP, 'HIGH:!AES128'));
});

test('a CA directory that cannot be read, or holds no certificate, is a configuration error naming the parameter', () => {
  assert.throws(() => ClientTrust.load('smtp', '', join(dir, 'nonexistent')), /smtp_tls_CApath: cannot read .*nonexistent: ENOENT/);
  assert.throws(() => ClientTrust.load('lmtp', '', join(dir, 'subdir')), /lmtp_tls_CApath: no certificates in/);
  assert.throws(() => ClientTrust.load('smtp', join(dir, 'README'), ''), /smtp_tls_CAfile: no certificates in/);
  assert.throws(() => ClientTrust.load('smtp', join(dir, 'nonexistent.pem'), ''), /smtp_tls_CAfile: cannot read/);
});

/*
 * mysql: tables over TLS, against a private MariaDB started here (Debian's
 * mariadbd on a temporary data directory and a free loopback port, with a
 * test CA's server certificate for mx.test.example, no grant tables): a
 * CA (file or directory) gives a verified TLS session, no tls_* setting
 * gives none, a server certificate from another CA or for another name
 * (tls_verify_cert) is refused as a temporary error.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { needFile } from '../../support/need.js';
import { makeTestPki, type TestPki } from '../../support/tls-cert.js';
import { isTemporaryFailure, lookupAll, openWith } from './sql-table-suite.js';
import { closedPort, serverUp } from './sql-test-support.js';

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';
const skip = needFile(MARIADBD, 'a private MariaDB with TLS') || needFile(INSTALL_DB, 'a private MariaDB with TLS');
/** Answers the session's TLS version, empty without TLS. */
const query = "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version' AND '%s' <> ''";

let dir = '';
let pki: TestPki;
let port = 0;
let server: ChildProcess | undefined;

before(async () => {
  if (skip !== false) return;
  dir = mkdtempSync(join(tmpdir(), 'petrel-mysql-tls-'));
  pki = makeTestPki();
  const data = join(dir, 'data');
  const install = spawnSync(INSTALL_DB, ['--no-defaults', `--datadir=${data}`, '--user=root', '--skip-test-db', '--auth-root-authentication-method=normal'], { encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
  port = await closedPort();
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${join(dir, 'mysqld.sock')}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--user=root',
    '--skip-grant-tables',
    `--ssl-ca=${pki.caCert}`,
    `--ssl-cert=${pki.serverCert}`,
    `--ssl-key=${pki.serverKey}`,
  ];
  server = spawn(MARIADBD, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  for (let waited = 0; !(await serverUp(port)); waited += 200) {
    if (server.exitCode !== null || waited > 30_000) throw new Error(`mariadbd did not start: ${stderr}`);
    await sleep(200);
  }
});
after(async () => {
  const child = server;
  if (child !== undefined && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  if (pki !== undefined) rmSync(pki.dir, { recursive: true, force: true });
});

const settings = (extra: Record<string, string>): Record<string, string> => ({ hosts: `127.0.0.1:${port}`, user: 'root', dbname: 'mysql', query, ...extra });

test('mysql TLS: tls_CAfile or tls_CApath gives a TLS session whose certificate chain was verified', { skip }, async () => {
  const [viaFile] = await lookupAll('mysql', dir, settings({ tls_CAfile: pki.caCert }), ['k']);
  assert.match(viaFile ?? '', /^TLSv1\.[23]$/);
  const [viaDirectory] = await lookupAll('mysql', dir, settings({ tls_CApath: pki.dir }), ['k']);
  assert.match(viaDirectory ?? '', /^TLSv1\.[23]$/);
  const [withClientCert] = await lookupAll('mysql', dir, settings({ tls_CAfile: pki.caCert, tls_cert_file: pki.clientCert, tls_key_file: pki.clientKey }), ['k']);
  assert.match(withClientCert ?? '', /^TLSv1\.[23]$/);
});

test('mysql TLS: without tls_* settings the session is not encrypted', { skip }, async () => {
  assert.deepEqual(await lookupAll('mysql', dir, settings({ option_group: '' }), ['k']), [undefined]);
});

test('mysql TLS: a certificate from another CA, or for another name with tls_verify_cert, is a temporary error', { skip }, async () => {
  const cases: Record<string, string>[] = [
    { tls_CAfile: pki.clientCert },
    { tls_CAfile: pki.caCert, tls_verify_cert: 'yes', hosts: `localhost:${port}` },
  ];
  for (const extra of cases) {
    const table = await openWith('mysql', dir, settings(extra));
    try {
      await assert.rejects(table.lookup('k'), (err: unknown) => isTemporaryFailure(err) && /certificate|altnames/.test((err as Error).message), JSON.stringify(extra));
    } finally {
      await table.close();
    }
  }
});

test('mysql TLS: tls_verify_cert with an address in hosts is refused when the table is opened', { skip }, async () => {
  await assert.rejects(openWith('mysql', dir, settings({ tls_CAfile: pki.caCert, tls_verify_cert: 'yes' })), /tls_verify_cert = yes needs host names in hosts/);
});

/*
 * Tests of smtp-tls-cache: entries stored with their expiry and found
 * again, expired ones ignored and removed, a cache that cannot be opened
 * logged and done without, table types that are not LMDB files refused;
 * and TLS session resumption end to end: a Petrel instance delivers twice
 * (with smtp processes started afresh in between) to a STARTTLS server
 * with a certificate from a test CA, verified through smtp_tls_CApath, and
 * the server sees the second handshake resume the first one's session.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../../src/global/config/load-config.js';
import { acquireIndexedFile, dumpIndexedFile, releaseIndexedFile } from '../../src/global/tables/table-lmdb.js';
import { sessionKeyText, TlsSessionCache, type SessionKey } from '../../src/smtp/smtp-tls-cache.js';
import { captureMessages } from '../../src/util/msg.js';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { freePort, TestInstance } from '../support/instance.js';
import { makeTestPki, type TestPki } from '../support/tls-cert.js';
import { waitFor } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-scache-'));
writeFileSync(join(dir, 'main.cf'), '');

function params(overrides: Record<string, string>) {
  return loadConfig({ configDir: dir, overrides }).params;
}

const KEY: SessionKey = { nexthop: 'Example.COM', address: '192.0.2.1', port: 25, level: 'verify', servername: 'mx.example.com', protocols: 'TLSv1.2-TLSv1.3', ciphers: 'HIGH', trust: 'system' };

test('a stored session is found again under the same policy only; an expired entry is ignored and removed', async () => {
  const file = join(dir, 'scache.db');
  const cache = TlsSessionCache.open(params({ smtp_tls_session_cache_database: `btree:${join(dir, 'scache')}` }), false);
  assert.ok(cache !== undefined);
  assert.equal(cache.file, file);
  const slot = cache.slot(KEY);
  assert.equal(slot.load(), undefined);
  slot.save(Buffer.from('session one'));
  await waitFor(() => slot.load()?.toString() === 'session one', 'the saved session in the cache');
  assert.equal(cache.slot({ ...KEY, level: 'may', servername: undefined }).load(), undefined, 'a session from another policy is not offered');
  assert.equal(cache.slot({ ...KEY, trust: '0123456789abcdef' }).load(), undefined, 'nor one verified against other authorities');
  const [[key, value]] = [...dumpIndexedFile(file)] as [[string, string]];
  assert.equal(key, 'example.com&192.0.2.1:25&verify&mx.example.com&tlsv1.2-tlsv1.3&b43e72ee&system');
  const expires = Number(value.split(' ')[0]);
  assert.ok(Math.abs(expires - (Date.now() + 3600_000)) < 5000, 'expires after smtp_tls_session_cache_timeout (3600s)');
  // Another process's entry that has run out.
  const db = acquireIndexedFile(file, true);
  await db.put(key, `${Date.now() - 1000} ${Buffer.from('old').toString('base64')}`);
  await db.put('stale&key', `${Date.now() - 1000} AAAA`);
  await releaseIndexedFile(file);
  assert.equal(slot.load(), undefined);
  await waitFor(() => [...dumpIndexedFile(file)].length === 1, 'the expired entry removed');
  assert.deepEqual([...dumpIndexedFile(file)].map(([k]) => k), ['stale&key']);
  // A process that opens the cache sweeps what has expired.
  assert.ok(TlsSessionCache.open(params({ smtp_tls_session_cache_database: `btree:${join(dir, 'scache')}` }), false));
  await waitFor(() => [...dumpIndexedFile(file)].length === 0, 'the sweep of the expired entry');
});

test('no cache when none is configured or the timeout is 0; a timeout under 2 minutes counts as 2 minutes', async () => {
  assert.equal(TlsSessionCache.open(params({}), false), undefined);
  assert.equal(TlsSessionCache.open(params({ smtp_tls_session_cache_database: `lmdb:${join(dir, 'off')}`, smtp_tls_session_cache_timeout: '0' }), false), undefined);
  assert.equal(TlsSessionCache.open(params({ smtp_tls_session_cache_database: `lmdb:${join(dir, 'other')}` }), true), undefined, 'lmtp reads its own parameter');
  const short = TlsSessionCache.open(params({ lmtp_tls_session_cache_database: `lmdb:${join(dir, 'short')}`, lmtp_tls_session_cache_timeout: '10s' }), true);
  assert.equal(short?.file, join(dir, 'short.lmdb'));
  short.slot(KEY).save(Buffer.from('x'));
  await waitFor(() => [...dumpIndexedFile(join(dir, 'short.lmdb'))].length > 0, 'the saved session in the cache');
  const [[, value]] = [...dumpIndexedFile(join(dir, 'short.lmdb'))] as [[string, string]];
  assert.ok(Math.abs(Number(value.split(' ')[0]) - (Date.now() + 120_000)) < 5000);
});

test('a cache that is not an LMDB file is refused; one that cannot be opened is logged and done without', () => {
  assert.throws(() => TlsSessionCache.open(params({ smtp_tls_session_cache_database: 'redis:/etc/postfix/x.cf' }), false), /smtp_tls_session_cache_database: unsupported cache "redis:\/etc\/postfix\/x\.cf"/);
  assert.throws(() => TlsSessionCache.open(params({ smtp_tls_session_cache_database: 'btree:' }), false), /unsupported cache/);
  const { result, messages } = captureMessages(() => TlsSessionCache.open(params({ smtp_tls_session_cache_database: `btree:${join(dir, 'no', 'such', 'dir', 'scache')}` }), false));
  assert.equal(result, undefined);
  assert.match(messages.join('\n'), /warning: cannot open TLS session cache .*no\/such\/dir\/scache\.db: .*; TLS sessions are not cached/);
});

test('the key text joins next hop, address:port and the policy, lower-cased', () => {
  assert.equal(sessionKeyText({ ...KEY, protocols: 'TLSv1.3-TLSv1.3', trust: 'AB' }), 'example.com&192.0.2.1:25&verify&mx.example.com&tlsv1.3-tlsv1.3&b43e72ee&ab');
});

let pki: TestPki;
let dns: DnsServer;
let peer: SMTPServer;
let mx: TestInstance;
let port: number;
/** Per STARTTLS handshake on the peer: was the session resumed? */
const resumed: boolean[] = [];
let received = 0;

before(async () => {
  pki = makeTestPki();
  port = await freePort();
  dns = await startDnsServer({
    'peer.test': { mx: [{ preference: 10, exchange: 'mx.test.example' }] },
    'may.test': { mx: [{ preference: 10, exchange: 'mx.test.example' }] },
    'mx.test.example': { a: ['127.0.0.2'] },
  });
  peer = new SMTPServer({
    key: readFileSync(pki.serverKey),
    cert: readFileSync(pki.serverCert),
    authOptional: true,
    logger: false,
    onSecure(socket, _session, callback) {
      resumed.push((socket as TLSSocket).isSessionReused());
      callback();
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        received++;
        callback();
      });
    },
  });
  peer.on('error', () => undefined);
  await new Promise<void>((resolve) => peer.listen(port, '127.0.0.2', resolve));
  const caDir = join(pki.dir, 'certs');
  mkdirSync(caDir);
  copyFileSync(pki.caCert, join(caDir, 'test-ca.pem'));
  writeFileSync(join(caDir, 'README'), 'not a certificate\n');
  mx = await TestInstance.createSmtpClient(dns.port, port, {
    myhostname: 'out.test.example',
    data_directory: '$queue_directory/../data',
    smtp_tls_security_level: 'verify',
    smtp_tls_loglevel: '1',
    smtp_tls_policy_maps: 'inline:{ may.test=may }',
    smtp_tls_CApath: caDir,
    smtp_tls_session_cache_database: 'btree:${data_directory}/smtp_scache',
    smtp_connection_cache_time_limit: '0s',
  });
  // petrel start does not create data_directory yet.
  mkdirSync(join(mx.root, 'data'));
  mx.start();
});

after(async () => {
  mx.remove();
  dns.close();
  await new Promise<void>((resolve) => peer.close(() => resolve()));
  rmSync(pki.dir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

test('a second delivery, by smtp processes started afresh, resumes the TLS session the first one cached', async () => {
  const first = await mx.submit('alice@localhost', ['bob@peer.test'], 'Subject: one\n\nfirst\n');
  await mx.waitForLog(new RegExp(`${first}: to=<bob@peer\\.test>, relay=mx\\.test\\.example\\[127\\.0\\.0\\.2\\]:${port},.*status=sent`));
  assert.match(mx.logText(), new RegExp(`Verified TLS connection established to mx\\.test\\.example\\[127\\.0\\.0\\.2\\]:${port}: TLSv1\\.3 with cipher \\S+`));
  const file = join(mx.root, 'data', 'smtp_scache.db');
  await waitFor(() => existsSync(file) && [...dumpIndexedFile(file)].length > 0, 'the session in the cache file');
  const keys = [...dumpIndexedFile(file)].map(([key]) => key);
  assert.equal(keys.length, 1);
  assert.match(keys[0] as string, new RegExp(`^peer\\.test&127\\.0\\.0\\.2:${port}&verify&mx\\.test\\.example&tlsv1\\.2-tlsv1\\.3&[0-9a-f]{8}&[0-9a-f]{16}$`));
  mx.stop();
  mx.start();
  const second = await mx.submit('alice@localhost', ['carol@peer.test'], 'Subject: two\n\nsecond\n');
  await mx.waitForLog(new RegExp(`${second}: to=<carol@peer\\.test>,.*status=sent`));
  assert.deepEqual(resumed, [false, true], 'the first handshake is full, the second resumed');
  assert.equal(received, 2);
});

test('another policy for the same server (may: the chain checked, the name not) does not resume it, and is logged as Trusted', async () => {
  const id = await mx.submit('alice@localhost', ['dan@may.test'], 'Subject: three\n\nthird\n');
  await mx.waitForLog(new RegExp(`${id}: to=<dan@may\\.test>,.*status=sent`));
  assert.deepEqual(resumed, [false, true, false]);
  assert.match(mx.logText(), new RegExp(`Trusted TLS connection established to mx\\.test\\.example\\[127\\.0\\.0\\.2\\]:${port}: TLSv1\\.3`));
});

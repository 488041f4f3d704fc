/*
 * Debian's default configuration, built as the postfix package's postinst
 * builds it for an "Internet with smarthost" answer: main.cf.debian, then
 * main.cf.tls (appended when the snakeoil key exists: here a self-signed
 * certificate made the way make-ssl-cert makes it), then the postconf -e
 * settings of the debconf answers; master.cf is master.cf.dist. Only the
 * paths (queue, data, spool, log, certificate), the owner and the listening
 * address are pointed into a temporary folder. Petrel must take it as it
 * is: petrel check passes with no parameter refused or unused, petrel
 * start starts, STARTTLS works for mail coming in, and mail going out to
 * the smarthost uses STARTTLS with smtp_tls_CApath=/etc/ssl/certs and
 * caches its session in smtp_tls_session_cache_database.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dumpIndexedFile } from '../../src/global/tables/table-lmdb.js';
import { needFile } from '../support/need.js';
import { runPetrel, type CommandResult } from '../support/run-command.js';
import { freePort } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { waitFor } from '../support/wait.js';

const SHARE = '/usr/share/postfix';
const skip = needFile(join(SHARE, 'main.cf.tls'), "the postfix package's default main.cf, main.cf.tls and master.cf.dist");

let root: string;
let etc: string;
let port: number;
let relay: SmtpPeer;
let checked: CommandResult;
let started: CommandResult;

/** postconf -e: replaces the setting of name (with its continuation lines), or appends it. */
function postconfEdit(text: string, name: string, value: string): string {
  const line = new RegExp(`^${name}[ \\t]*=.*(?:\\n[ \\t]+.*)*$`, 'm');
  return line.test(text) ? text.replace(line, () => `${name} = ${value}`) : `${text.replace(/\n*$/, '\n')}${name} = ${value}\n`;
}

function log(): string {
  const file = join(root, 'maillog');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

async function waitForLog(pattern: RegExp): Promise<string> {
  try {
    return await waitFor(() => pattern.test(log()) && log(), `the log to match ${pattern}`);
  } catch (err) {
    throw new Error(`${(err as Error).message}:\n${log()}`);
  }
}

before(async () => {
  if (skip !== false) return;
  root = mkdtempSync(join(tmpdir(), 'petrel-debian-'));
  etc = join(root, 'etc');
  mkdirSync(etc);
  port = await freePort();
  const relayPort = await freePort();
  relay = await startSmtpPeer('127.0.0.2', relayPort);
  // make-ssl-cert's snakeoil: a self-signed RSA certificate for the host name.
  const snakeKey = join(root, 'ssl-cert-snakeoil.key');
  const snakeCert = join(root, 'ssl-cert-snakeoil.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=mx.test.example', '-keyout', snakeKey, '-out', snakeCert], { stdio: 'ignore' });
  let main = readFileSync(join(SHARE, 'main.cf.debian'), 'utf8') + readFileSync(join(SHARE, 'main.cf.tls'), 'utf8');
  const settings: [string, string][] = [
    // What postinst sets for a new configuration and the debconf answers.
    ['smtpd_relay_restrictions', 'permit_mynetworks permit_sasl_authenticated defer_unauth_destination'],
    ['myhostname', 'mx.test.example'],
    ['alias_maps', `hash:${join(etc, 'aliases')}`],
    ['alias_database', `hash:${join(etc, 'aliases')}`],
    ['mydestination', '$myhostname, mx.test.example, localhost.test.example, localhost'],
    ['relayhost', `[127.0.0.2]:${relayPort}`],
    ['mynetworks', '127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128'],
    ['mailbox_size_limit', '0'],
    ['recipient_delimiter', '+'],
    ['inet_interfaces', 'all'],
    ['inet_protocols', 'all'],
    // The test's own folder instead of /var and /etc/ssl.
    ['queue_directory', join(root, 'queue')],
    ['data_directory', join(root, 'data')],
    ['mail_spool_directory', `${join(root, 'mail')}/`],
    ['maillog_file', join(root, 'maillog')],
    ['mail_owner', userInfo().username],
    ['smtpd_tls_cert_file', snakeCert],
    ['smtpd_tls_key_file', snakeKey],
  ];
  for (const [name, value] of settings) main = postconfEdit(main, name, value);
  writeFileSync(join(etc, 'main.cf'), main);
  writeFileSync(join(etc, 'master.cf'), readFileSync(join(SHARE, 'master.cf.dist'), 'utf8').replace(/^smtp(\s+)inet/m, `127.0.0.1:${port}$1inet`));
  writeFileSync(join(etc, 'aliases'), 'postmaster: root\n');
  assert.equal(runPetrel('newaliases', ['-c', etc]).status, 0);
  // petrel start does not create data_directory yet.
  mkdirSync(join(root, 'data'));
  checked = runPetrel('petrel', ['-c', etc, 'check']);
  started = runPetrel('petrel', ['-c', etc, 'start']);
});

after(async () => {
  if (skip !== false) return;
  runPetrel('petrel', ['-c', etc, 'stop']);
  await relay.close();
  rmSync(root, { recursive: true, force: true });
});

test('petrel check passes with nothing refused and no unused parameter', { skip }, () => {
  assert.equal(checked.status, 0, checked.stderr);
  const main = readFileSync(join(etc, 'main.cf'), 'utf8');
  assert.match(main, /^smtp_tls_CApath=\/etc\/ssl\/certs$/m);
  assert.match(main, /^smtp_tls_session_cache_database = btree:\$\{data_directory\}\/smtp_scache$/m);
  const text = checked.stdout + checked.stderr;
  assert.doesNotMatch(text, /parameter|error:/i);
});

test('petrel start starts; STARTTLS takes mail in, and the mail leaves for the smarthost over STARTTLS with its session cached', { skip }, async () => {
  assert.equal(started.status, 0, started.stderr);
  await waitForLog(/daemon started/);
  const { client, greeting } = await SmtpClient.open(port);
  assert.match(greeting, /^220 mx\.test\.example ESMTP Petrel \(Debian\/GNU\)/);
  assert.match(await client.command('EHLO client.example'), /250-STARTTLS/);
  const socket = await client.startTls({ rejectUnauthorized: false, servername: 'mx.test.example' });
  assert.equal(socket.getPeerCertificate().subject.CN, 'mx.test.example');
  await client.command('EHLO client.example');
  const reply = await client.send('alice@client.example', ['bob@remote.example'], 'Subject: debian\n\nover TLS both ways\n');
  await client.quit();
  const id = /queued as ([0-9A-Z]+)/.exec(reply)?.[1];
  assert.ok(id, reply);
  await waitForLog(new RegExp(`${id}: to=<bob@remote\\.example>, relay=127\\.0\\.0\\.2\\[127\\.0\\.0\\.2\\]:\\d+,.*status=sent`));
  // Debian's main.cf leaves smtp_tls_loglevel at 0: no TLS line in the log, so the smarthost says it was encrypted.
  assert.ok(relay.received.some((m) => m.to.includes('bob@remote.example') && m.secure));
  assert.doesNotMatch(log(), /TLS connection established to/);
  const got = relay.received.find((m) => m.data.includes('over TLS both ways'));
  assert.ok(got?.secure, 'the smarthost got the mail over TLS');
  const cache = join(root, 'data', 'smtp_scache.db');
  await waitFor(() => existsSync(cache) && [...dumpIndexedFile(cache)].length > 0, 'the session in the cache file');
  assert.equal([...dumpIndexedFile(cache)].length, 1);
  assert.doesNotMatch(log(), /unused parameter|does not implement|TLS session cache|fatal|panic/);
});

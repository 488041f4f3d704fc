import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { needFile } from '../support/need.js';
import { runPetrel, runProgram } from '../support/run-command.js';

const POSTMAP = '/usr/sbin/postmap';
const POSTALIAS = '/usr/sbin/postalias';
const skip = needFile(POSTMAP, "Debian's postfix is the reference for postmap's answers") || needFile('/usr/lib/postfix/postfix-pcre.so', "Debian's postfix-pcre answers pcre: queries");
const work = mkdtempSync(join(tmpdir(), 'petrel-postmap-'));
after(() => rmSync(work, { recursive: true }));

const FILES: Record<string, string> = {
  'main.cf': 'default_database_type = hash\n',
  access: '# access(5)\nexample.com OK\nSpammer@Example.NET REJECT go away\nuser@ 550 no\n  continued\n192.168.1 DUNNO\ndup first\ndup second\n',
  'access.regexp': String.raw`/^(.*)@example\.com$/   user=$1 domain=$` + String.raw`{1}x $$ $(1)
!/@/                      no-at
if /^owner-/
/^owner-(.*)@/            OWNER $1
endif
/UPPER/i                  case-sensitive
~[[:digit:]]{3}~          three-digits
/^[[:alpha:]]+\+([a-z]+)@/  ext=$1
/^x\(y\)$/x                basic $1
`,
  'checks.pcre': String.raw`/^Subject:.*viagra/        REJECT spam
/^From:\s+(\S+)@example\.com$/  INFO from $1
/^(a+?)(a*)$/                lazy $1|$2
/^(a+)(a*)z$/U               ungreedy $1|$2
/x y/x                       extended
/^Case$/i                    sensitive
/^\d{2,}$/                    digits
`,
  'clients.cidr': '192.168.1.1 one\n192.168.1.0/24 net\n10.0.0.0/8 ten\n[2001:db8::]/32 v6net\n!172.16.0.0/12 not-private\n',
  aliases: 'Postmaster: root\n"weird name": root\nlist: "|/usr/bin/foo  -x a,b" ,  user1,\n  user2,:include:/etc/list.txt\nfile: /var/log/mail.txt\nz: a@b   (comment)   ,d\nnocolon value\n',
};

function instance(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const [file, text] of Object.entries(FILES)) writeFileSync(join(dir, file), text);
  return dir;
}

const petrelDir = instance('petrel');
const postfixDir = instance('postfix');

function compare(command: 'postmap' | 'postalias', args: (dir: string) => string[], input?: string): void {
  const petrel = runPetrel(command, ['-c', petrelDir, ...args(petrelDir)], input);
  const postfix = runProgram(command === 'postmap' ? POSTMAP : POSTALIAS, ['-c', postfixDir, ...args(postfixDir)], input);
  const label = `${command} ${args('DIR').join(' ')}`;
  assert.equal(petrel.stdout, postfix.stdout, label);
  assert.equal(petrel.status, postfix.status, label);
}

test('queries give Postfix\'s answers and exit status', { skip }, () => {
  for (const args of [[], ['hash:']]) {
    const prefix = args[0] ?? '';
    assert.equal(runPetrel('postmap', ['-c', petrelDir, `${prefix}${join(petrelDir, 'access')}`]).status, 0);
    assert.equal(runProgram(POSTMAP, ['-c', postfixDir, `${prefix}${join(postfixDir, 'access')}`]).status, 0);
  }
  const keys = {
    access: ['example.com', 'EXAMPLE.COM', 'spammer@example.net', 'user@', 'dup', 'missing'],
    'access.regexp': ['joe@example.com', 'JOE@EXAMPLE.COM', 'plain', 'owner-list@x.org', 'UPPER@x', 'upper@x', 'x123@y', 'bob+tag@x', 'xy', 'a@b'],
    'checks.pcre': ['Subject: cheap VIAGRA now', 'From:  joe@example.com', 'aaaa', 'aaaz', 'xy', 'Case', 'case', '12', '1'],
    'clients.cidr': ['192.168.1.1', '192.168.1.7', '10.9.8.7', '2001:db8::1', '172.16.0.1', '8.8.8.8', 'junk'],
  };
  for (const [file, list] of Object.entries(keys)) {
    const type = file === 'access' ? 'hash' : file === 'access.regexp' ? 'regexp' : file === 'checks.pcre' ? 'pcre' : 'cidr';
    for (const key of list) compare('postmap', (dir) => ['-q', key, `${type}:${join(dir, file)}`]);
    compare('postmap', (dir) => ['-q', '-', `${type}:${join(dir, file)}`], `${list.join('\n')}\n`);
  }
  for (const key of ['k', 'K', 'q']) {
    compare('postmap', () => ['-q', key, 'inline:{k=1, {q = two words}}']);
    compare('postmap', () => ['-fq', key, 'inline:{k=1}']);
    compare('postmap', () => ['-q', key, 'unionmap:{inline:{k=1},static:two}']);
    compare('postmap', () => ['-q', key, 'pipemap:{inline:{k=1},inline:{1=final}}']);
    compare('postmap', () => ['-q', key, 'static:{ a b }']);
  }
  compare('postmap', (dir) => ['-q', 'missing', `hash:${join(dir, 'access')}`, `texthash:${join(dir, 'access')}`, 'static:fallback']);
  compare('postmap', () => ['-q', 'x', 'fail:x']);
  compare('postmap', (dir) => ['-q', 'x', `hash:${join(dir, 'nonexistent')}`]);
});

test('builds, dumps, deletions and incremental updates behave as Postfix\'s', { skip }, () => {
  const sorted = (text: string): string => text.split('\n').sort().join('\n');
  for (const dir of [petrelDir, postfixDir]) writeFileSync(join(dir, 'edit'), 'a 1\nb 2\n');
  compare('postmap', (dir) => [join(dir, 'edit')]);
  const dump = (command: string, dir: string): string => sorted(runProgram(command, ['-c', dir, '-s', join(dir, 'edit')]).stdout);
  assert.equal(dump(join(process.cwd(), 'bin', 'postmap'), petrelDir), dump(POSTMAP, postfixDir));
  compare('postmap', (dir) => ['-i', `hash:${join(dir, 'edit')}`], 'a 9\nc 3\n');
  compare('postmap', (dir) => ['-q', 'a', join(dir, 'edit')]);
  compare('postmap', (dir) => ['-ir', `hash:${join(dir, 'edit')}`], 'a 10\n');
  compare('postmap', (dir) => ['-q', 'a', join(dir, 'edit')]);
  compare('postmap', (dir) => ['-d', 'a', join(dir, 'edit')]);
  compare('postmap', (dir) => ['-d', 'a', join(dir, 'edit')]);
  compare('postmap', (dir) => ['-d', '-', join(dir, 'edit')], 'b\nzz\n');
  compare('postmap', (dir) => [`regexp:${join(dir, 'access.regexp')}`]);
  compare('postmap', (dir) => ['-s', `regexp:${join(dir, 'access.regexp')}`]);
});

test('-F stores the named files base64-encoded and shows them decoded, as Postfix\'s', { skip }, () => {
  for (const dir of [petrelDir, postfixDir]) {
    writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    writeFileSync(join(dir, 'chain.pem'), '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'sni'), `mx.example.com ${join(dir, 'key.pem')} ${join(dir, 'chain.pem')}\n.example.net ${join(dir, 'chain.pem')}\n`);
  }
  assert.equal(runPetrel('postmap', ['-c', petrelDir, '-F', join(petrelDir, 'sni')]).status, 0);
  assert.equal(runProgram(POSTMAP, ['-c', postfixDir, '-F', join(postfixDir, 'sni')]).status, 0);
  for (const key of ['mx.example.com', '.example.net', 'other']) compare('postmap', (dir) => ['-F', '-q', key, join(dir, 'sni')]);
  compare('postmap', (dir) => ['-q', 'mx.example.com', join(dir, 'sni')]);
});

test('postalias builds and answers as Postfix\'s', { skip: skip || needFile(POSTALIAS, "Debian's postfix ships postalias") }, () => {
  compare('postalias', (dir) => [join(dir, 'aliases')]);
  for (const key of ['postmaster', 'POSTMASTER', 'weird name', 'list', 'file', 'z', 'nocolon', 'nobody']) {
    compare('postalias', (dir) => ['-q', key, join(dir, 'aliases')]);
  }
  compare('postalias', (dir) => ['-q', '-', join(dir, 'aliases')], 'list\nfoo\npostmaster\n');
});

test('newaliases builds alias_database; errors are reported with status 1', () => {
  const dir = instance('newaliases');
  writeFileSync(join(dir, 'main.cf'), `alias_database = hash:${join(dir, 'aliases')}\n`);
  const run = runPetrel('newaliases', ['-c', dir]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(runPetrel('postalias', ['-c', dir, '-q', 'postmaster', join(dir, 'aliases')]).stdout, 'root\n');
  const missing = runPetrel('postmap', ['-c', dir, join(dir, 'no-such-source')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^postmap: fatal: open .*no-such-source: No such file or directory$/m);
  const usage = runPetrel('postmap', ['-c', dir, '-q', 'a', '-d', 'b', join(dir, 'access')]);
  assert.equal(usage.status, 1);
  assert.match(usage.stderr, /specify only one of/);
});

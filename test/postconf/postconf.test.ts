import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { needFile } from '../support/need.js';
import { runPetrel, runProgram } from '../support/run-command.js';

const POSTCONF = '/usr/sbin/postconf';
/** Debian's postfix ships the stock master.cf; the tests read it there rather than keep a copy. */
const POSTFIX_MASTER_CF = '/usr/share/postfix/master.cf.dist';
const skip = needFile(POSTCONF, "Debian's postfix is the reference for postconf's output") || needFile(POSTFIX_MASTER_CF, "Debian's postfix ships the stock master.cf");
const work = mkdtempSync(join(tmpdir(), 'petrel-postconf-'));
after(() => rmSync(work, { recursive: true }));

const MAIN_CF = `# an everyday main.cf
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
append_dot_mydomain = no
compatibility_level = 3.6

myhostname = mx.example.com
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
myorigin = /etc/mailname-is-not-read-here
mydestination = $myhostname, example.com, localhost.localdomain,
    localhost
relayhost =
mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
mailbox_size_limit = 0
recipient_delimiter = +
inet_interfaces = all
inet_protocols = all
home_mailbox = Maildir/
# the last setting wins
message_size_limit = 1000
message_size_limit = 20480000
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
my_checks = reject_unauth_destination
smtpd_recipient_restrictions = \${my_checks?{$my_checks}:{permit}}
maximal_queue_lifetime = 2d
virtual_alias_maps = hash:/etc/postfix/virtual, regexp:/etc/postfix/virtual.regexp
transport_maps = \${{$compatibility_level} <level {2} ? {hash:/old} : {hash:/new}}
`;

const MASTER_EXTRA = `submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:10025 inet n - n - - smtpd -v -o mynetworks=127.0.0.0/8 -o { smtpd_recipient_restrictions = permit_mynetworks, reject }
`;

function instance(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'main.cf'), MAIN_CF);
  const shipped = existsSync(POSTFIX_MASTER_CF) ? readFileSync(POSTFIX_MASTER_CF, 'utf8') : '';
  writeFileSync(join(dir, 'master.cf'), shipped + MASTER_EXTRA);
  return dir;
}

function both(args: readonly string[]): { petrel: string; postfix: string } {
  const a = instance(`p${Math.random().toString(36).slice(2)}`);
  const b = instance(`q${Math.random().toString(36).slice(2)}`);
  const petrel = runPetrel('postconf', ['-c', a, ...args]);
  const postfix = runProgram(POSTCONF, ['-c', b, ...args]);
  assert.equal(petrel.status, postfix.status, `exit status of postconf ${args.join(' ')}`);
  return { petrel: petrel.stdout.replaceAll(a, 'DIR'), postfix: postfix.stdout.replaceAll(b, 'DIR') };
}

const SAME_OUTPUT: string[][] = [
  ['-n'],
  ['-h', 'mydestination'],
  ['-xh', 'mydestination'],
  ['-h', 'smtpd_recipient_restrictions'],
  ['-xh', 'smtpd_recipient_restrictions'],
  ['-xh', 'transport_maps'],
  ['-x', 'myorigin', 'mydestination', 'myhostname'],
  ['message_size_limit', 'maximal_queue_lifetime'],
  ['-d', 'minimal_backoff_time', 'smtpd_timeout', 'relay_domains', 'propagate_unmatched_extensions'],
  ['-n', 'relay_domains'],
  ['-M'],
  ['-Mf'],
  ['-M', 'submission/inet', 'relay'],
  ['-P'],
  ['-P', 'mynetworks', '127.0.0.1:10025/inet/mynetworks', 'relay/unix/syslog_name'],
];

test('output as Postfix prints it', { skip }, () => {
  for (const args of SAME_OUTPUT) {
    const { petrel, postfix } = both(args);
    assert.equal(petrel, postfix, `postconf ${args.join(' ')}`);
  }
});

test('edits leave the same file as Postfix leaves', { skip }, () => {
  const edits: string[][] = [
    ['-e', 'myhostname = mail.example.org', 'relayhost=[smart.example.net]:587', 'new_one = x'],
    ['-X', 'mydestination', 'message_size_limit'],
    ['-#', 'mydestination', 'home_mailbox'],
  ];
  for (const args of edits) {
    const a = instance(`e${Math.random().toString(36).slice(2)}`);
    const b = instance(`f${Math.random().toString(36).slice(2)}`);
    const petrel = runPetrel('postconf', ['-c', a, ...args]);
    const postfix = runProgram(POSTCONF, ['-c', b, ...args]);
    assert.equal(petrel.status, postfix.status, args.join(' '));
    assert.equal(readFileSync(join(a, 'main.cf'), 'utf8'), readFileSync(join(b, 'main.cf'), 'utf8'), args.join(' '));
  }
  const masterEdits: string[][] = [
    ['-Me', 'submission/inet=submission inet n - n - - smtpd -o smtpd_sasl_auth_enable=yes', 'new/unix=new unix - - n - - error'],
    ['-MX', 'submission/inet', 'relay/unix'],
    ['-MX', 'submission/inet', 'relay'],
    ['-M#', 'pickup/unix'],
  ];
  for (const args of masterEdits) {
    const a = instance(`m${Math.random().toString(36).slice(2)}`);
    const b = instance(`n${Math.random().toString(36).slice(2)}`);
    assert.equal(runPetrel('postconf', ['-c', a, ...args]).status, runProgram(POSTCONF, ['-c', b, ...args]).status, args.join(' '));
    const list = (dir: string): string => runProgram(POSTCONF, ['-c', dir, '-M']).stdout;
    assert.equal(list(a), list(b), args.join(' '));
  }
});

test('Petrel\'s own answers: defaults, warnings, exit status', () => {
  const dir = instance('own');
  writeFileSync(join(dir, 'main.cf'), 'foo_bar = 1\nmyhostname = mx.example.com\n');
  const run = runPetrel('postconf', ['-c', dir, '-h', 'mail_name', 'mydomain', 'nosuch']);
  assert.equal(run.status, 0);
  assert.equal(run.stdout, 'Petrel\nexample.com\n');
  assert.match(run.stderr, /^postconf: warning: nosuch: unknown parameter$/m);
  assert.match(run.stderr, /^postconf: warning: .*main.cf: unused parameter: foo_bar=1$/m);

  writeFileSync(join(dir, 'main.cf'), 'a = 1\njunk line\n');
  const bad = runPetrel('postconf', ['-c', dir, '-n']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /postconf: fatal: .*main.cf, line 2: missing '=' after attribute name: "junk line"/);

  const missing = runPetrel('postconf', ['-c', join(work, 'nowhere'), '-n']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /postconf: fatal: open .*nowhere\/main.cf: No such file or directory/);

  const types = runPetrel('postconf', ['-m']);
  assert.equal(types.status, 0);
  const usage = runPetrel('postconf', ['-Z']);
  assert.equal(usage.status, 1);
  assert.match(usage.stderr, /invalid option -- 'Z'/);
});

test('MAIL_CONFIG selects the instance when -c is absent', () => {
  const dir = instance('env');
  const run = runPetrel('postconf', ['-h', 'myhostname'], undefined, { ...process.env, MAIL_CONFIG: dir });
  assert.equal(run.stdout, 'mx.example.com\n');
});

test('names nothing declares or uses, and -d without main.cf, as Postfix answers them', { skip }, () => {
  const normalize = (text: string, dir: string): string[] =>
    text.replaceAll(dir, 'DIR').replace(/^\/usr\/sbin\/postconf:/gm, 'postconf:').split('\n').sort();
  const setup = (dir: string, mainCf: string | undefined): void => {
    mkdirSync(dir);
    if (mainCf !== undefined) writeFileSync(join(dir, 'main.cf'), mainCf);
  };
  const cases: { mainCf: string | undefined; args: string[] }[] = [
    { mainCf: 'foo_bar = 1\nuses = $baz\nbaz = 2\n', args: ['-h', 'foo_bar', 'baz', 'nosuch', 'myhostname'] },
    { mainCf: 'foo_bar = 1\nuses = $baz\nbaz = 2\n', args: ['foo_bar', 'baz'] },
    { mainCf: 'foo_bar = 1\nuses = $baz\nbaz = 2\n', args: ['-n', 'foo_bar', 'baz'] },
    { mainCf: 'foo_bar = 1\nuses = $baz\nbaz = 2\nmyhostname = mx.example.com\n', args: ['-d', 'foo_bar', 'baz', 'mydomain'] },
    { mainCf: undefined, args: ['-d', 'relay_domains', 'smtpd_timeout', 'mydomain'] },
    { mainCf: 'junk line\n', args: ['-d', 'mynetworks_style'] },
  ];
  for (const { mainCf, args } of cases) {
    const a = join(work, `u${Math.random().toString(36).slice(2)}`);
    const b = join(work, `v${Math.random().toString(36).slice(2)}`);
    setup(a, mainCf);
    setup(b, mainCf);
    const petrel = runPetrel('postconf', ['-c', a, ...args]);
    const postfix = runProgram(POSTCONF, ['-c', b, ...args]);
    const what = `postconf ${args.join(' ')} with main.cf ${JSON.stringify(mainCf)}`;
    assert.equal(petrel.status, postfix.status, what);
    assert.equal(petrel.stdout.replaceAll(a, 'DIR'), postfix.stdout.replaceAll(b, 'DIR'), what);
    assert.deepEqual(normalize(petrel.stderr, a), normalize(postfix.stderr, b), what);
  }
});

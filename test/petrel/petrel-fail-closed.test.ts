/*
 * Fail closed (DESIGN §3): a real instance refuses to start, to reload and
 * to run a worker with a setting Petrel does not implement that protects
 * mail or decides where it goes, or with a table type it lacks; petrel check
 * names each one; harmless unknown names only warn and installer-written
 * ones pass silently.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { REPO_ROOT } from '../support/run-command.js';
import { SmtpClient } from '../support/smtp-client.js';

/** A setting and what the refusal must say about it. */
const REFUSED: readonly (readonly [string, string, RegExp])[] = [
  ['smtpd_milters', 'inet:127.0.0.1:8891', /parameter smtpd_milters: Petrel does not implement this setting/],
  ['non_smtpd_milters', 'inet:127.0.0.1:8891', /parameter non_smtpd_milters: Petrel does not implement this setting/],
  ['smtp_body_checks', 'regexp:/etc/petrel/body_checks', /parameter smtp_body_checks: Petrel does not implement this setting/],
  ['milter_header_checks', 'pcre:/etc/petrel/header_checks', /parameter milter_header_checks: Petrel does not implement this setting/],
  ['master_service_disable', 'inet', /parameter master_service_disable: Petrel does not implement/],
  ['relocated_maps', 'hash:/etc/petrel/relocated', /parameter relocated_maps: Petrel does not implement/],
  ['virtual_alias_maps', 'ldap:/etc/petrel/ldap-aliases.cf', /parameter virtual_alias_maps: unsupported dictionary type: ldap/],
];

let mx: TestInstance;
let mainCf: string;
let masterCf: string;

before(async () => {
  mx = await TestInstance.create();
  mainCf = readFileSync(join(mx.etc, 'main.cf'), 'utf8');
  masterCf = readFileSync(join(mx.etc, 'master.cf'), 'utf8');
});
after(() => mx.remove());

function configure(extraMain: string, smtpdOptions = ''): void {
  writeFileSync(join(mx.etc, 'main.cf'), `${mainCf}${extraMain}`);
  writeFileSync(join(mx.etc, 'master.cf'), masterCf.replace(/(inet n - n - - smtpd)\n/, `$1${smtpdOptions}\n`));
}

test('a protective setting in main.cf: petrel check fails and petrel start refuses, naming it in stderr and the log', () => {
  for (const [name, value, says] of REFUSED) {
    configure(`${name} = ${value}\n`);
    const check = mx.run('petrel', ['check']);
    assert.equal(check.status, 1, `${name}: ${check.stderr}`);
    assert.match(check.stderr, new RegExp(`petrel: error: \\S+/main\\.cf, line \\d+: ${says.source}`), name);
    assert.doesNotMatch(check.stderr, /unused parameter/, name);
    const start = mx.run('petrel', ['start']);
    assert.equal(start.status, 1, name);
    assert.match(start.stderr, new RegExp(`master: fatal: \\S+/main\\.cf, line \\d+: ${says.source}`), name);
    assert.match(mx.logText(), new RegExp(`postfix/master\\[\\d+\\]: fatal: \\S+/main\\.cf, line \\d+: ${says.source}`), name);
  }
  assert.equal(mx.run('petrel', ['status']).status, 1, 'nothing runs');
});

test('the same settings from a master.cf -o name the service', () => {
  for (const [name, value, says] of REFUSED) {
    configure('', ` -o ${name}=${value}`);
    const check = mx.run('petrel', ['check']);
    assert.equal(check.status, 1, `${name}: ${check.stderr}`);
    assert.match(check.stderr, new RegExp(`\\S+/master\\.cf, line 1: service 127\\.0\\.0\\.1:${mx.port}/inet: -o ${says.source}`), name);
    const start = mx.run('petrel', ['start']);
    assert.equal(start.status, 1, name);
    assert.match(start.stderr, new RegExp(`fatal: \\S+/master\\.cf, line 1: service \\S+: -o ${says.source}`), name);
  }
});

test('several refusals are all listed; an empty value asks for nothing', () => {
  configure('smtpd_milters = inet:127.0.0.1:8891\nsmtp_body_checks = regexp:/x\nnon_smtpd_milters =\n', ' -o smtp_header_checks=regexp:/y');
  const check = mx.run('petrel', ['check']);
  assert.equal(check.status, 1);
  assert.deepEqual(check.stderr.match(/parameter \w+/g), ['parameter smtpd_milters', 'parameter smtp_body_checks', 'parameter smtp_header_checks']);
});

test('a worker started with a refused setting never serves: fatal in the log, exit status 1', () => {
  configure('');
  const worker = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'dist', 'src', 'cleanup', 'cleanup-main.js'), '-c', mx.etc, '-n', 'cleanup', '-t', 'unix', '-C', 'cleanup', '-o', 'smtp_header_checks=regexp:/etc/petrel/header_checks'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(worker.status, 1, worker.stderr);
  assert.match(mx.logText(), /postfix\/cleanup\[\d+\]: fatal: \S+\/master\.cf: service cleanup: -o parameter smtp_header_checks: Petrel does not implement this setting/);
});

test('harmless unknown names still only warn, installer-written ones pass silently, and the instance starts', () => {
  const installer = ['biff = no', 'readme_directory = no', 'html_directory = no', `data_directory = ${mx.root}/data`, 'setgid_group = postdrop', 'command_directory = /usr/sbin'];
  configure(`${[...installer, 'foo_bar = 1', 'postscreen_dnsbl_sites = zen.spamhaus.org', 'milter_default_action = accept'].join('\n')}\n`);
  const check = mx.run('petrel', ['check']);
  assert.equal(check.status, 0, check.stderr);
  const unused = check.stderr.match(/unused parameter: \w+/g) ?? [];
  assert.deepEqual(unused, ['unused parameter: foo_bar', 'unused parameter: postscreen_dnsbl_sites', 'unused parameter: milter_default_action']);
  assert.doesNotMatch(check.stderr, /error|fatal/);
  mx.start();
  mx.stop();
});

test('a reload to a refused configuration keeps the running one; fixing it lets the next reload through', async () => {
  configure('');
  mx.start();
  try {
    const before = await SmtpClient.open(mx.port);
    assert.match(before.greeting, /^220 /);
    appendFileSync(join(mx.etc, 'main.cf'), 'smtpd_milters = inet:127.0.0.1:8891\n');
    assert.equal(mx.run('petrel', ['reload']).status, 0);
    const log = await mx.waitForLog(/reload refused, keeping the running configuration/);
    assert.match(log, /postfix\/master\[\d+\]: error: \S+\/main\.cf, line \d+: parameter smtpd_milters: Petrel does not implement this setting/);
    assert.equal(mx.run('petrel', ['status']).status, 0);
    await before.client.command('NOOP');
    await before.client.quit();
    configure('');
    assert.equal(mx.run('petrel', ['reload']).status, 0);
    const fixed = await mx.waitForLog(/(reload -- version[^\n]*\n[\s\S]*){2}/);
    assert.equal(fixed.match(/reload refused/g)?.length, 1);
    const after = await SmtpClient.open(mx.port);
    assert.match(after.greeting, /^220 /);
    await after.client.quit();
  } finally {
    mx.stop();
  }
});

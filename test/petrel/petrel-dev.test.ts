import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runPetrel } from '../support/run-command.js';

const work = mkdtempSync(join(tmpdir(), 'petrel-dev-'));
after(() => rmSync(work, { recursive: true }));

test('petrel dev sets up a self-contained instance and keeps edits', () => {
  const root = join(work, 'run');
  const first = runPetrel('petrel', ['-d', root, '-p', '2626', 'dev']);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`queue_directory = ${root}/queue`));
  assert.match(first.stdout, /2626\/inet \(smtpd\)/);
  const etc = join(root, 'etc');
  const postconf = runPetrel('postconf', ['-c', etc, '-h', 'queue_directory', 'mail_spool_directory', 'inet_interfaces']);
  assert.equal(postconf.stdout, `${root}/queue\n${root}/mail/\n127.0.0.1\n`);
  assert.equal(postconf.stderr, '');
  assert.match(runPetrel('postalias', ['-c', etc, '-q', 'root', join(etc, 'aliases')]).stdout, /^postmaster\n$/);

  writeFileSync(join(etc, 'main.cf'), `${readFileSync(join(etc, 'main.cf'), 'utf8')}myhostname = edited.example\n`);
  assert.equal(runPetrel('petrel', ['-d', root, 'dev']).status, 0);
  assert.equal(runPetrel('postconf', ['-c', etc, '-h', 'myhostname']).stdout, 'edited.example\n');

  const bad = runPetrel('petrel', ['bogus']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /usage: petrel/);
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../support/instance.js';
import { REPO_ROOT, runPetrel } from '../support/run-command.js';
import { SmtpClient } from '../support/smtp-client.js';
import { waitFor } from '../support/wait.js';

const work = mkdtempSync(join(tmpdir(), 'petrel-dev-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('petrel dev runs a self-contained instance: mail to any local name lands under its folder', async () => {
  const root = join(work, 'run');
  const port = await freePort();
  const dev = spawn(join(REPO_ROOT, 'bin', 'petrel'), ['-d', root, '-p', String(port), 'dev'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  dev.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  dev.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const { client } = await SmtpClient.openWhenListening(port);
    await client.command('EHLO dev.test');
    assert.match(await client.send('me@example.org', ['someone@localhost'], 'Subject: dev\n\nhello dev\n'), /^250 2\.0\.0 Ok: queued as /);
    await client.quit();
    const newDir = join(root, 'mail', 'someone', 'new');
    await waitFor(() => existsSync(newDir) && readdirSync(newDir).length > 0, 'the message in the Maildir of someone');
    const [file] = readdirSync(newDir);
    assert.ok(file, output);
    assert.match(readFileSync(join(newDir, file), 'utf8'), /^Return-Path: <me@example\.org>\nDelivered-To: someone@localhost\n[\s\S]*hello dev\n$/);
    assert.match(output, new RegExp(`SMTP on 127\\.0\\.0\\.1:${port}`));
    const etc = join(root, 'etc');
    assert.equal(runPetrel('postconf', ['-c', etc, '-h', 'queue_directory']).stdout, `${root}/queue\n`);
    assert.equal(runPetrel('petrel', ['-c', etc, 'status']).status, 0);
  } finally {
    dev.kill('SIGTERM');
    const [code] = (await once(dev, 'exit')) as [number | null];
    assert.equal(code, 0, output);
  }
  writeFileSync(join(root, 'etc', 'main.cf'), `${readFileSync(join(root, 'etc', 'main.cf'), 'utf8')}myhostname = edited.example\n`);
  assert.equal(runPetrel('postconf', ['-c', join(root, 'etc'), '-h', 'myhostname']).stdout, 'edited.example\n');
  assert.notEqual(runPetrel('petrel', ['-c', join(root, 'etc'), 'status']).status, 0);
  const bad = runPetrel('petrel', ['bogus']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /usage: petrel/);
});

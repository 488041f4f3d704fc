import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';
import { SmtpClient } from '../support/smtp-client.js';

let mx: TestInstance;
let out: string;

before(async () => {
  mx = await TestInstance.create('recipient_delimiter = +', 'postmaster: root\n');
  out = join(mx.root, 'out');
  mkdirSync(out);
  // Expanded by local at delivery ($user, $extension), not when main.cf is read.
  assert.equal(mx.run('postconf', ['-e', `mailbox_command=cat > ${out}/$user-$extension.msg; echo "$RECIPIENT" > ${out}/$user-$extension.rcpt`]).status, 0);
  mx.start();
});

after(() => mx.remove());

test('mailbox_command gets $name expansions at delivery, filtered by command_expansion_filter; the address reaches the shell only through the environment', async () => {
  const { client } = await SmtpClient.open(mx.port);
  await client.command('EHLO client.example');
  const reply = await client.send('sender@example.org', ['carol+box`touch${IFS}pwned`@localhost'], 'Subject: command\n\nby command\n');
  assert.match(reply, /^250 /);
  await client.quit();
  await mx.waitForLog(/status=sent \(delivered to command: cat > /);
  const files = readdirSync(out).sort();
  assert.deepEqual(files, ['carol-box_touch__ifs_pwned_.msg', 'carol-box_touch__ifs_pwned_.rcpt']);
  assert.match(readFileSync(join(out, files[0] as string), 'utf8'), /by command\n$/);
  assert.equal(readFileSync(join(out, files[1] as string), 'utf8'), 'carol+box`touch${IFS}pwned`@localhost\n');
  assert.equal(existsSync(join(mx.root, 'pwned')), false);
});

import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestInstance } from '../support/instance.js';

let mx: TestInstance;
let out: string;

// Records its arguments, its input and who it ran as, one folder per run; exits 75 or 67 when an argument asks for it.
const RECORDER = `#!/bin/sh
dir="$1/$(date +%s%N)"; shift
mkdir -p "$dir"
printf '%s\\n' "$@" > "$dir/args"
cat > "$dir/stdin"
id -un > "$dir/user"
case "$*" in *tempfail*) exit 75;; *nouser*) exit 67;; esac
exit 0
`;

before(async () => {
  mx = await TestInstance.create('recipient_delimiter = +', 'postmaster: root\n', {
    transport_maps: 'inline:{ pipe.test=filter:, relay.test=relayfilter: }',
  });
  out = join(mx.root, 'pipe-out');
  mkdirSync(out);
  chmodSync(mx.root, 0o755);
  chmodSync(out, 0o1777);
  const script = join(mx.root, 'record.sh');
  writeFileSync(script, RECORDER);
  chmodSync(script, 0o755);
  appendFileSync(
    join(mx.etc, 'master.cf'),
    [
      `filter unix - n n - - pipe flags=DORX.> user=nobody argv=${script} ${out} \${sender} \${recipient} \${user} \${extension} \${nexthop} \${queue_id} \${client_address}`,
      `relayfilter unix - n n - - pipe flags=R user=nobody argv=${script} ${out} \${recipient}`,
      '',
    ].join('\n'),
  );
  mx.start();
});

after(() => mx.remove());

function runs(): { args: string[]; stdin: string; user: string }[] {
  return readdirSync(out)
    .sort()
    .map((name) => ({
      args: readFileSync(join(out, name, 'args'), 'utf8').trimEnd().split('\n'),
      stdin: readFileSync(join(out, name, 'stdin'), 'utf8'),
      user: readFileSync(join(out, name, 'user'), 'utf8').trim(),
    }));
}

function send(recipients: string[], body: string): Promise<string> {
  return mx.submit('alice@localhost', recipients, body);
}

test('pipe runs argv without a shell as user=, with the macros expanded and the flags applied to the message', async () => {
  const id = await send(['Bob+Box@pipe.test', 'x`touch${IFS}pwned`@pipe.test'], 'Subject: piped\n\nFrom the start\n.dot line\n');
  const log = await mx.waitForLog(new RegExp(`${id}: removed`));
  assert.match(log, new RegExp(`${id}: to=<Bob\\+Box@pipe\\.test>, relay=filter, delay=[\\d.]+, delays=[\\d./]+, dsn=2\\.0\\.0, status=sent \\(delivered via filter service\\)`));
  const [run] = runs();
  assert.ok(run);
  assert.deepEqual(run.args, ['alice@localhost', 'Bob+Box@pipe.test', 'x`touch${IFS}pwned`@pipe.test', 'Bob', 'x`touch${IFS}pwned`', 'Box', '', 'pipe.test', id, '127.0.0.1']);
  assert.equal(run.user, 'nobody');
  assert.match(run.stdin, /^Return-Path: <alice@localhost>\n/);
  assert.doesNotMatch(run.stdin, /^Delivered-To:/m, 'Delivered-To only for a single recipient');
  assert.match(run.stdin, /\n\n>From the start\n\.\.dot line\n$/);
  assert.equal(existsSync(join(mx.root, 'pwned')), false);
  assert.equal(existsSync('/pwned'), false);
});

test('exit 75 defers with EX_TEMPFAIL\'s text; exit 67 bounces as user unknown', async () => {
  const temp = await send(['tempfail@relay.test'], 'Subject: t\n\nx\n');
  await mx.waitForLog(new RegExp(`${temp}: to=<tempfail@relay\\.test>, relay=relayfilter,.*dsn=4\\.3\\.0, status=deferred \\(temporary failure\\)`));
  const perm = await send(['nouser@relay.test'], 'Subject: p\n\nx\n');
  await mx.waitForLog(new RegExp(`${perm}: to=<nouser@relay\\.test>, relay=relayfilter,.*dsn=5\\.1\\.1, status=bounced \\(user unknown\\)`));
  const single = runs().find((r) => r.args[0] === 'nouser@relay.test');
  assert.ok(single);
  assert.match(single.stdin, /^Return-Path: <alice@localhost>\nReceived: /);
});

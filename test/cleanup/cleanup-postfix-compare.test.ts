/*
 * The same header_checks file and the same MIME message given to Debian's
 * Postfix (postmap -hm / -bm -q -, which inspect a message as cleanup does)
 * and to Petrel's header pass with that file as header_checks,
 * mime_header_checks, nested_header_checks and body_checks: the same
 * logical headers (folded ones whole) and the same body lines (boundaries
 * included) must match.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContentChecks, MessageInspector } from '../../src/cleanup/cleanup-content-checks.js';
import { HeaderPass } from '../../src/cleanup/cleanup-headers.js';
import { loadConfig } from '../../src/global/config/load-config.js';
import { setMsgSink } from '../../src/util/msg.js';
import { needFile } from '../support/need.js';

const POSTMAP = '/usr/sbin/postmap';

const RULES = '/^(subject|content-[a-z]+|x-[a-z]+):/ WARN header\n/line|^--/ WARN body\n';

const MESSAGE = [
  'Subject: folded',
  '\tsecond line',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed;',
  ' boundary="outer"',
  '',
  'preamble line',
  '--outer',
  'Content-Type: text/plain',
  'X-Part: one',
  '',
  'first line',
  '--outer',
  'Content-Type: message/rfc822',
  '',
  'Subject: attached',
  'X-Inner: folded',
  '  again',
  'Content-Type: text/plain',
  '',
  'inner line',
  '--outer--',
  'epilogue line',
  '',
].join('\n');

/** Postfix's matches: each "input<TAB>result" (an input may span lines; the last tab ends it), newlines removed as Petrel logs them. */
function postfixMatches(dir: string, flag: string): string[] {
  const run = spawnSync(POSTMAP, ['-c', dir, flag, '-q', '-', `regexp:${join(dir, 'checks')}`], { input: MESSAGE, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout
    .replace(/\n(?=[ \t])/g, '')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.slice(0, line.lastIndexOf('\t')));
}

test('Petrel inspects the same headers and body lines of a MIME message as Postfix', { skip: needFile(POSTMAP, "Debian's postfix package, for the comparison") }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-check-compare-'));
  const logged: string[] = [];
  const previous = setMsgSink((_severity, _program, text) => logged.push(text));
  try {
    writeFileSync(join(dir, 'checks'), RULES);
    const table = `regexp:${join(dir, 'checks')}`;
    writeFileSync(join(dir, 'main.cf'), `header_checks = ${table}\nbody_checks = ${table}\n`);
    const checks = await ContentChecks.open(loadConfig({ configDir: dir }).params);
    const inspector = new MessageInspector(checks, { queueId: 'ID', attrs: {}, sender: 's@example.org', recipient: () => 'r@example.org' });
    const pass = new HeaderPass({
      addMissing: false,
      dropHeaders: new Set(),
      sender: 's@example.org',
      myhostname: 'mx.example.org',
      queueId: 'ID',
      undisclosedHeader: '',
      headerSizeLimit: 102400,
      extractRecipients: false,
      fullName: '',
      inspection: { inspector, mime: { mime: true, nestingLimit: 100, bodyLimit: 51200 } },
    });
    const out = Buffer.concat([await pass.write(Buffer.from(MESSAGE, 'latin1')), await pass.finish()]).toString('latin1');
    await checks.close();
    assert.equal(out, MESSAGE, 'WARN leaves the message as it was');
    const petrel = (kind: string): string[] =>
      logged.flatMap((line) => {
        const m = new RegExp(`^ID: warning: ${kind} (.*) from local; `).exec(line);
        return m === null ? [] : [m[1] as string];
      });
    const postfixHeaders = postfixMatches(dir, '-hm');
    assert.ok(postfixHeaders.length >= 7, postfixHeaders.join('|'));
    assert.deepEqual(petrel('header'), postfixHeaders);
    assert.deepEqual(petrel('body'), postfixMatches(dir, '-bm'));
  } finally {
    setMsgSink(previous);
    rmSync(dir, { recursive: true, force: true });
  }
});

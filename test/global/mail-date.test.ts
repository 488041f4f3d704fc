import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseTzRule } from '../../src/global/mail-date.js';
import { needFile } from '../support/need.js';
import { REPO_ROOT, runProgram } from '../support/run-command.js';

test('a POSIX TZ rule gives its standard name and offset (minutes east) and its daylight-saving name', () => {
  assert.deepEqual(parseTzRule('UTC0'), { std: 'UTC', stdEast: 0, dst: undefined });
  assert.deepEqual(parseTzRule('CET-1CEST,M3.5.0,M10.5.0/3'), { std: 'CET', stdEast: 60, dst: 'CEST' });
  assert.deepEqual(parseTzRule('EST5EDT,M3.2.0,M11.1.0'), { std: 'EST', stdEast: -300, dst: 'EDT' });
  assert.deepEqual(parseTzRule('IST-5:30'), { std: 'IST', stdEast: 330, dst: undefined });
  assert.deepEqual(parseTzRule('<+0545>-5:45'), { std: '+0545', stdEast: 345, dst: undefined });
  assert.deepEqual(parseTzRule('<-03>3'), { std: '-03', stdEast: -180, dst: undefined });
  for (const bad of ['', 'Europe/Berlin', 'UT0', 'CET', '<>1']) assert.equal(parseTzRule(bad), undefined, bad);
});

/** rfc5322Date of each instant in a process whose TZ is tz. */
function datesIn(tz: string, instants: readonly string[]): string[] {
  const module = join(REPO_ROOT, 'dist', 'src', 'global', 'mail-date.js');
  const script = `import(${JSON.stringify(module)}).then((m) => { for (const i of ${JSON.stringify(instants)}) console.log(m.rfc5322Date(new Date(i))); })`;
  const run = runProgram(process.execPath, ['-e', script], undefined, { ...process.env, TZ: tz });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split('\n');
}

const noZones = needFile('/usr/share/zoneinfo/Europe/Berlin', "the zone files of Debian's tzdata");

test('Date: and Received: dates name the zone as strftime %Z does: from TZ or the zone file it names', { skip: noZones }, () => {
  const summer = '2026-07-01T12:00:00Z';
  const winter = '2026-01-01T12:00:00Z';
  assert.deepEqual(datesIn('Europe/Berlin', [summer, winter]), ['Wed, 1 Jul 2026 14:00:00 +0200 (CEST)', 'Thu, 1 Jan 2026 13:00:00 +0100 (CET)']);
  assert.deepEqual(datesIn(':America/New_York', [summer, winter]), ['Wed, 1 Jul 2026 08:00:00 -0400 (EDT)', 'Thu, 1 Jan 2026 07:00:00 -0500 (EST)']);
  assert.deepEqual(datesIn('EST5EDT', [winter]), ['Thu, 1 Jan 2026 07:00:00 -0500 (EST)']);
  assert.deepEqual(datesIn('Asia/Kolkata', [winter]), ['Thu, 1 Jan 2026 17:30:00 +0530 (IST)']);
  assert.deepEqual(datesIn('UTC', [winter]), ['Thu, 1 Jan 2026 12:00:00 +0000 (UTC)']);
});

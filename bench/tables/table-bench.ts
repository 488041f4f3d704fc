/*
 * table-bench - how fast Petrel builds and reads an indexed table, side by
 * side with Debian's Postfix when it is installed:
 *   1. postmap builds a 100,000-entry hash: table (the whole command, as a
 *      user runs it), Petrel's ./bin/postmap against /usr/sbin/postmap on
 *      copies of the same source;
 *   2. a running process opens the table once and looks up keys (half
 *      present, half absent); the average time per awaited lookup.
 * Run: npm run build && node dist/bench/tables/table-bench.js [entries] [lookups]
 * Targets (issue "Foundation"): build < 3 s, lookup < 20 µs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTable } from '../../src/global/tables/table-registry.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const POSTFIX_POSTMAP = '/usr/sbin/postmap';
const entries = Number(process.argv[2] ?? 100_000);
const lookups = Number(process.argv[3] ?? 1_000_000);

function timeCommand(program: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(program, args, { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (run.status !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${run.stderr}`);
  return seconds;
}

function best(times: number[]): number {
  return Math.min(...times);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'petrel-table-bench-'));
  try {
    const lines: string[] = [];
    for (let i = 0; i < entries; i++) lines.push(`user${i}@example${i % 1000}.com\tsmtp:[relay${i % 50}.example.net]:25`);
    const source = `${lines.join('\n')}\n`;
    const dirs = { petrel: join(work, 'petrel'), postfix: join(work, 'postfix') };
    for (const dir of Object.values(dirs)) {
      mkdirSync(dir);
      writeFileSync(join(dir, 'main.cf'), '');
      writeFileSync(join(dir, 'transport'), source);
    }

    const runs = 3;
    const petrelBuild = best(Array.from({ length: runs }, () => timeCommand(join(ROOT, 'bin', 'postmap'), ['-c', dirs.petrel, `hash:${join(dirs.petrel, 'transport')}`])));
    console.log(`postmap build, ${entries} entries (best of ${runs}): Petrel ${petrelBuild.toFixed(3)} s`);
    if (existsSync(POSTFIX_POSTMAP)) {
      const postfixBuild = best(Array.from({ length: runs }, () => timeCommand(POSTFIX_POSTMAP, ['-c', dirs.postfix, `hash:${join(dirs.postfix, 'transport')}`])));
      console.log(`postmap build, ${entries} entries (best of ${runs}): Postfix ${postfixBuild.toFixed(3)} s; Petrel/Postfix time ratio ${(petrelBuild / postfixBuild).toFixed(2)}`);
    } else {
      console.log(`(${POSTFIX_POSTMAP} not installed: no side-by-side build figure)`);
    }

    const table = await openTable(`hash:${join(dirs.petrel, 'transport')}`, { configDir: dirs.petrel });
    const keys = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? `user${(i * 7919) % entries}@example${((i * 7919) % entries) % 1000}.com` : `nobody${i}@example.org`));
    for (let i = 0; i < 10_000; i++) await table.lookup(keys[i % keys.length] as string);
    let found = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < lookups; i++) if ((await table.lookup(keys[i % keys.length] as string)) !== undefined) found++;
    const micros = Number(process.hrtime.bigint() - start) / 1e3 / lookups;
    await table.close();
    console.log(`lookup from a running process: ${micros.toFixed(2)} µs average over ${lookups} lookups (${found} found)`);
    console.log(`targets: build < 3 s -> ${petrelBuild < 3 ? 'met' : 'NOT met'}; lookup < 20 µs -> ${micros < 20 ? 'met' : 'NOT met'}`);
  } finally {
    rmSync(work, { recursive: true });
  }
}

await main();

/*
 * import-layers - keeps the one-way import rule of STYLE.md: util ← global ←
 * master ← daemons and commands. util knows no mail; global uses only util;
 * a daemon or command folder never imports another daemon or command folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = resolve('src');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The top folder under src/ a file belongs to. */
function layerOf(file: string): string {
  return relative(SRC, file).split(sep)[0] as string;
}

function allowed(from: string, to: string): boolean {
  if (from === to) return true;
  if (to === 'util') return true;
  if (from === 'util') return false;
  if (to === 'global') return true;
  if (from === 'global') return false;
  return to === 'master';
}

test('imports run one way: util ← global ← master ← daemons and commands', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"](\.[^'"]+)['"]/gm)) {
      const target = resolve(dirname(file), match[1] as string);
      if (!target.startsWith(SRC + sep)) continue;
      const from = layerOf(file);
      const to = layerOf(target);
      if (!allowed(from, to)) violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(violations, []);
});

/*
 * readme-snippets - the configuration snippets of one README section, for
 * tests that build their setup from the very text a reader copies: each
 * fenced block is found by its first line (a comment naming the file, such
 * as "# /etc/petrel/main.cf"), and the reader's paths, names and ports are
 * replaced by the test's. A replacement whose text the section no longer
 * contains is an error, so README and test cannot drift apart silently.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './run-command.js';

/** One replacement: every match of from becomes to. */
export type Replacement = readonly [from: string | RegExp, to: string];

/** The fenced blocks of a README section, by their first line. */
export class ReadmeSection {
  private constructor(
    private readonly blocks: ReadonlyMap<string, string>,
    private readonly replacements: readonly Replacement[],
  ) {}

  /** Reads the section headed "## title" of README.md; replacements apply to every block taken. */
  static read(title: string, replacements: readonly Replacement[]): ReadmeSection {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf(`\n## ${title}\n`);
    if (start < 0) throw new Error(`README.md has no section "${title}"`);
    const end = readme.indexOf('\n## ', start + 1);
    const text = readme.slice(start, end < 0 ? undefined : end);
    for (const [from] of replacements) {
      const found = typeof from === 'string' ? text.includes(from) : new RegExp(from.source, from.flags.replace('g', '')).test(text);
      if (!found) throw new Error(`README section "${title}" no longer contains ${String(from)}`);
    }
    const blocks = new Map<string, string>();
    for (const match of text.matchAll(/^```[a-z]*\n([^\n]*)\n([\s\S]*?)^```$/gm)) {
      const [, first, rest] = match;
      if (blocks.has(first as string)) throw new Error(`README section "${title}": two blocks start with "${first}"`);
      blocks.set(first as string, `${first}\n${rest}`);
    }
    return new ReadmeSection(blocks, replacements);
  }

  /** The block whose first line is firstLine, with the replacements made. */
  block(firstLine: string): string {
    const block = this.blocks.get(firstLine);
    if (block === undefined) throw new Error(`README has no block starting with "${firstLine}"`);
    return this.replacements.reduce((text, [from, to]) => text.replaceAll(from, to), block);
  }

  /** The first lines of every block, in no particular order. */
  firstLines(): string[] {
    return [...this.blocks.keys()];
  }
}

#!/usr/bin/env node
// Builds native/thread-ids with node-gyp (run by npm install). Petrel works
// without it: the delivery agents then switch identities through libc, which
// is correct but slower, and they say so in the log at start-up. A failed
// build is reported loudly here and does not fail the install.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const directory = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'thread-ids');
const result = spawnSync('node-gyp', ['rebuild'], { cwd: directory, stdio: ['ignore', 'ignore', 'inherit'] });
if (result.status !== 0) {
  const why = result.error?.message ?? `node-gyp exited with status ${result.status}`;
  console.warn(`\npetrel: WARNING: native/thread-ids was not built (${why}).`);
  console.warn('petrel: local and virtual will switch user ids through libc, which is slower; install a C compiler (Debian: build-essential python3) and run node scripts/build-native.mjs.\n');
}

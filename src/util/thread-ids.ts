/*
 * thread-ids - the adapter over native/thread-ids, Petrel's own addon that
 * sets the effective uid and gid of the calling thread alone (raw
 * setresuid/setresgid system calls). Node's process.seteuid and setegid go
 * through glibc, which signals every thread of the process and waits for
 * each: 150 to 300 µs a call on the reference machine, four calls a
 * delivery. When the addon was not built (no compiler at npm install), the
 * switch falls back to those whole-process calls and perThread is false, so
 * callers can serialise their work as a whole-process switch requires.
 * Used by global/privileges.ts only.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface NativeThreadIds {
  setThreadEuid(id: number): void;
  setThreadEgid(id: number): void;
}

/** Where npm install (scripts/build-native.mjs) leaves the addon: native/ at the package root, beside dist/. */
const ADDON = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'native', 'thread-ids', 'build', 'Release', 'thread_ids.node');

function load(): { native: NativeThreadIds | undefined; problem: string | undefined } {
  try {
    return { native: createRequire(import.meta.url)(ADDON) as NativeThreadIds, problem: undefined };
  } catch (err) {
    return { native: undefined, problem: `${ADDON}: ${(err as Error).message.split('\n')[0]}` };
  }
}

const loaded = load();

/** How effective ids are switched in this process. */
export interface IdSwitch {
  /** True when only the calling thread changes (the addon loaded). */
  readonly perThread: boolean;
  /** Why the addon could not be loaded, when it could not. */
  readonly problem: string | undefined;
  setEuid(id: number): void;
  setEgid(id: number): void;
}

/** The switch of this process: per thread when the addon is there, else glibc's whole-process calls. */
export const ID_SWITCH: IdSwitch =
  loaded.native === undefined
    ? {
        perThread: false,
        problem: loaded.problem,
        setEuid: (id) => process.seteuid?.(id),
        setEgid: (id) => process.setegid?.(id),
      }
    : { perThread: true, problem: undefined, setEuid: loaded.native.setThreadEuid, setEgid: loaded.native.setThreadEgid };

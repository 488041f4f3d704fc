/*
 * master-lock - makes sure one master at a time runs on a queue directory.
 * The lock is a Linux abstract Unix socket named after the queue directory's
 * real path: the kernel drops it the moment its process dies, even by
 * SIGKILL, so there is no stale lock to guess about. The pid file
 * ($queue_directory/pid/master.pid) only tells `petrel stop/reload/status`
 * whom to signal. Called by the master at start-up.
 */
import { createHash } from 'node:crypto';
import { promises as fs, realpathSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';

/** The abstract socket name that locks queueDir for role (the master, or a daemon that must run once). */
function lockName(queueDir: string, role = 'master'): string {
  let real: string;
  try {
    real = realpathSync(queueDir);
  } catch {
    // a queue directory that does not exist yet has no master either
    real = resolve(queueDir);
  }
  const digest = createHash('sha256').update(real).digest('hex').slice(0, 32);
  return `\0petrel-${role}-${digest}`;
}

/** The pid file of the master for queueDir. */
export function masterPidPath(queueDir: string): string {
  return join(queueDir, 'pid', 'master.pid');
}

/** A held master lock; release() frees it and removes the pid file. */
export interface MasterLock {
  release(): Promise<void>;
}

/**
 * Takes the lock for queueDir and writes the pid file; resolves undefined
 * when another live master holds it.
 */
export async function lockMaster(queueDir: string): Promise<MasterLock | undefined> {
  const server = await takeLock(lockName(queueDir));
  if (server === undefined) return undefined;
  const pidPath = masterPidPath(queueDir);
  await fs.mkdir(join(queueDir, 'pid'), { recursive: true, mode: 0o755 });
  const tmp = `${pidPath}.${process.pid}`;
  await fs.writeFile(tmp, `${String(process.pid).padStart(10)}\n`, { mode: 0o644 });
  await fs.rename(tmp, pidPath);
  return {
    async release(): Promise<void> {
      await fs.rm(pidPath, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function takeLock(name: string): Promise<Server | undefined> {
  const server: Server = createServer((probe) => probe.destroy());
  const locked = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
    server.listen(name, () => resolve(true));
  });
  if (!locked) return undefined;
  server.unref();
  return server;
}

/**
 * Waits until this process is the only one running role on queueDir (a
 * worker of a killed master may still be finishing); the lock lasts as long
 * as the process. Used by qmgr, which must never run twice on one queue.
 */
export async function lockSingleton(queueDir: string, role: string, retryMs = 100): Promise<void> {
  while ((await takeLock(lockName(queueDir, role))) === undefined) {
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

/** True when a live master holds the lock for queueDir (a connect probe; it never takes the lock). */
export function masterIsRunning(queueDir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(lockName(queueDir));
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The pid of the live master for queueDir, or undefined when none runs. */
export async function runningMasterPid(queueDir: string): Promise<number | undefined> {
  if (!(await masterIsRunning(queueDir))) return undefined;
  const text = await fs.readFile(masterPidPath(queueDir), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

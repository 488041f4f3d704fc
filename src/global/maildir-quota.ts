/*
 * maildir-quota - Maildir++ quotas kept in the Maildir's "maildirsize" file,
 * the file Courier's deliverquota and Dovecot's "quota = maildir" plugin
 * read and update, so that every program that writes or removes mail keeps
 * one usage figure. The file's first line is the quota ("<bytes>S", with
 * ",<count>C" when messages are counted too); each further line is a change
 * "<bytes> <messages>" (negative for removals), appended with one write;
 * the usage is their sum. A file that is missing, has grown past 5120
 * bytes, or states another quota is recalculated: every message in new/
 * and cur/ of the INBOX and of each ".Folder", by the S= size in its name
 * (else its file size), written to tmp/ and renamed over the old file.
 * Used by the virtual delivery agent (virtual_maildir_extended).
 * Follows Courier's maildirquota(7) / README.maildirquota.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Bytes and messages. */
export interface MaildirUsage {
  readonly bytes: number;
  readonly messages: number;
}

/** What a maildirsize file says. */
export interface MaildirSize {
  /** The quota in bytes from the first line (0: none stated). */
  readonly limitBytes: number;
  /** The message-count quota from the first line (0: none stated). */
  readonly limitMessages: number;
  readonly usage: MaildirUsage;
  /** The file's length and last change (ms), for the recalculation rules. */
  readonly fileSize: number;
  readonly modified: number;
}

/** The name of the quota file in a Maildir's top folder. */
export const MAILDIRSIZE = 'maildirsize';

/** Past this length a maildirsize file is recalculated (Maildir++). */
const MAX_FILE_SIZE = 5120;

/** A usage over the quota is recalculated when the file is older than this (Maildir++: 15 minutes). */
export const STALE_OVER_QUOTA_MS = 15 * 60 * 1000;

/** Parses maildirsize text; undefined when its first line is not a quota definition. */
export function parseMaildirSize(text: string): Pick<MaildirSize, 'limitBytes' | 'limitMessages' | 'usage'> | undefined {
  const lines = text.split('\n');
  const head = (lines[0] ?? '').trim();
  let limitBytes = 0;
  let limitMessages = 0;
  if (head !== '') {
    for (const part of head.split(',')) {
      const match = /^(\d+)([SC])$/.exec(part.trim());
      if (match === null) return undefined;
      if (match[2] === 'S') limitBytes = Number(match[1]);
      else limitMessages = Number(match[1]);
    }
  }
  let bytes = 0;
  let messages = 0;
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === '') continue;
    const delta = fields.map(Number);
    if (delta.length < 2 || delta.some((n) => !Number.isInteger(n))) continue;
    bytes += delta[0] as number;
    messages += delta[1] as number;
  }
  return { limitBytes, limitMessages, usage: { bytes, messages } };
}

/** The maildirsize of the Maildir at dir; undefined when it is missing or unreadable as one. */
export async function readMaildirSize(dir: string): Promise<MaildirSize | undefined> {
  const path = join(dir, MAILDIRSIZE);
  let text: string;
  let info;
  try {
    [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = parseMaildirSize(text);
  return parsed === undefined ? undefined : { ...parsed, fileSize: info.size, modified: info.mtimeMs };
}

/** The size a message file's name states (",S=1234"), else undefined. */
function statedSize(name: string): number | undefined {
  const match = /,S=(\d+)/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** The messages in new/ and cur/ of one folder (the INBOX is the Maildir itself). */
export async function folderUsage(folder: string): Promise<MaildirUsage> {
  let bytes = 0;
  let messages = 0;
  for (const sub of ['new', 'cur']) {
    const names = await readdir(join(folder, sub)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const size = statedSize(name) ?? (await stat(join(folder, sub, name)).then((s) => s.size, () => undefined));
      // A message removed while we looked no longer counts.
      if (size === undefined) continue;
      bytes += size;
      messages++;
    }
  }
  return { bytes, messages };
}

/** The ".Folder" subfolders of a Maildir++. */
async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && e.name.startsWith('.') && e.name !== '.' && e.name !== '..').map((e) => join(dir, e.name));
}

/** The usage of the whole Maildir (INBOX and every folder). */
export async function maildirUsage(dir: string): Promise<MaildirUsage> {
  let bytes = 0;
  let messages = 0;
  for (const folder of [dir, ...(await subfolders(dir))]) {
    const usage = await folderUsage(folder);
    bytes += usage.bytes;
    messages += usage.messages;
  }
  return { bytes, messages };
}

/** The first line of a maildirsize file for a quota. */
export function quotaLine(limitBytes: number, limitMessages: number): string {
  const parts = [];
  if (limitBytes > 0) parts.push(`${limitBytes}S`);
  if (limitMessages > 0) parts.push(`${limitMessages}C`);
  return parts.join(',');
}

/** Rewrites maildirsize from what the Maildir holds now, with the quota given; returns the new file's content. */
export async function recalculateMaildirSize(dir: string, limitBytes: number, limitMessages: number): Promise<MaildirSize> {
  const usage = await maildirUsage(dir);
  const text = `${quotaLine(limitBytes, limitMessages)}\n${usage.bytes} ${usage.messages}\n`;
  const tmp = join(dir, 'tmp', `${Date.now()}.${process.pid}.${hostname()}.${MAILDIRSIZE}`);
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, join(dir, MAILDIRSIZE));
  return { limitBytes, limitMessages, usage, fileSize: Buffer.byteLength(text), modified: Date.now() };
}

/**
 * The current maildirsize, recalculated first when it is missing, too long,
 * or states another byte quota than limitBytes (its message quota, which
 * another program may keep, is left as it is).
 */
export async function currentMaildirSize(dir: string, limitBytes: number): Promise<MaildirSize> {
  const found = await readMaildirSize(dir);
  if (found !== undefined && found.fileSize <= MAX_FILE_SIZE && found.limitBytes === limitBytes) return found;
  return recalculateMaildirSize(dir, limitBytes, found?.limitMessages ?? 0);
}

/** Appends one change to maildirsize, in one write; nothing when the file does not exist. */
export function addToMaildirSize(dir: string, change: MaildirUsage): void {
  let fd: number;
  try {
    fd = openSync(join(dir, MAILDIRSIZE), constants.O_WRONLY | constants.O_APPEND);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    writeSync(fd, `${change.bytes} ${change.messages}\n`);
  } finally {
    closeSync(fd);
  }
}

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
 * Used by the virtual delivery agent (virtual_maildir_extended), inside
 * its identity section: every call here is synchronous, so it runs with the
 * mailbox owner's ids (global/privileges.ts).
 * Follows Courier's maildirquota(7) / README.maildirquota.
 */
import { closeSync, constants, openSync, readdirSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { readRegularFileSync } from '../util/file-io.js';
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
export function readMaildirSize(dir: string): MaildirSize | undefined {
  let file;
  try {
    // Anything but a regular file (a FIFO in its place) is not a maildirsize: it gets recalculated over.
    file = readRegularFileSync(join(dir, MAILDIRSIZE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (file === undefined) return undefined;
  const parsed = parseMaildirSize(file.text);
  return parsed === undefined ? undefined : { ...parsed, fileSize: file.stat.size, modified: file.stat.mtimeMs };
}

/** The size a message file's name states (",S=1234"), else undefined. */
function statedSize(name: string): number | undefined {
  const match = /,S=(\d+)/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** The messages in new/ and cur/ of one folder (the INBOX is the Maildir itself). */
export function folderUsage(folder: string): MaildirUsage {
  let bytes = 0;
  let messages = 0;
  for (const sub of ['new', 'cur']) {
    let names: string[];
    try {
      names = readdirSync(join(folder, sub));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const size = statedSize(name) ?? statSync(join(folder, sub, name), { throwIfNoEntry: false })?.size;
      // A message removed while we looked no longer counts.
      if (size === undefined) continue;
      bytes += size;
      messages++;
    }
  }
  return { bytes, messages };
}

/** The ".Folder" subfolders of a Maildir++. */
function subfolders(dir: string): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && e.name.startsWith('.') && e.name !== '.' && e.name !== '..').map((e) => join(dir, e.name));
}

/** The usage of the whole Maildir (INBOX and every folder). */
export function maildirUsage(dir: string): MaildirUsage {
  let bytes = 0;
  let messages = 0;
  for (const folder of [dir, ...subfolders(dir)]) {
    const usage = folderUsage(folder);
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
export function recalculateMaildirSize(dir: string, limitBytes: number, limitMessages: number): MaildirSize {
  const usage = maildirUsage(dir);
  const text = `${quotaLine(limitBytes, limitMessages)}\n${usage.bytes} ${usage.messages}\n`;
  const tmp = join(dir, 'tmp', `${Date.now()}.${process.pid}.${hostname()}.${MAILDIRSIZE}`);
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, join(dir, MAILDIRSIZE));
  return { limitBytes, limitMessages, usage, fileSize: Buffer.byteLength(text), modified: Date.now() };
}

/**
 * The current maildirsize, recalculated first when it is missing, too long,
 * or states another byte quota than limitBytes (its message quota, which
 * another program may keep, is left as it is).
 */
export function currentMaildirSize(dir: string, limitBytes: number): MaildirSize {
  const found = readMaildirSize(dir);
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

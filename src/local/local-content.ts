/*
 * local-content - the message as local delivery writes it: the headers
 * local(8) prepends (Return-Path:, Delivered-To:, X-Original-To:) and then
 * the queued content (contentLines), joined with LF for a command; and the
 * Delivered-To: values already in the message, for loop detection.
 */
import { contentLines, type QueueFileInfo } from '../global/queue/queue-file-read.js';
import type { MessageLines } from './local-write.js';

/** The same lines joined with LF, for a pipe or a forwarded copy. */
export async function* messageBytes(lines: MessageLines): AsyncGenerator<Buffer> {
  for await (const line of lines) yield Buffer.concat([line, Buffer.from('\n')]);
}

/** The Delivered-To: addresses in the message header, lower-cased. */
export async function deliveredTo(queueFile: string | number, info: QueueFileInfo): Promise<Set<string>> {
  const found = new Set<string>();
  let inHeader = 0;
  for await (const line of contentLines(queueFile, info, [])) {
    inHeader += line.length + 1;
    if (inHeader > info.headerSize) break;
    const text = line.toString('latin1');
    if (/^delivered-to:/i.test(text)) found.add(text.slice(text.indexOf(':') + 1).trim().toLowerCase());
  }
  return found;
}

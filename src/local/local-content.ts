/*
 * local-content - the message as local delivery writes it: the headers
 * local(8) prepends (Return-Path:, Delivered-To:, X-Original-To:) and then
 * the queued content, as LF-free lines read from the queue file one chunk
 * at a time; and the Delivered-To: values already in the message, for loop
 * detection.
 */
import { contentStream, type QueueFileInfo } from '../global/queue/queue-file-read.js';
import type { MessageLines } from './local-write.js';

/** The content of a queue file as lines, after the given header lines. */
export async function* messageLines(queueFile: string | number, info: QueueFileInfo, prepend: readonly string[]): AsyncGenerator<Buffer> {
  for (const header of prepend) yield Buffer.from(header, 'utf8');
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of contentStream(queueFile, info) as AsyncIterable<Buffer>) {
    let data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    let start = 0;
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      yield data.subarray(start, nl);
      start = nl + 1;
    }
    data = data.subarray(start);
    rest = Buffer.from(data);
  }
  if (rest.length > 0) yield rest;
}

/** The same lines joined with LF, for a pipe or a forwarded copy. */
export async function* messageBytes(lines: MessageLines): AsyncGenerator<Buffer> {
  for await (const line of lines) yield Buffer.concat([line, Buffer.from('\n')]);
}

/** The Delivered-To: addresses in the message header, lower-cased. */
export async function deliveredTo(queueFile: string | number, info: QueueFileInfo): Promise<Set<string>> {
  const found = new Set<string>();
  let inHeader = 0;
  for await (const line of messageLines(queueFile, info, [])) {
    inHeader += line.length + 1;
    if (inHeader > info.headerSize) break;
    const text = line.toString('latin1');
    if (/^delivered-to:/i.test(text)) found.add(text.slice(text.indexOf(':') + 1).trim().toLowerCase());
  }
  return found;
}

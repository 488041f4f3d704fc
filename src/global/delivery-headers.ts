/*
 * delivery-headers - the headers a final delivery agent prepends to the
 * message it writes (Return-Path: with the envelope sender, Delivered-To:
 * with the recipient, X-Original-To: with the address as it was given to
 * the mail system) and the Delivered-To: values already in a queued
 * message, for mail-loop detection. Shared by the local and virtual
 * delivery agents, as local(8) and virtual(8) describe them.
 */
import type { DeliveryRecipient } from './deliver-clnt.js';
import { contentLines, type QueueFileInfo } from './queue/queue-file-read.js';

/** Return-Path:, Delivered-To: and (when the recipient has an original address) X-Original-To:. */
export function deliveryHeaders(sender: string, rcpt: Pick<DeliveryRecipient, 'address' | 'original'>): string[] {
  const out = [`Return-Path: <${sender}>`, `Delivered-To: ${rcpt.address}`];
  if (rcpt.original !== '') out.push(`X-Original-To: ${rcpt.original}`);
  return out;
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

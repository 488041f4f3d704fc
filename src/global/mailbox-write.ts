/*
 * mailbox-write - streams message lines into an open mailbox file with LF line
 * endings, buffered, with optional "From " quoting (mbox) and a size limit
 * checked as bytes go out, so a huge message is never held in memory and
 * never grows a mailbox past mailbox_size_limit (virtual_mailbox_limit).
 * Used by mailbox-maildir.ts and mailbox-mbox.ts, for the local and virtual
 * delivery agents.
 */

/** Where written bytes go: all of each chunk, in order. */
export type ChunkSink = (chunk: Buffer) => void | Promise<void>;

/** Message content as lines without their line endings. */
export type MessageLines = AsyncIterable<Buffer> | Iterable<Buffer>;

/** Raised when a delivery would pass mailbox_size_limit (a permanent 5.2.2 condition). */
export class MailboxLimitError extends Error {
  constructor(readonly limit: number) {
    super(`message would exceed mailbox size limit of ${limit} bytes`);
    this.name = 'MailboxLimitError';
  }
}

const FLUSH_AT = 64 * 1024;
const FROM_ = Buffer.from('From ');
const QUOTE = Buffer.from('>');
const LF = Buffer.from('\n');

/**
 * Writes lines to sink (an mbox opened for appending, or a new file);
 * returns the bytes written. quoteFrom prefixes ">" to lines starting
 * with "From ". sizeLimit bounds the whole file (0: none), counting from
 * alreadyThere bytes.
 */
export async function writeLines(
  sink: ChunkSink,
  lines: MessageLines,
  options: { quoteFrom: boolean; sizeLimit: number; alreadyThere?: number },
): Promise<number> {
  const base = options.alreadyThere ?? 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let written = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await sink(chunk);
  };
  const push = (part: Buffer): void => {
    pending.push(part);
    pendingBytes += part.length;
    written += part.length;
  };
  const add = (line: Buffer): void => {
    if (options.quoteFrom && line.subarray(0, FROM_.length).equals(FROM_)) push(QUOTE);
    push(line);
    push(LF);
    if (options.sizeLimit > 0 && base + written > options.sizeLimit) throw new MailboxLimitError(options.sizeLimit);
  };
  // Lines read from the queue file come synchronously: no promise per line.
  if (Symbol.iterator in lines) {
    for (const line of lines) {
      add(line);
      if (pendingBytes >= FLUSH_AT) await flush();
    }
  } else {
    for await (const line of lines) {
      add(line);
      if (pendingBytes >= FLUSH_AT) await flush();
    }
  }
  await flush();
  return written;
}

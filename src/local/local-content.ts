/*
 * local-content - the message as local delivery hands it to a command or
 * forwards it: the lines (with the prepended headers of
 * global/delivery-headers.ts) joined with LF.
 */
import type { MessageLines } from '../global/mailbox-write.js';

/** The same lines joined with LF, for a pipe or a forwarded copy. */
export async function* messageBytes(lines: MessageLines): AsyncGenerator<Buffer> {
  for await (const line of lines) yield Buffer.concat([line, Buffer.from('\n')]);
}

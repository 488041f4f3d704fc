/*
 * line-endings - turns message data as received (CRLF, and whatever bare CR or
 * bare LF a client sends) into the queue's LF-only lines: CRLF and bare LF
 * end a line, and a bare CR also ends a line, so no line ending a client
 * smuggles in can later be written out as anything but a proper CRLF line
 * break (SMTP smuggling, DESIGN §2). Works chunk by chunk; used by smtpd
 * and by "sendmail -bs".
 */

/** Converts chunks; keeps a trailing CR until the next chunk shows what follows it. */
export class LineEndingNormalizer {
  private pendingCr = false;

  /** The normalized bytes of chunk. */
  write(chunk: Buffer): Buffer {
    if (!this.pendingCr && chunk.indexOf(13) < 0) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let n = 0;
    let i = 0;
    if (this.pendingCr) {
      out[n++] = 10;
      if (chunk[0] === 10) i = 1;
      this.pendingCr = false;
    }
    // Copies the runs between CRs whole; each CR (with the LF after it, if any) becomes one LF.
    for (let cr = chunk.indexOf(13, i); cr >= 0; cr = chunk.indexOf(13, i)) {
      n += chunk.copy(out, n, i, cr);
      if (cr + 1 === chunk.length) {
        this.pendingCr = true;
        return out.subarray(0, n);
      }
      out[n++] = 10;
      i = chunk[cr + 1] === 10 ? cr + 2 : cr + 1;
    }
    n += chunk.copy(out, n, i);
    return out.subarray(0, n);
  }

  /** What is left at the end of the data. */
  end(): Buffer {
    const rest = this.pendingCr ? Buffer.from('\n') : Buffer.alloc(0);
    this.pendingCr = false;
    return rest;
  }
}

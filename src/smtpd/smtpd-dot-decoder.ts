/*
 * smtpd-dot-decoder - turns DATA content as a client sends it into the
 * queue's LF-only lines: the end-of-data line found, dot-stuffing undone,
 * and every line ending (CRLF, bare LF, bare CR) made one LF, so no line
 * ending a client smuggles in can later leave Petrel as anything but a
 * proper CRLF (SMTP smuggling, DESIGN §2). Which line ends the data follows
 * smtpd_forbid_bare_newline: "normalize" (Postfix 3.9's default) takes only
 * CRLF "." CRLF; "no" also takes a "." line next to a bare LF; "reject"
 * stops at the first bare LF so the session can refuse it. Used by
 * smtpd-session.ts through SmtpInput.data.
 */
import type { DataDecoder } from './smtpd-input.js';

/** How bare LF is treated (smtpd_forbid_bare_newline, after exclusions). */
export type BareNewlineMode = 'normalize' | 'reject' | 'no';

/** A line longer than this is passed on in pieces instead of being held whole. */
const HOLD_LIMIT = 8192;

const LF = 10;
const CR = 13;
const DOT = 46;

/** Decodes one message's DATA content. */
export class DotDecoder implements DataDecoder {
  private partial: Buffer | undefined;
  /** The line before the current one ended in CRLF (the DATA command did). */
  private prevCrlf = true;
  /** Part of the current line was already passed on. */
  private midLine = false;
  /** A bare LF was seen (in reject mode the decoder stops there). */
  bareLf = false;

  constructor(
    private readonly mode: BareNewlineMode,
    private readonly sink: (chunk: Buffer) => void,
  ) {}

  feed(chunk: Buffer): number {
    const carried = this.partial?.length ?? 0;
    const data = carried > 0 ? Buffer.concat([this.partial as Buffer, chunk]) : chunk;
    this.partial = undefined;
    const out = Buffer.allocUnsafe(data.length + 1);
    let n = 0;
    let pos = 0;
    for (let lf = data.indexOf(LF, pos); lf >= 0; lf = data.indexOf(LF, pos)) {
      const crlf = lf > pos && data[lf - 1] === CR;
      if (!crlf) {
        this.bareLf = true;
        if (this.mode === 'reject') {
          this.sink(out.subarray(0, n));
          return lf + 1 - carried;
        }
      }
      const end = crlf ? lf - 1 : lf;
      let start = pos;
      if (!this.midLine && data[pos] === DOT) {
        if (end - pos === 1 && ((crlf && this.prevCrlf) || this.mode === 'no')) {
          this.sink(out.subarray(0, n));
          return lf + 1 - carried;
        }
        start = pos + 1;
      }
      n = copyLine(data, start, end, out, n);
      out[n++] = LF;
      this.prevCrlf = crlf;
      this.midLine = false;
      pos = lf + 1;
    }
    if (data.length - pos > HOLD_LIMIT) {
      // A long line: pass on all but a final CR (whose LF may come next).
      let end = data.length;
      if (data[end - 1] === CR) end--;
      const start = !this.midLine && data[pos] === DOT ? pos + 1 : pos;
      n = copyLine(data, start, end, out, n);
      this.midLine = true;
      pos = end;
    }
    if (pos < data.length) this.partial = Buffer.from(data.subarray(pos));
    if (n > 0) this.sink(out.subarray(0, n));
    return -1;
  }
}

/** Copies data[start, end) to out at n with each bare CR made an LF; returns the new n. */
function copyLine(data: Buffer, start: number, end: number, out: Buffer, n: number): number {
  let i = start;
  for (let cr = data.indexOf(CR, i); cr >= 0 && cr < end; cr = data.indexOf(CR, i)) {
    n += data.copy(out, n, i, cr);
    out[n++] = LF;
    i = cr + 1;
  }
  return n + data.copy(out, n, i, end);
}

/*
 * cleanup-mime - the MIME structure cleanup(8) follows for content
 * inspection (Postfix's mime_state): after the primary header, each body
 * line is a body line (body_checks; MIME boundaries included) or part of a
 * header of a body part, which is folded into one logical header and
 * inspected with mime_header_checks, or with nested_header_checks for the
 * non-MIME headers of an attached message (message/rfc822). Multipart
 * boundaries nest up to mime_nesting_limit; body_checks_size_limit bounds
 * how much of each body segment is inspected. With
 * disable_mime_input_processing every line after the primary header is a
 * body line. Used by cleanup-headers.ts.
 */
import type { CheckClass } from './cleanup-content-checks.js';

/** A unit of the body: a logical header of a part, or one line. */
export type MimeItem =
  | { readonly kind: 'header'; readonly cls: CheckClass; readonly text: string }
  | { readonly kind: 'line'; readonly text: string; readonly inspect: boolean };

/** How the structure is followed. */
export interface MimeOptions {
  /** False for disable_mime_input_processing. */
  readonly mime: boolean;
  readonly nestingLimit: number;
  readonly bodyLimit: number;
}

const HEADER_LINE = /^[\x21-\x39\x3b-\x7e]+:/;

/** True for a MIME header (Content-*, MIME-Version), which mime_header_checks inspect wherever it is. */
export function isMimeHeader(text: string): boolean {
  return /^(content-[^:]*|mime-version)\s*:/i.test(text);
}

/** The class a header of the primary header block is inspected with. */
export function primaryHeaderClass(text: string, options: MimeOptions): CheckClass {
  return options.mime && isMimeHeader(text) ? 'mime' : 'header';
}

/** The media type and boundary of a Content-Type header, lower-case type. */
export function contentType(text: string): { type: string; boundary?: string } {
  const value = text.slice(text.indexOf(':') + 1).replace(/\n/g, '');
  const type = (/^\s*([^;\s]+)/.exec(value)?.[1] ?? 'text/plain').toLowerCase();
  const boundary = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(value);
  return boundary === null ? { type } : { type, boundary: boundary[1] ?? boundary[2] };
}

/** Follows the body of one message line by line. */
export class MimeState {
  private readonly boundaries: string[] = [];
  /** In a part's header block: which class its non-MIME headers are, else undefined. */
  private inHeaders: CheckClass | undefined;
  private pending: string | undefined;
  private partType: { type: string; boundary?: string } = { type: 'text/plain' };
  private segmentBytes = 0;

  /** primaryType: the message's Content-Type header, when it has one. */
  constructor(
    private readonly options: MimeOptions,
    primaryType: string | undefined,
  ) {
    if (options.mime && primaryType !== undefined) this.enterPart(contentType(primaryType));
  }

  /** What a part of the given type makes of the lines that follow its header. */
  private enterPart(type: { type: string; boundary?: string }): void {
    const depth = this.boundaries.length;
    if (type.type.startsWith('multipart/') && type.boundary !== undefined && type.boundary !== '' && depth < this.options.nestingLimit) {
      this.boundaries.push(type.boundary);
    } else if (type.type === 'message/rfc822' && depth < this.options.nestingLimit) {
      this.inHeaders = 'nested';
      this.partType = { type: 'text/plain' };
    }
  }

  private bodyLine(text: string): MimeItem {
    const inspect = this.segmentBytes < this.options.bodyLimit;
    this.segmentBytes += text.length + 1;
    return { kind: 'line', text, inspect };
  }

  private flushHeader(out: MimeItem[]): void {
    if (this.pending === undefined || this.inHeaders === undefined) return;
    const text = this.pending;
    this.pending = undefined;
    if (/^content-type\s*:/i.test(text)) this.partType = contentType(text);
    out.push({ kind: 'header', cls: isMimeHeader(text) ? 'mime' : this.inHeaders, text });
  }

  /** A boundary line of an enclosing multipart: where it leads, or undefined for a plain line. */
  private boundary(line: string): 'part' | 'close' | undefined {
    if (!line.startsWith('--')) return undefined;
    for (let i = this.boundaries.length - 1; i >= 0; i--) {
      const b = `--${this.boundaries[i] as string}`;
      if (!line.startsWith(b)) continue;
      const rest = line.slice(b.length);
      const close = rest.startsWith('--');
      if (!/^\s*$/.test(close ? rest.slice(2) : rest)) continue;
      this.boundaries.length = close ? i : i + 1;
      return close ? 'close' : 'part';
    }
    return undefined;
  }

  /** Takes one body line (without its LF); returns the items it completes. */
  push(line: string): MimeItem[] {
    const out: MimeItem[] = [];
    if (!this.options.mime) return [this.bodyLine(line)];
    if (this.inHeaders !== undefined) {
      if ((line.startsWith(' ') || line.startsWith('\t')) && this.pending !== undefined) {
        this.pending += `\n${line}`;
        return out;
      }
      this.flushHeader(out);
      if (HEADER_LINE.test(line)) {
        this.pending = line;
        return out;
      }
      // The empty line (or a line that is no header) ends the part's header block.
      this.inHeaders = undefined;
      this.segmentBytes = 0;
      const type = this.partType;
      this.partType = { type: 'text/plain' };
      this.enterPart(type);
      if (line === '') {
        out.push({ kind: 'line', text: line, inspect: false });
        return out;
      }
    }
    const edge = this.boundary(line);
    if (edge !== undefined) {
      this.segmentBytes = 0;
      out.push(this.bodyLine(line));
      if (edge === 'part') this.inHeaders = 'mime';
      return out;
    }
    out.push(this.bodyLine(line));
    return out;
  }

  /** Ends the body; returns a header still being folded. */
  end(): MimeItem[] {
    const out: MimeItem[] = [];
    this.flushHeader(out);
    return out;
  }
}

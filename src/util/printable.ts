/*
 * printable - text that came from a peer (a client's command, a DNS TXT
 * record, a table server's reply, a SASL login name) made safe to quote in
 * a log line or an SMTP reply: every character that is not printable is
 * replaced, so that no one can write a line break, a terminal escape or a
 * forged log line through it. Follows Postfix's printable(3): ASCII text
 * keeps only the printable characters; text that may be UTF-8 keeps every
 * character above the C1 controls.
 */

/** Characters replaced in ASCII text: everything outside space .. "~". */
const NOT_ASCII_PRINTABLE = /[^\x20-\x7e]/g;

/** Characters replaced in text that may be UTF-8: the C0 controls, DEL and the C1 controls. */
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;

/** How to make text printable. */
export interface PrintableOptions {
  /** What replaces each character that is not printable (default "?"). */
  readonly replacement?: string;
  /** Keep characters beyond ASCII (UTF-8 text), replacing only the controls. */
  readonly utf8?: boolean;
}

/** text with each character that is not printable replaced. */
export function printable(text: string, options: PrintableOptions = {}): string {
  return text.replace(options.utf8 === true ? CONTROL : NOT_ASCII_PRINTABLE, options.replacement ?? '?');
}

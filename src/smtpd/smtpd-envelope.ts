/*
 * smtpd-envelope - parses the arguments of MAIL FROM and RCPT TO: the path
 * (with or without angle brackets, quoted local parts, a source route
 * dropped as RFC 5321 allows) and the ESMTP parameters, each checked
 * against what smtpd offers (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH;
 * NOTIFY, ORCPT). An unknown parameter is 555 5.5.4, bad syntax 501, as
 * Postfix's smtpd answers. Used by smtpd-commands.ts.
 */

/** A parsed MAIL or RCPT argument. */
export interface PathArgument {
  readonly address: string;
  /** ESMTP parameters by upper-case keyword; a keyword without value maps to ''. */
  readonly params: ReadonlyMap<string, string>;
}

/** A reply that refuses the command. */
export interface EnvelopeError {
  readonly code: number;
  readonly text: string;
}

const CONTROL = /[\x00-\x1f\x7f]/;
const XTEXT = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*$/;

/** The end of an angle-bracketed path starting at open, honouring quotes and backslashes; -1 when unterminated. */
function closingBracket(text: string, open: number): number {
  let quoted = false;
  for (let i = open + 1; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') i++;
    else if (ch === '"') quoted = !quoted;
    else if (ch === '>' && !quoted) return i;
  }
  return -1;
}

/** Parses "FROM:<addr> params" or "TO:<addr> params". */
export function parsePathArgument(argument: string, keyword: 'FROM' | 'TO', strict = false): PathArgument | EnvelopeError {
  const syntax: EnvelopeError = { code: 501, text: `5.5.4 Syntax: ${keyword === 'FROM' ? 'MAIL FROM' : 'RCPT TO'}:<address>` };
  const bad: EnvelopeError = keyword === 'FROM' ? { code: 501, text: '5.1.7 Bad sender address syntax' } : { code: 501, text: '5.1.3 Bad recipient address syntax' };
  if (argument.slice(0, keyword.length + 1).toUpperCase() !== `${keyword}:`) return syntax;
  const rest = argument.slice(keyword.length + 1).replace(/^[ \t]+/, '');
  let address: string;
  let after: string;
  if (rest.startsWith('<')) {
    const close = closingBracket(rest, 0);
    if (close < 0) return bad;
    address = rest.slice(1, close);
    after = rest.slice(close + 1);
    if (after !== '' && !/^[ \t]/.test(after)) return bad;
  } else {
    // strict_rfc821_envelopes: the address must be in angle brackets.
    if (strict && rest !== '') return bad;
    const space = rest.search(/[ \t]/);
    address = space < 0 ? rest : rest.slice(0, space);
    after = space < 0 ? '' : rest.slice(space);
  }
  if (rest === '') return syntax;
  if (CONTROL.test(address) || /^[ \t]|[ \t]$/.test(address)) return bad;
  // A source route ("@a,@b:user@c") is obsolete; the mailbox after it is the address.
  if (address.startsWith('@')) {
    const colon = address.indexOf(':');
    if (colon < 0) return bad;
    address = address.slice(colon + 1);
  }
  if (address.length > 0 && address.replace(/"(?:[^"\\]|\\.)*"/g, '').includes(' ')) return bad;
  const params = new Map<string, string>();
  for (const word of after.trim().split(/[ \t]+/)) {
    if (word === '') continue;
    const eq = word.indexOf('=');
    const key = (eq < 0 ? word : word.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? '' : word.slice(eq + 1);
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(key) || CONTROL.test(value)) return { code: 501, text: `5.5.4 Bad parameter syntax: ${word.slice(0, 64)}` };
    params.set(key, value);
  }
  return { address, params };
}

/** What MAIL FROM parameters may say, given what was offered. */
export interface MailOffer {
  readonly sizeLimit: number;
  readonly smtputf8: boolean;
}

/** Checks MAIL FROM's parameters; a refusal, or undefined when they are acceptable. */
export function checkMailParams(params: ReadonlyMap<string, string>, address: string, offer: MailOffer): EnvelopeError | undefined {
  for (const [key, value] of params) {
    switch (key) {
      case 'SIZE':
        if (!/^\d{1,20}$/.test(value)) return { code: 501, text: '5.5.4 Bad message size syntax' };
        if (offer.sizeLimit > 0 && Number(value) > offer.sizeLimit) return { code: 552, text: '5.3.4 Message size exceeds fixed limit' };
        break;
      case 'BODY':
        if (!['7BIT', '8BITMIME'].includes(value.toUpperCase())) return { code: 501, text: '5.5.4 Unsupported BODY parameter value' };
        break;
      case 'SMTPUTF8':
        if (!offer.smtputf8 || value !== '') return { code: 555, text: '5.5.4 Unsupported option: SMTPUTF8' };
        break;
      case 'RET':
        if (!['FULL', 'HDRS'].includes(value.toUpperCase())) return { code: 501, text: '5.5.4 Bad RET parameter syntax' };
        break;
      case 'ENVID':
        if (value === '' || value.length > 100 || !XTEXT.test(value)) return { code: 501, text: '5.5.4 Bad ENVID parameter syntax' };
        break;
      case 'AUTH':
        // RFC 4954 5: the submitter's identity as another server asserts it; Petrel records none.
        if (value === '') return { code: 501, text: '5.5.4 Bad AUTH parameter syntax' };
        break;
      default:
        return { code: 555, text: `5.5.4 Unsupported option: ${key}` };
    }
  }
  if (!/^[\x00-\x7f]*$/.test(address) && !params.has('SMTPUTF8')) return { code: 553, text: '5.6.7 Must declare SMTPUTF8 to send unicode address' };
  return undefined;
}

/** Checks RCPT TO's parameters; a refusal, or undefined when they are acceptable. */
export function checkRcptParams(params: ReadonlyMap<string, string>, address: string, smtputf8: boolean): EnvelopeError | undefined {
  for (const [key, value] of params) {
    switch (key) {
      case 'NOTIFY': {
        const items = value.toUpperCase().split(',');
        const ok = (items.length === 1 && items[0] === 'NEVER') || items.every((i) => ['SUCCESS', 'FAILURE', 'DELAY'].includes(i));
        if (!ok) return { code: 501, text: '5.5.4 Error: Bad NOTIFY parameter syntax' };
        break;
      }
      case 'ORCPT':
        if (!/^[A-Za-z0-9-]+;/.test(value) || value.length > 500) return { code: 501, text: '5.5.4 Error: Bad ORCPT parameter syntax' };
        break;
      default:
        return { code: 555, text: `5.5.4 Unsupported option: ${key}` };
    }
  }
  if (!/^[\x00-\x7f]*$/.test(address) && !smtputf8) return { code: 553, text: '5.6.7 Must declare SMTPUTF8 to send unicode address' };
  return undefined;
}

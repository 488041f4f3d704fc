/*
 * addr-header - the addresses in an address header (To:, Cc:, Bcc:, From:),
 * RFC 5322 style: a comma-separated list where display names may be quoted,
 * comments are in parentheses, an address may be in <angle brackets>, and
 * groups ("friends: a@x, b@y;") list their members; and the rewriting of
 * the addresses in sender and recipient headers. Used by cleanup (sendmail
 * -t recipients, masquerading) and smtp (smtp_generic_maps).
 */

function splitTopLevel(text: string, separators: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let depth = 0;
  let angle = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + (text[++i] as string);
      continue;
    }
    if (ch === '"' && depth === 0) quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')' && depth > 0) depth--;
    else if (!quoted && depth === 0 && ch === '<') angle = true;
    else if (!quoted && depth === 0 && ch === '>') angle = false;
    if (!quoted && depth === 0 && !angle && separators.includes(ch)) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}

function mailbox(item: string): string | undefined {
  const unquoted = item.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const angle = /<([^<>]*)>/.exec(unquoted);
  const bare = angle !== null ? (angle[1] as string) : unquoted.replace(/\([^()]*\)/g, '').replace(/""/g, '');
  const address = bare.replace(/^@[^:]*:/, '').trim();
  return address === '' || /\s/.test(address) ? undefined : address;
}

/** The addresses in an address header's value, in order. */
export function headerAddresses(value: string): string[] {
  const addresses: string[] = [];
  for (const item of splitTopLevel(value.replace(/\r?\n/g, ' '), ',;')) {
    const colon = splitTopLevel(item, ':');
    const member = colon.length > 1 && !item.includes('<') ? colon.slice(1).join(':') : item;
    const address = mailbox(member);
    if (address !== undefined) addresses.push(address);
  }
  return addresses;
}

const SENDER_HEADERS = new Set(['from', 'sender', 'reply-to', 'errors-to', 'resent-from', 'resent-sender', 'resent-reply-to']);
const RECIPIENT_HEADERS = new Set(['to', 'cc', 'bcc', 'resent-to', 'resent-cc', 'resent-bcc', 'apparently-to']);

/** The address class of a header ("header_sender", "header_recipient"), or undefined for a header without addresses. */
export function headerAddressClass(header: string): 'header_sender' | 'header_recipient' | undefined {
  const colon = header.indexOf(':');
  const name = colon > 0 ? header.slice(0, colon).trim().toLowerCase() : '';
  return SENDER_HEADERS.has(name) ? 'header_sender' : RECIPIENT_HEADERS.has(name) ? 'header_recipient' : undefined;
}

/** header (name, colon, value, continuation lines) with each address rewritten where rewrite changes it. */
export function rewriteHeaderAddresses(header: string, rewrite: (address: string, addressClass: 'header_sender' | 'header_recipient') => string): string {
  const addressClass = headerAddressClass(header);
  if (addressClass === undefined) return header;
  const colon = header.indexOf(':');
  let value = header.slice(colon + 1);
  for (const address of headerAddresses(value)) {
    const rewritten = rewrite(address, addressClass);
    if (rewritten !== address) value = value.split(address).join(rewritten);
  }
  return header.slice(0, colon + 1) + value;
}

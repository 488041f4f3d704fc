/*
 * addr-header - the addresses in an address header (To:, Cc:, Bcc:, From:),
 * RFC 5322 style: a comma-separated list where display names may be quoted,
 * comments are in parentheses, an address may be in <angle brackets>, and
 * groups ("friends: a@x, b@y;") list their members. Used by cleanup to
 * extract recipients for "sendmail -t".
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

/*
 * xtext - RFC 3461's xtext, in which ENVID and ORCPT travel: "+", "=" and
 * bytes outside "!" to "~" written as "+XX". smtpd decodes what clients
 * send, the smtp client encodes what it passes on; text is UTF-8 both ways,
 * so a value makes the round trip unchanged.
 */

/** text as xtext. */
export function encodeXtext(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte < 0x21 || byte > 0x7e || byte === 0x2b || byte === 0x3d ? `+${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

/** xtext decoded ("+2B" is "+"). */
export function decodeXtext(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value[i] === '+' ? /^[0-9A-F]{2}$/.exec(value.slice(i + 1, i + 3)) : null;
    if (hex !== null) {
      bytes.push(parseInt(hex[0], 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i] as string, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

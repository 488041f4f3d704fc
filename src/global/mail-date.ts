/*
 * mail-date - the RFC 5322 date Petrel writes in Date: and Received:
 * headers, in Postfix's form: "Sun, 22 Nov 2026 15:40:00 +0000 (UTC)".
 * Used by smtpd, cleanup and the bounce notices to come.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Building an Intl formatter costs far more than using one: it is made once. */
const ZONE_NAME = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' });

/** The last date made, by its second: a busy server asks for the same second many times. */
let last = { second: Number.NaN, text: '' };

/** when as an RFC 5322 date in local time with the zone's name. */
export function rfc5322Date(when: Date): string {
  const second = Math.floor(when.getTime() / 1000);
  if (second === last.second) return last.text;
  const text = formatDate(when);
  last = { second, text };
  return text;
}

function formatDate(when: Date): string {
  const offset = -when.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const two = (n: number): string => String(n).padStart(2, '0');
  const zone = `${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
  const name = ZONE_NAME.formatToParts(when).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
  return `${DAYS[when.getDay()]}, ${when.getDate()} ${MONTHS[when.getMonth()]} ${when.getFullYear()} ${two(when.getHours())}:${two(when.getMinutes())}:${two(when.getSeconds())} ${zone} (${name})`;
}


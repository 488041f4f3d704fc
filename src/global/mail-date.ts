/*
 * mail-date - the RFC 5322 date Petrel writes in Date: and Received:
 * headers, in Postfix's form: "Sun, 22 Nov 2026 15:40:00 +0000 (UTC)".
 * The zone's name is the abbreviation of the POSIX TZ rule in force, as
 * strftime's %Z gives it to Postfix: TZ's own rule, or the rule at the end
 * of the zone file TZ names, or of /etc/localtime. Only when there is no
 * such rule does it ask ICU (Intl), whose zone data and formatter cost a
 * process 1.5 to 4 MB of memory. Used by smtpd, cleanup and the notices of
 * bounce and qmgr.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A POSIX TZ rule's names: std's, its offset in minutes east of UTC, and the daylight-saving name if any. */
export interface ZoneNames {
  readonly std: string;
  readonly stdEast: number;
  readonly dst: string | undefined;
}

/** The name of a POSIX TZ rule at the start of rule ("CET", "<+0530>" as "+0530"), and where it ends. */
function ruleName(rule: string, from: number): { name: string; end: number } | undefined {
  if (rule[from] === '<') {
    const close = rule.indexOf('>', from);
    return close > from + 1 ? { name: rule.slice(from + 1, close), end: close + 1 } : undefined;
  }
  const match = /^[A-Za-z]{3,}/.exec(rule.slice(from));
  return match === null ? undefined : { name: match[0], end: from + match[0].length };
}

/** The names of a POSIX TZ rule ("UTC0", "CET-1CEST,M3.5.0,M10.5.0/3", "<+0530>-5:30"); undefined when it is not one. */
export function parseTzRule(rule: string): ZoneNames | undefined {
  const std = ruleName(rule, 0);
  if (std === undefined) return undefined;
  const offset = /^([+-]?)(\d{1,2})(?::(\d{2}))?(?::\d{2})?/.exec(rule.slice(std.end));
  if (offset === null) return undefined;
  // A POSIX offset counts hours west of UTC.
  const west = (Number(offset[2]) * 60 + Number(offset[3] ?? 0)) * (offset[1] === '-' ? -1 : 1);
  const dst = ruleName(rule, std.end + offset[0].length);
  return { std: std.name, stdEast: 0 - west, dst: dst?.name };
}

/** The TZ rule at the end of a TZif zone file (version 2 and later), or undefined. */
function zoneFileRule(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'latin1');
    if (!text.startsWith('TZif') || !text.endsWith('\n')) return undefined;
    return text.slice(text.lastIndexOf('\n', text.length - 2) + 1, -1);
  } catch {
    return undefined;
  }
}

/** The local zone's names from TZ or /etc/localtime, read once; undefined when neither gives a rule. */
function localZoneNames(): ZoneNames | undefined {
  const tz = process.env.TZ;
  if (tz === undefined || tz === '') return parseTzRule(zoneFileRule('/etc/localtime') ?? '');
  const name = tz.startsWith(':') ? tz.slice(1) : tz;
  const rule = parseTzRule(name);
  if (rule !== undefined && !name.includes('/')) return rule;
  return parseTzRule(zoneFileRule(name.startsWith('/') ? name : join('/usr/share/zoneinfo', name)) ?? '');
}

let zoneNames: ZoneNames | undefined | null = null;
let icuZoneName: Intl.DateTimeFormat | undefined;

/** The abbreviation of the local zone at when, which is offsetEast minutes east of UTC. */
function zoneName(when: Date, offsetEast: number): string {
  if (zoneNames === null) zoneNames = localZoneNames();
  if (zoneNames !== undefined) {
    if (offsetEast === zoneNames.stdEast) return zoneNames.std;
    if (zoneNames.dst !== undefined) return zoneNames.dst;
  }
  // Building an Intl formatter costs far more than using one: it is made once.
  icuZoneName ??= new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' });
  return icuZoneName.formatToParts(when).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
}

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
  return `${DAYS[when.getDay()]}, ${when.getDate()} ${MONTHS[when.getMonth()]} ${when.getFullYear()} ${two(when.getHours())}:${two(when.getMinutes())}:${two(when.getSeconds())} ${zone} (${zoneName(when, offset)})`;
}


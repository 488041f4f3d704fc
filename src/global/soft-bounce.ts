/*
 * soft-bounce - soft_bounce, Postfix's safety net that keeps mail queued
 * rather than return it (while a new configuration is tried, say): a
 * recipient a delivery agent or qmgr would bounce is deferred instead,
 * its status code made 4.X.Y and its log line saying status=SOFTBOUNCE,
 * and the SMTP server answers 4xx where it would answer 5xx. Each process
 * acts on its own setting, so "-o soft_bounce=yes" on one transport in
 * master.cf keeps only that transport's bounces. As in Postfix, smtpd
 * logs the reply it sends, and address verification probes are left alone
 * (an undeliverable address stays undeliverable). Follows postconf(5)
 * soft_bounce.
 */

/** A status code (5.1.1) or SMTP reply code (550) of class 5 made class 4; anything else as it is. */
function toClass4(code: string): string {
  return code.startsWith('5') ? `4${code.slice(1)}` : code;
}

/** An outcome a soft_bounce made from a bounce: deferred, and logged as status=SOFTBOUNCE. */
export type SoftBounced<T> = Omit<T, 'status'> & { readonly status: 'deferred'; readonly softBounced: true };

/** outcome, or with soft_bounce (on) the deferral a bounce becomes. */
export function softBounce<T extends { readonly status: string; readonly dsn: string }>(outcome: T, on: boolean): T | SoftBounced<T> {
  if (!on || outcome.status !== 'bounced') return outcome;
  return { ...outcome, status: 'deferred', dsn: toClass4(outcome.dsn), softBounced: true };
}

/** An SMTP reply code and its enhanced status code as soft_bounce sends them: 4xx and 4.Y.Z for 5xx and 5.Y.Z. */
export function softBounceCodes(code: number, dsn: string, on: boolean): { code: number; dsn: string } {
  if (!on || code < 500 || code > 599) return { code, dsn };
  return { code: code - 100, dsn: toClass4(dsn) };
}

/** An SMTP reply as soft_bounce sends it: 4xx for 5xx, with an enhanced status code that starts a line (5.Y.Z) made 4.Y.Z too. */
export function softBounceReply(code: number, lines: readonly string[], on: boolean): { code: number; lines: readonly string[] } {
  if (!on || code < 500 || code > 599) return { code, lines };
  return { code: code - 100, lines: lines.map((line) => line.replace(/^5(\.\d{1,3}\.\d{1,3})(?=\s|$)/, '4$1')) };
}

/*
 * time-format - the two local-time stamps Unix mail tools print: syslog's
 * "Nov  2 09:05:07" (log lines) and asctime()'s "Sun Nov  2 09:05:07 2026"
 * (mbox "From " lines, postcat's arrival time).
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** The syslog time stamp: "Nov  2 09:05:07" in local time. */
export function syslogTime(when: Date): string {
  const day = String(when.getDate()).padStart(2, ' ');
  return `${MONTHS[when.getMonth()]} ${day} ${two(when.getHours())}:${two(when.getMinutes())}:${two(when.getSeconds())}`;
}

/** The asctime() stamp: "Sun Nov  2 09:05:07 2026" in local time. */
export function asctime(when: Date): string {
  return `${DAYS[when.getDay()]} ${syslogTime(when)} ${when.getFullYear()}`;
}

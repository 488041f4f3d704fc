/*
 * service-ports - the well-known service names Postfix accepts where a port
 * number goes (master.cf inet services, next hops, smtp_tcp_port), as
 * /etc/services defines them.
 */

const SERVICE_PORTS: Readonly<Record<string, number>> = { smtp: 25, submission: 587, submissions: 465, smtps: 465, lmtp: 24 };

/** The port of a service name or a decimal number; undefined when it is neither (or out of range). */
export function servicePort(text: string): number | undefined {
  const port = SERVICE_PORTS[text] ?? (/^\d+$/.test(text) ? Number(text) : Number.NaN);
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
}

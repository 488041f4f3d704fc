/*
 * dns-server - a small authoritative DNS server on loopback for tests: it
 * answers A, AAAA, MX, NS and TXT queries from a fixed zone over UDP, NXDOMAIN
 * for a name it does not know and an empty answer for a type a known name
 * lacks; a name can instead answer SERVFAIL or never answer (a timeout).
 * It records every question, so a test can count what was asked. Petrel's
 * resolver (dns_servers) meets real DNS messages.
 */
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';

/** The records of one name. */
export interface ZoneEntry {
  readonly a?: readonly string[];
  readonly aaaa?: readonly string[];
  readonly mx?: readonly { readonly preference: number; readonly exchange: string }[];
  readonly txt?: readonly string[];
  readonly ns?: readonly string[];
  /** Answer SERVFAIL for this name, or nothing at all ("timeout"). */
  readonly fail?: 'servfail' | 'timeout';
  /** The records' time to live in seconds (60 when not given). */
  readonly ttl?: number;
}

/** A running server. */
export interface DnsServer {
  readonly port: number;
  /** Every question received, as "TYPE name". */
  readonly queries: string[];
  close(): void;
}

/** Serves zone (names in lower case) on host (127.0.0.1) at port (a free UDP port). */
export async function startDnsServer(zone: Readonly<Record<string, ZoneEntry>>, host = '127.0.0.1', port = 0): Promise<DnsServer> {
  const socket: Socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (message, peer) => {
    let query;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (question === undefined) return;
    queries.push(`${question.type} ${question.name.toLowerCase()}`);
    const entry = zone[question.name.toLowerCase()];
    if (entry?.fail === 'timeout') return;
    const answers: dnsPacket.Answer[] = [];
    if (entry !== undefined) {
      if (question.type === 'A') for (const data of entry.a ?? []) answers.push({ type: 'A', name: question.name, ttl: entry.ttl ?? 60, data });
      if (question.type === 'AAAA') for (const data of entry.aaaa ?? []) answers.push({ type: 'AAAA', name: question.name, ttl: entry.ttl ?? 60, data });
      if (question.type === 'MX') for (const mx of entry.mx ?? []) answers.push({ type: 'MX', name: question.name, ttl: entry.ttl ?? 60, data: mx });
      if (question.type === 'TXT') for (const data of entry.txt ?? []) answers.push({ type: 'TXT', name: question.name, ttl: entry.ttl ?? 60, data });
      if (question.type === 'NS') for (const data of entry.ns ?? []) answers.push({ type: 'NS', name: question.name, ttl: entry.ttl ?? 60, data });
    }
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id,
      // RCODE 3 is NXDOMAIN, 2 SERVFAIL.
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (entry === undefined ? 3 : entry.fail === 'servfail' ? 2 : 0),
      questions: [question],
      answers: entry?.fail === 'servfail' ? [] : answers,
    });
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, resolve);
  });
  return { port: socket.address().port, queries, close: () => socket.close() };
}

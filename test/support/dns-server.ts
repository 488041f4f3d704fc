/*
 * dns-server - a small authoritative DNS server on loopback for tests: it
 * answers A, AAAA and MX queries from a fixed zone over UDP, NXDOMAIN for a
 * name it does not know and an empty answer for a type a known name lacks,
 * so Petrel's resolver (dns_servers) meets real DNS messages.
 */
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';

/** The records of one name. */
export interface ZoneEntry {
  readonly a?: readonly string[];
  readonly aaaa?: readonly string[];
  readonly mx?: readonly { readonly preference: number; readonly exchange: string }[];
}

/** A running server. */
export interface DnsServer {
  readonly port: number;
  close(): void;
}

/** Serves zone (names in lower case) on 127.0.0.1 at a free UDP port. */
export async function startDnsServer(zone: Readonly<Record<string, ZoneEntry>>): Promise<DnsServer> {
  const socket: Socket = createSocket('udp4');
  socket.on('message', (message, peer) => {
    let query;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (question === undefined) return;
    const entry = zone[question.name.toLowerCase()];
    const answers: dnsPacket.Answer[] = [];
    if (entry !== undefined) {
      if (question.type === 'A') for (const data of entry.a ?? []) answers.push({ type: 'A', name: question.name, ttl: 60, data });
      if (question.type === 'AAAA') for (const data of entry.aaaa ?? []) answers.push({ type: 'AAAA', name: question.name, ttl: 60, data });
      if (question.type === 'MX') for (const mx of entry.mx ?? []) answers.push({ type: 'MX', name: question.name, ttl: 60, data: mx });
    }
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (entry === undefined ? 3 : 0),
      questions: [question],
      answers,
    });
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => socket.close() };
}

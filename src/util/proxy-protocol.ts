/*
 * proxy-protocol - reads the PROXY protocol header (versions 1 and 2, as
 * HAProxy's proxy-protocol.txt specifies them) that a load balancer sends
 * before anything else on a connection, so that smtpd can see the real
 * client behind it (postconf(5): smtpd_upstream_proxy_protocol = haproxy,
 * smtpd_upstream_proxy_timeout). smtpd calls readProxyHeader() on each
 * accepted socket before it sends its greeting; parseProxyHeader() is the
 * socket-free parser underneath.
 *
 * Addresses come out the way Postfix logs them: IPv4 dotted decimal, IPv6 as
 * inet_ntop prints it (compressed, lower case), and an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) as the plain IPv4 address; `family` still says
 * what the header declared.
 */
import { isIPv4, isIPv6, SocketAddress, type Socket } from 'node:net';
import { printable } from './printable.js';

/** Version 2 TLV types (proxy-protocol.txt 2.2). */
export const PP2_TYPE = {
  alpn: 0x01,
  authority: 0x02,
  crc32c: 0x03,
  noop: 0x04,
  uniqueId: 0x05,
  ssl: 0x20,
  netns: 0x30,
} as const;

/** Bits of ProxySsl.client. */
export const PP2_CLIENT = { ssl: 0x01, certConn: 0x02, certSess: 0x04 } as const;

/** One version 2 type-length-value extension. */
export interface ProxyTlv {
  readonly type: number;
  readonly value: Buffer;
}

/** What a PP2_TYPE_SSL extension says about the client's TLS session. */
export interface ProxySsl {
  /** PP2_CLIENT bits: TLS used, certificate on this connection, certificate in this session. */
  readonly client: number;
  /** Zero when the client presented a certificate and it verified. */
  readonly verify: number;
  readonly version?: string;
  readonly cn?: string;
  readonly cipher?: string;
  readonly sigAlg?: string;
  readonly keyAlg?: string;
  /** Every sub-TLV in order, the unknown ones included. */
  readonly tlvs: readonly ProxyTlv[];
}

/** A parsed PROXY header. */
export interface ProxyHeader {
  readonly version: 1 | 2;
  /** 'local' (v2 LOCAL, v1 UNKNOWN): the connection's own addresses apply. */
  readonly command: 'proxy' | 'local';
  /** Without addresses when 'unspec': the connection's own addresses apply then too. */
  readonly family: 'tcp4' | 'tcp6' | 'unix' | 'unspec';
  readonly sourceAddress?: string;
  readonly sourcePort?: number;
  readonly destinationAddress?: string;
  readonly destinationPort?: number;
  /** Version 2 extensions in order, NOOP left out; CRC32C has been verified. */
  readonly tlvs: readonly ProxyTlv[];
  /** The decoded PP2_TYPE_SSL extension, when present (its raw TLV is in tlvs too). */
  readonly ssl?: ProxySsl;
}

/** Why a PROXY header was not read: bad bytes, the time limit, or the connection going away. */
export type ProxyFailure = 'invalid' | 'timeout' | 'lost';

/** A PROXY header that could not be read; the message is for the log. */
export class ProxyProtocolError extends Error {
  constructor(readonly kind: ProxyFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProxyProtocolError';
  }
}

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** Longest version 1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses). */
const V1_MAX = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED = 16;
const CR = 0x0d;
const LF = 0x0a;

/** What a version 2 family-and-protocol byte means: the family, and the size of its address block. */
interface V2Layout {
  readonly family: ProxyHeader['family'];
  readonly size: number;
}

/** The family-and-protocol bytes accepted with PROXY; datagrams have no place in SMTP. */
const V2_FAMILIES: Record<number, V2Layout> = {
  0x00: { family: 'unspec', size: 0 },
  0x11: { family: 'tcp4', size: 12 },
  0x21: { family: 'tcp6', size: 36 },
  0x31: { family: 'unix', size: 216 },
};

const SSL_STRINGS: Record<number, 'version' | 'cn' | 'cipher' | 'sigAlg' | 'keyAlg'> = {
  0x21: 'version',
  0x22: 'cn',
  0x23: 'cipher',
  0x24: 'sigAlg',
  0x25: 'keyAlg',
};

function invalid(message: string): ProxyProtocolError {
  return new ProxyProtocolError('invalid', message);
}

/** Parses a header at the start of buf: the header and its length, 'incomplete' when more bytes are needed; throws ProxyProtocolError on bad input. */
export function parseProxyHeader(buf: Buffer): { header: ProxyHeader; length: number } | 'incomplete' {
  // Checking the signature on a partial read rejects an ordinary SMTP client at its first bytes.
  if (startsLike(buf, V2_SIGNATURE)) return parseV2(buf);
  if (startsLike(buf, V1_PREFIX)) return parseV1(buf);
  throw invalid('not a PROXY protocol header');
}

function startsLike(buf: Buffer, signature: Buffer): boolean {
  const n = Math.min(buf.length, signature.length);
  return buf.subarray(0, n).equals(signature.subarray(0, n));
}

/** Where the version 1 line's CR is; undefined when more bytes are needed. */
function v1LineEnd(buf: Buffer): number | undefined {
  const limit = Math.min(buf.length, V1_MAX - 1);
  for (let i = 0; i < limit; i++) {
    if (buf[i] === LF) throw invalid('PROXY line has a bare LF');
    if (buf[i] !== CR) continue;
    if (i + 1 === buf.length) return undefined;
    if (buf[i + 1] !== LF) throw invalid('PROXY line has a bare CR');
    return i;
  }
  if (buf.length >= V1_MAX - 1) throw invalid(`PROXY line has no CRLF within ${V1_MAX} bytes`);
  return undefined;
}

function parseV1(buf: Buffer): { header: ProxyHeader; length: number } | 'incomplete' {
  const end = v1LineEnd(buf);
  if (end === undefined) return 'incomplete';
  const length = end + 2;
  const fields = buf.toString('latin1', V1_PREFIX.length, end).split(' ');
  // The spec has the receiver ignore whatever follows UNKNOWN.
  if (fields[0] === 'UNKNOWN') return { header: { version: 1, command: 'local', family: 'unspec', tlvs: [] }, length };
  if (fields[0] !== 'TCP4' && fields[0] !== 'TCP6') throw invalid(`PROXY line has unknown protocol "${shown(fields[0] ?? '')}"`);
  if (fields.length !== 5) throw invalid('PROXY line does not have exactly two addresses and two ports');
  const family = fields[0] === 'TCP4' ? 'tcp4' : 'tcp6';
  const [, source, destination, sourcePort, destinationPort] = fields as [string, string, string, string, string];
  const header: ProxyHeader = {
    version: 1,
    command: 'proxy',
    family,
    sourceAddress: v1Address(source, family),
    sourcePort: v1Port(sourcePort),
    destinationAddress: v1Address(destination, family),
    destinationPort: v1Port(destinationPort),
    tlvs: [],
  };
  return { header, length };
}

function v1Address(text: string, family: 'tcp4' | 'tcp6'): string {
  // isIPv4 takes only dotted decimal without leading zeros; isIPv6 would also take a %zone.
  if (family === 'tcp4' && isIPv4(text)) return text;
  if (family === 'tcp6' && isIPv6(text) && !text.includes('%')) return printIPv6(text);
  throw invalid(`PROXY line has a bad ${family === 'tcp4' ? 'IPv4' : 'IPv6'} address "${shown(text)}"`);
}

function v1Port(text: string): number {
  const port = /^(?:0|[1-9][0-9]{0,4})$/.test(text) ? Number(text) : NaN;
  if (!(port <= 65535)) throw invalid(`PROXY line has a bad port "${shown(text)}"`);
  return port;
}

/** At most 40 characters of an attacker's text, printable, for an error message. */
function shown(text: string): string {
  return printable(text.slice(0, 40));
}

/** An IPv6 address as inet_ntop prints it, or an IPv4-mapped one as IPv4. */
function printIPv6(text: string): string {
  // libuv's inet_ntop, behind SocketAddress, prints what glibc's (and so Postfix's log) does.
  const printed = new SocketAddress({ address: text, family: 'ipv6' }).address;
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(printed)?.[1] ?? printed;
}

/** How many bytes a header starting in buf needs, when that is known before it is all there. */
function v2Length(buf: Buffer): number | undefined {
  return buf.length >= V2_FIXED && startsLike(buf, V2_SIGNATURE) ? V2_FIXED + buf.readUInt16BE(14) : undefined;
}

function parseV2(buf: Buffer): { header: ProxyHeader; length: number } | 'incomplete' {
  if (buf.length <= 12) return 'incomplete';
  const versionCommand = buf[12] as number;
  if (versionCommand >> 4 !== 2) throw invalid(`PROXY v2 header has version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1) throw invalid(`PROXY v2 header has unknown command ${command}`);
  if (buf.length <= 13) return 'incomplete';
  // LOCAL ignores the family byte altogether (spec 2.2); PROXY must name one we serve.
  const layout = command === 1 ? v2Layout(buf[13] as number) : undefined;
  const length = v2Length(buf);
  if (length === undefined || buf.length < length) return 'incomplete';
  if (layout === undefined) return { header: { version: 2, command: 'local', family: 'unspec', tlvs: [] }, length };
  const block = buf.subarray(0, length);
  if (length - V2_FIXED < layout.size) throw invalid(`PROXY v2 address block is ${length - V2_FIXED} bytes, ${layout.family} needs ${layout.size}`);
  const tlvs = readTlvs(block, V2_FIXED + layout.size, length);
  checkCrc(block, tlvs);
  const ssl = decodeSsl(tlvs);
  const header: ProxyHeader = {
    version: 2,
    command: 'proxy',
    family: layout.family,
    ...v2Addresses(block, layout.family),
    tlvs: tlvs.filter((tlv) => tlv.type !== PP2_TYPE.noop).map(({ type, value }) => ({ type, value })),
    ...(ssl === undefined ? {} : { ssl }),
  };
  return { header, length };
}

function v2Layout(familyByte: number): V2Layout {
  const layout = V2_FAMILIES[familyByte];
  if (layout !== undefined) return layout;
  if ((familyByte & 0x0f) === 2) throw invalid('PROXY v2 header announces a datagram connection');
  throw invalid(`PROXY v2 header has unsupported family and protocol 0x${familyByte.toString(16).padStart(2, '0')}`);
}

function v2Addresses(block: Buffer, family: ProxyHeader['family']): Partial<ProxyHeader> {
  const at = V2_FIXED;
  switch (family) {
    case 'tcp4':
      return {
        sourceAddress: Array.from(block.subarray(at, at + 4)).join('.'),
        sourcePort: block.readUInt16BE(at + 8),
        destinationAddress: Array.from(block.subarray(at + 4, at + 8)).join('.'),
        destinationPort: block.readUInt16BE(at + 10),
      };
    case 'tcp6':
      return {
        sourceAddress: printIPv6(groups(block.subarray(at, at + 16))),
        sourcePort: block.readUInt16BE(at + 32),
        destinationAddress: printIPv6(groups(block.subarray(at + 16, at + 32))),
        destinationPort: block.readUInt16BE(at + 34),
      };
    case 'unix':
      return { sourceAddress: unixPath(block.subarray(at, at + 108)), destinationAddress: unixPath(block.subarray(at + 108, at + 216)) };
    case 'unspec':
      return {};
  }
}

/** Sixteen address bytes as eight full hex groups, for printIPv6. */
function groups(bytes: Buffer): string {
  return (bytes.toString('hex').match(/.{4}/g) as string[]).join(':');
}

function unixPath(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.toString('utf8', 0, nul < 0 ? bytes.length : nul);
}

interface PlacedTlv extends ProxyTlv {
  /** Where the value starts in the buffer it was read from. */
  readonly at: number;
}

/** The TLVs in buf from start to end, which they must fill exactly. */
function readTlvs(buf: Buffer, start: number, end: number): PlacedTlv[] {
  const tlvs: PlacedTlv[] = [];
  for (let at = start; at < end; ) {
    if (end - at < 3) throw invalid(`PROXY v2 header ends inside a TLV header (${end - at} bytes left)`);
    const type = buf[at] as number;
    const size = buf.readUInt16BE(at + 1);
    if (at + 3 + size > end) throw invalid(`PROXY v2 TLV 0x${type.toString(16)} runs past the end of its block`);
    tlvs.push({ type, value: Buffer.from(buf.subarray(at + 3, at + 3 + size)), at: at + 3 });
    at += 3 + size;
  }
  return tlvs;
}

/** The one TLV of a type, if any; a second would be ambiguous. */
function single<T extends ProxyTlv>(tlvs: readonly T[], type: number, name: string): T | undefined {
  const found = tlvs.filter((tlv) => tlv.type === type);
  if (found.length > 1) throw invalid(`PROXY v2 header has more than one ${name} TLV`);
  return found[0];
}

function checkCrc(block: Buffer, tlvs: readonly PlacedTlv[]): void {
  const tlv = single(tlvs, PP2_TYPE.crc32c, 'CRC32C');
  if (tlv === undefined) return;
  if (tlv.value.length !== 4) throw invalid(`PROXY v2 CRC32C TLV has ${tlv.value.length} bytes, not 4`);
  // The checksum covers the whole header with its own field read as zeros.
  const zeroed = Buffer.from(block);
  zeroed.fill(0, tlv.at, tlv.at + 4);
  if (crc32c(zeroed) !== tlv.value.readUInt32BE(0)) throw invalid('PROXY v2 header fails its CRC32C check');
}

function decodeSsl(tlvs: readonly ProxyTlv[]): ProxySsl | undefined {
  const tlv = single(tlvs, PP2_TYPE.ssl, 'SSL');
  if (tlv === undefined) return undefined;
  if (tlv.value.length < 5) throw invalid(`PROXY v2 SSL TLV has ${tlv.value.length} bytes, fewer than 5`);
  const subs = readTlvs(tlv.value, 5, tlv.value.length).map(({ type, value }) => ({ type, value }));
  const ssl: { -readonly [K in keyof ProxySsl]: ProxySsl[K] } = { client: tlv.value[0] as number, verify: tlv.value.readUInt32BE(1), tlvs: subs };
  for (const sub of subs) {
    const name = SSL_STRINGS[sub.type];
    if (name === undefined) continue;
    if (ssl[name] !== undefined) throw invalid(`PROXY v2 SSL TLV has more than one sub-TLV 0x${sub.type.toString(16)}`);
    ssl[name] = sub.value.toString('utf8');
  }
  return ssl;
}

const CRC32C_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c;
});

/** CRC-32C (Castagnoli, RFC 4960 appendix B) of buf. */
export function crc32c(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC32C_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Reads exactly one header from a socket that has not been read yet (paused or just accepted), within timeoutMs;
 * resolves with the header and any bytes read past it (to be processed as SMTP), rejects with ProxyProtocolError
 * on bad input, timeout or close. The socket is left paused with none of this function's listeners; the caller
 * keeps its own 'error' listener and closes the socket on failure.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<{ header: ProxyHeader; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || socket.readableEnded) {
      reject(new ProxyProtocolError('lost', 'connection closed before the PROXY header'));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    // Parsing waits until this many bytes are in, so a v2 header trickling in is not re-parsed byte by byte.
    let wanted = 1;
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      // Paused before the listener goes, so no byte is emitted to nobody.
      socket.pause();
      socket.off('data', onData);
      socket.off('end', onClose);
      socket.off('close', onClose);
      socket.off('error', onError);
      settle();
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < wanted) return;
      const buf = chunks.length === 1 ? chunk : Buffer.concat(chunks, received);
      chunks.splice(0, chunks.length, buf);
      let parsed: ReturnType<typeof parseProxyHeader>;
      try {
        parsed = parseProxyHeader(buf);
      } catch (err) {
        finish(() => reject(err));
        return;
      }
      if (parsed === 'incomplete') wanted = v2Length(buf) ?? received + 1;
      else finish(() => resolve({ header: parsed.header, rest: buf.subarray(parsed.length) }));
    };
    const onClose = (): void =>
      finish(() => reject(new ProxyProtocolError('lost', `connection closed after ${received} bytes of the PROXY header`)));
    const onError = (err: Error): void =>
      finish(() => reject(new ProxyProtocolError('lost', `connection failed while reading the PROXY header: ${err.message}`, { cause: err })));
    const timer = setTimeout(
      () => finish(() => reject(new ProxyProtocolError('timeout', `no complete PROXY header within ${timeoutMs} ms (${received} bytes read)`))),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.on('end', onClose);
    socket.on('close', onClose);
    socket.on('error', onError);
    // A socket paused on purpose (pauseOnConnect) does not start flowing from a 'data' listener alone.
    socket.resume();
  });
}

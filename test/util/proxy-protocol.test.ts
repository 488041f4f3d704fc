/*
 * proxy-protocol tests: tables of valid, truncated, oversized and broken
 * PROXY v1/v2 headers for the parser, built here from proxy-protocol.txt, and
 * readProxyHeader on real loopback connections (one byte per read, data in the
 * same packet, time limit, client going away, listeners left behind), and
 * what a real HAProxy (Debian's haproxy) sends with send-proxy and
 * send-proxy-v2 and all its proxy-v2-options.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type ServerOpts, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as connectTls } from 'node:tls';
import {
  crc32c,
  parseProxyHeader,
  PP2_CLIENT,
  PP2_TYPE,
  ProxyProtocolError,
  readProxyHeader,
  type ProxyHeader,
} from '../../src/util/proxy-protocol.js';
import { freePort } from '../support/instance.js';
import { needFile } from '../support/need.js';
import { absenceWindow } from '../support/wait.js';

const SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1');
const PROXY = 0x21;
const LOCAL = 0x20;

function tlv(type: number, value: Buffer | string): Buffer {
  const bytes = Buffer.from(value);
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

/** A version 2 header; with crc, a CRC32C TLV goes last, right or off by one bit. */
function v2(versionCommand: number, family: number, body: Buffer[], crc?: 'right' | 'wrong'): Buffer {
  const tail = Buffer.concat(crc === undefined ? body : [...body, tlv(PP2_TYPE.crc32c, Buffer.alloc(4))]);
  const head = Buffer.alloc(16);
  SIGNATURE.copy(head);
  head[12] = versionCommand;
  head[13] = family;
  head.writeUInt16BE(tail.length, 14);
  const out = Buffer.concat([head, tail]);
  if (crc !== undefined) out.writeUInt32BE((crc32c(out) ^ (crc === 'wrong' ? 1 : 0)) >>> 0, out.length - 4);
  return out;
}

function ports(source: number, destination: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16BE(source, 0);
  out.writeUInt16BE(destination, 2);
  return out;
}

const inet = (source: string, destination: string): Buffer => Buffer.from([...source.split('.'), ...destination.split('.')].map(Number));
const inet6 = (source: string, destination: string): Buffer => Buffer.from(source + destination, 'hex');

function unix(source: string, destination: string): Buffer {
  const out = Buffer.alloc(216);
  out.write(source, 0);
  out.write(destination, 108);
  return out;
}

const SSL_SUBS: Array<[number, string]> = [
  [0x21, 'TLSv1.3'],
  [0x22, 'client.example.org'],
  [0x23, 'TLS_AES_256_GCM_SHA384'],
  [0x24, 'RSA-SHA256'],
  [0x25, 'RSA2048'],
  [0x26, 'a sub-type from later'],
];
const ssl = Buffer.concat([Buffer.from([PP2_CLIENT.ssl | PP2_CLIENT.certConn, 0, 0, 0, 0]), ...SSL_SUBS.map(([type, value]) => tlv(type, value))]);
const tlvHeader = v2(
  PROXY,
  0x11,
  [
    inet('203.0.113.7', '192.0.2.25'),
    ports(40000, 25),
    tlv(PP2_TYPE.alpn, 'smtp'),
    tlv(PP2_TYPE.noop, Buffer.alloc(5)),
    tlv(PP2_TYPE.authority, 'mx.example.org'),
    tlv(0xe0, Buffer.from([1, 2, 3])),
    tlv(PP2_TYPE.ssl, ssl),
  ],
  'right',
);
const tcp4 = { sourceAddress: '203.0.113.7', sourcePort: 40000, destinationAddress: '192.0.2.25', destinationPort: 25 };
const fullV6 = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

const VALID: Array<{ name: string; input: Buffer; header: ProxyHeader }> = [
  {
    name: 'v1 TCP4',
    input: Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.25 40000 25\r\n'),
    header: { version: 1, command: 'proxy', family: 'tcp4', ...tcp4, tlvs: [] },
  },
  {
    name: 'v1 TCP6, upper case and uncompressed in, compressed lower case out',
    input: Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:1 2001:db8::a:0:0:2 65535 0\r\n'),
    header: { version: 1, command: 'proxy', family: 'tcp6', sourceAddress: '2001:db8::1', sourcePort: 65535, destinationAddress: '2001:db8::a:0:0:2', destinationPort: 0, tlvs: [] },
  },
  {
    name: 'v1 TCP6 with IPv4-mapped addresses, both notations',
    input: Buffer.from('PROXY TCP6 ::ffff:203.0.113.7 ::FFFF:C000:219 40000 25\r\n'),
    header: { version: 1, command: 'proxy', family: 'tcp6', ...tcp4, tlvs: [] },
  },
  {
    name: 'v1 TCP6 at its longest (104 bytes)',
    input: Buffer.from(`PROXY TCP6 ${fullV6} ${fullV6} 65535 65535\r\n`),
    header: { version: 1, command: 'proxy', family: 'tcp6', sourceAddress: fullV6, sourcePort: 65535, destinationAddress: fullV6, destinationPort: 65535, tlvs: [] },
  },
  { name: 'v1 UNKNOWN, short', input: Buffer.from('PROXY UNKNOWN\r\n'), header: { version: 1, command: 'local', family: 'unspec', tlvs: [] } },
  {
    name: 'v1 UNKNOWN at the 107-byte limit, the rest ignored',
    input: Buffer.from(`PROXY UNKNOWN ${fullV6} ${fullV6} 65535 65535\r\n`),
    header: { version: 1, command: 'local', family: 'unspec', tlvs: [] },
  },
  { name: 'v2 PROXY TCP4', input: v2(PROXY, 0x11, [inet('203.0.113.7', '192.0.2.25'), ports(40000, 25)]), header: { version: 2, command: 'proxy', family: 'tcp4', ...tcp4, tlvs: [] } },
  {
    name: 'v2 PROXY TCP6',
    input: v2(PROXY, 0x21, [inet6('20010db8000000000000000000000001', 'fe800000000000000000000000abcdef'), ports(1, 587)]),
    header: { version: 2, command: 'proxy', family: 'tcp6', sourceAddress: '2001:db8::1', sourcePort: 1, destinationAddress: 'fe80::ab:cdef', destinationPort: 587, tlvs: [] },
  },
  {
    name: 'v2 PROXY TCP6 with IPv4-mapped addresses',
    input: v2(PROXY, 0x21, [inet6('00000000000000000000ffffcb007107', '00000000000000000000ffffc0000219'), ports(40000, 25)]),
    header: { version: 2, command: 'proxy', family: 'tcp6', ...tcp4, tlvs: [] },
  },
  {
    name: 'v2 PROXY UNIX stream',
    input: v2(PROXY, 0x31, [unix('/run/haproxy/client', '/var/spool/petrel/smtpd')]),
    header: { version: 2, command: 'proxy', family: 'unix', sourceAddress: '/run/haproxy/client', destinationAddress: '/var/spool/petrel/smtpd', tlvs: [] },
  },
  { name: 'v2 PROXY UNSPEC', input: v2(PROXY, 0x00, []), header: { version: 2, command: 'proxy', family: 'unspec', tlvs: [] } },
  { name: 'v2 LOCAL', input: v2(LOCAL, 0x00, []), header: { version: 2, command: 'local', family: 'unspec', tlvs: [] } },
  {
    name: 'v2 LOCAL skips its block and ignores its family byte',
    input: v2(LOCAL, 0x45, [Buffer.from('whatever')]),
    header: { version: 2, command: 'local', family: 'unspec', tlvs: [] },
  },
  {
    name: 'v2 with ALPN, NOOP, AUTHORITY, a custom type, SSL and a right CRC32C',
    input: tlvHeader,
    header: {
      version: 2,
      command: 'proxy',
      family: 'tcp4',
      ...tcp4,
      tlvs: [
        { type: PP2_TYPE.alpn, value: Buffer.from('smtp') },
        { type: PP2_TYPE.authority, value: Buffer.from('mx.example.org') },
        { type: 0xe0, value: Buffer.from([1, 2, 3]) },
        { type: PP2_TYPE.ssl, value: ssl },
        { type: PP2_TYPE.crc32c, value: tlvHeader.subarray(-4) },
      ],
      ssl: {
        client: 3,
        verify: 0,
        version: 'TLSv1.3',
        cn: 'client.example.org',
        cipher: 'TLS_AES_256_GCM_SHA384',
        sigAlg: 'RSA-SHA256',
        keyAlg: 'RSA2048',
        tlvs: SSL_SUBS.map(([type, value]) => ({ type, value: Buffer.from(value) })),
      },
    },
  },
  {
    name: 'v2 SSL without sub-TLVs, certificate not verified',
    input: v2(PROXY, 0x00, [tlv(PP2_TYPE.ssl, Buffer.from([PP2_CLIENT.ssl, 0, 0, 0, 9]))]),
    header: { version: 2, command: 'proxy', family: 'unspec', tlvs: [{ type: PP2_TYPE.ssl, value: Buffer.from([1, 0, 0, 0, 9]) }], ssl: { client: 1, verify: 9, tlvs: [] } },
  },
];

test('valid headers parse to what they say, and their length is the whole header', () => {
  for (const { name, input, header } of VALID) {
    assert.deepEqual(parseProxyHeader(input), { header, length: input.length }, name);
    const withData = Buffer.concat([input, Buffer.from('EHLO client.example.org\r\n')]);
    assert.deepEqual(parseProxyHeader(withData), { header, length: input.length }, `${name}, followed by SMTP`);
  }
});

test('every truncation of a valid header asks for more bytes', () => {
  for (const { name, input } of VALID) {
    for (let n = 0; n < input.length; n++) assert.equal(parseProxyHeader(input.subarray(0, n)), 'incomplete', `${name}, first ${n} bytes`);
  }
});

test('CRC32C is the Castagnoli checksum', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
});

const proxy4 = [inet('203.0.113.7', '192.0.2.25'), ports(40000, 25)];
const INVALID: Array<{ name: string; input: Buffer; error: RegExp }> = [
  { name: 'SMTP instead of a header', input: Buffer.from('EHLO client.example.org\r\n'), error: /not a PROXY protocol header/ },
  { name: 'one wrong first byte', input: Buffer.from('X'), error: /not a PROXY protocol header/ },
  { name: 'PROXY without a space', input: Buffer.from('PROXY\r\n'), error: /not a PROXY protocol header/ },
  { name: 'v2 signature with one byte wrong', input: Buffer.from('\r\n\r\n\0\r\nQUIT\r'), error: /not a PROXY protocol header/ },
  { name: 'v1 bare LF', input: Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.25 40000 25\n'), error: /bare LF/ },
  { name: 'v1 bare CR', input: Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.25 40000 25\rEHLO'), error: /bare CR/ },
  { name: 'v1 without CRLF in 107 bytes', input: Buffer.from(`PROXY UNKNOWN ${'a'.repeat(100)}`), error: /no CRLF within 107/ },
  { name: 'v1 of 108 bytes', input: Buffer.from(`PROXY UNKNOWN ${fullV6} ${fullV6} 65535 655350\r\n`), error: /no CRLF within 107/ },
  { name: 'v1 unknown protocol', input: Buffer.from('PROXY UDP4 203.0.113.7 192.0.2.25 40000 25\r\n'), error: /unknown protocol "UDP4"/ },
  { name: 'v1 lower-case protocol', input: Buffer.from('PROXY tcp4 203.0.113.7 192.0.2.25 40000 25\r\n'), error: /unknown protocol/ },
  { name: 'v1 UNKNOWN glued to more', input: Buffer.from('PROXY UNKNOWNX\r\n'), error: /unknown protocol/ },
  { name: 'v1 empty protocol', input: Buffer.from('PROXY \r\n'), error: /unknown protocol/ },
  { name: 'v1 too few fields', input: Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.25 40000\r\n'), error: /exactly two addresses/ },
  { name: 'v1 trailing space', input: Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.25 40000 25 \r\n'), error: /exactly two addresses/ },
  { name: 'v1 double space', input: Buffer.from('PROXY TCP4 203.0.113.7  192.0.2.25 40000 25\r\n'), error: /exactly two addresses/ },
  { name: 'v1 tab for a space', input: Buffer.from('PROXY TCP4 203.0.113.7\t192.0.2.25 40000 25\r\n'), error: /exactly two addresses/ },
  { name: 'v1 IPv4 leading zero', input: Buffer.from('PROXY TCP4 203.0.113.07 192.0.2.25 40000 25\r\n'), error: /bad IPv4 address "203.0.113.07"/ },
  { name: 'v1 IPv4 out of range', input: Buffer.from('PROXY TCP4 203.0.113.256 192.0.2.25 40000 25\r\n'), error: /bad IPv4/ },
  { name: 'v1 IPv4 with three parts', input: Buffer.from('PROXY TCP4 203.0.113 192.0.2.25 40000 25\r\n'), error: /bad IPv4/ },
  { name: 'v1 IPv6 under TCP4', input: Buffer.from('PROXY TCP4 2001:db8::1 192.0.2.25 40000 25\r\n'), error: /bad IPv4/ },
  { name: 'v1 IPv4 under TCP6', input: Buffer.from('PROXY TCP6 2001:db8::1 192.0.2.25 40000 25\r\n'), error: /bad IPv6 address "192.0.2.25"/ },
  { name: 'v1 IPv6 with a zone', input: Buffer.from('PROXY TCP6 fe80::1%eth0 2001:db8::2 40000 25\r\n'), error: /bad IPv6/ },
  { name: 'v1 IPv6 with two ::', input: Buffer.from('PROXY TCP6 2001::db8::1 2001:db8::2 40000 25\r\n'), error: /bad IPv6/ },
  { name: 'v1 IPv6 group of five digits', input: Buffer.from('PROXY TCP6 02001:db8::1 2001:db8::2 40000 25\r\n'), error: /bad IPv6/ },
  { name: 'v1 port with a leading zero', input: Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.25 040000 25\r\n'), error: /bad port "040000"/ },
  { name: 'v1 port 00', input: Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.25 00 25\r\n'), error: /bad port/ },
  { name: 'v1 port too large', input: Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.25 40000 65536\r\n'), error: /bad port "65536"/ },
  { name: 'v1 port with a sign', input: Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.25 +4 25\r\n'), error: /bad port/ },
  { name: 'v1 port in hex', input: Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.25 0x19 25\r\n'), error: /bad port/ },
  { name: 'v1 control bytes are not logged', input: Buffer.from('PROXY TCP4 \x1b[2J 192.0.2.25 40000 25\r\n'), error: /bad IPv4 address "\?\[2J"/ },
  { name: 'v2 version 1', input: v2(0x11, 0x11, proxy4), error: /version 1/ },
  { name: 'v2 version 3', input: v2(0x31, 0x11, proxy4), error: /version 3/ },
  { name: 'v2 command 2', input: v2(0x22, 0x11, proxy4), error: /unknown command 2/ },
  { name: 'v2 command 15', input: v2(0x2f, 0x00, []), error: /unknown command 15/ },
  { name: 'v2 UDP over IPv4', input: v2(PROXY, 0x12, proxy4), error: /datagram/ },
  { name: 'v2 UDP over IPv6', input: v2(PROXY, 0x22, [Buffer.alloc(36)]), error: /datagram/ },
  { name: 'v2 UNIX datagram', input: v2(PROXY, 0x32, [Buffer.alloc(216)]), error: /datagram/ },
  { name: 'v2 family 4', input: v2(PROXY, 0x41, proxy4), error: /unsupported family and protocol 0x41/ },
  { name: 'v2 protocol 3', input: v2(PROXY, 0x13, proxy4), error: /unsupported family and protocol 0x13/ },
  { name: 'v2 AF_INET with UNSPEC protocol', input: v2(PROXY, 0x10, proxy4), error: /unsupported family and protocol 0x10/ },
  { name: 'v2 address block too short for TCP4', input: v2(PROXY, 0x11, [Buffer.alloc(8)]), error: /address block is 8 bytes, tcp4 needs 12/ },
  { name: 'v2 address block too short for TCP6', input: v2(PROXY, 0x21, [Buffer.alloc(35)]), error: /35 bytes, tcp6 needs 36/ },
  { name: 'v2 address block too short for UNIX', input: v2(PROXY, 0x31, [Buffer.alloc(215)]), error: /215 bytes, unix needs 216/ },
  { name: 'v2 TLV running past the end', input: v2(PROXY, 0x11, [...proxy4, tlv(0xe0, 'abcd').subarray(0, 6)]), error: /TLV 0xe0 runs past the end/ },
  { name: 'v2 TLV header cut short', input: v2(PROXY, 0x11, [...proxy4, Buffer.from([0xe0, 0])]), error: /ends inside a TLV header/ },
  { name: 'v2 wrong CRC32C', input: v2(PROXY, 0x11, proxy4, 'wrong'), error: /fails its CRC32C check/ },
  { name: 'v2 wrong CRC32C after TLVs', input: Buffer.concat([tlvHeader.subarray(0, -1), Buffer.from([tlvHeader.at(-1)! ^ 0x80])]), error: /CRC32C check/ },
  { name: 'v2 CRC32C of three bytes', input: v2(PROXY, 0x11, [...proxy4, tlv(PP2_TYPE.crc32c, 'abc')]), error: /CRC32C TLV has 3 bytes/ },
  { name: 'v2 two CRC32C TLVs', input: v2(PROXY, 0x11, [...proxy4, tlv(PP2_TYPE.crc32c, Buffer.alloc(4))], 'right'), error: /more than one CRC32C/ },
  { name: 'v2 SSL TLV too short', input: v2(PROXY, 0x11, [...proxy4, tlv(PP2_TYPE.ssl, Buffer.alloc(4))]), error: /SSL TLV has 4 bytes/ },
  { name: 'v2 SSL sub-TLV running past its TLV', input: v2(PROXY, 0x11, [...proxy4, tlv(PP2_TYPE.ssl, Buffer.concat([Buffer.alloc(5), tlv(0x22, 'cn').subarray(0, 4)]))]), error: /TLV 0x22 runs past/ },
  { name: 'v2 two SSL TLVs', input: v2(PROXY, 0x11, [...proxy4, tlv(PP2_TYPE.ssl, Buffer.alloc(5)), tlv(PP2_TYPE.ssl, Buffer.alloc(5))]), error: /more than one SSL/ },
  { name: 'v2 SSL with two CNs', input: v2(PROXY, 0x11, [...proxy4, tlv(PP2_TYPE.ssl, Buffer.concat([Buffer.alloc(5), tlv(0x22, 'a'), tlv(0x22, 'b')]))]), error: /more than one sub-TLV 0x22/ },
];

test('broken headers are rejected as invalid, with a reason fit for the log', () => {
  for (const { name, input, error } of INVALID) {
    assert.throws(() => parseProxyHeader(input), (err: unknown) => err instanceof ProxyProtocolError && err.kind === 'invalid' && error.test(err.message), name);
  }
});

test('a v1 line is refused as soon as it cannot end within 107 bytes, not before', () => {
  const long = Buffer.from(`PROXY UNKNOWN ${'a'.repeat(200)}`);
  assert.equal(parseProxyHeader(long.subarray(0, 105)), 'incomplete');
  assert.throws(() => parseProxyHeader(long.subarray(0, 106)), /no CRLF within 107/);
  assert.equal(parseProxyHeader(Buffer.from(`PROXY UNKNOWN ${'a'.repeat(91)}\r`)), 'incomplete', 'CR as byte 106 may still be followed by LF');
});

test('a v2 header may carry up to 65535 bytes after its fixed part', () => {
  const input = v2(PROXY, 0x11, [...proxy4, tlv(0xf0, Buffer.alloc(65535 - 12 - 3, 0x61))]);
  const parsed = parseProxyHeader(input);
  assert.ok(parsed !== 'incomplete');
  assert.equal(parsed.length, 16 + 65535);
  assert.equal(parsed.header.tlvs[0]?.value.length, 65520);
});

const EVENTS = ['data', 'end', 'close', 'error'] as const;
const listeners = (socket: Socket): number[] => EVENTS.map((event) => socket.listenerCount(event));

/** Runs readProxyHeader on the server side of a loopback connection while client() talks. */
async function overLoopback(
  options: ServerOpts,
  timeoutMs: number,
  client: (client: Socket) => Promise<void>,
  prepare: (server: Socket) => void = () => undefined,
): Promise<{ outcome: PromiseSettledResult<{ header: ProxyHeader; rest: Buffer }>; server: Socket; ms: number; listeners: number[][]; cleanup: () => void }> {
  const listener = createServer(options);
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection');
  const socket = connect((listener.address() as { port: number }).port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const [server] = (await accepted) as [Socket];
  server.on('error', () => undefined);
  prepare(server);
  const before = listeners(server);
  const started = Date.now();
  const [outcome] = await Promise.allSettled([readProxyHeader(server, timeoutMs), client(socket)]);
  const ms = Date.now() - started;
  const cleanup = (): void => {
    socket.destroy();
    server.destroy();
    listener.close();
  };
  return { outcome, server, ms, listeners: [before, listeners(server)], cleanup };
}

/** The next n bytes the socket delivers after prefix. */
async function readBytes(socket: Socket, prefix: Buffer, n: number): Promise<Buffer> {
  let got = prefix;
  const onData = (chunk: Buffer): void => {
    got = Buffer.concat([got, chunk]);
  };
  socket.on('data', onData);
  socket.resume();
  while (got.length < n) await once(socket, 'data');
  socket.off('data', onData);
  return got;
}

for (const [name, index, options] of [
  ['v1, a just-accepted socket', 0, {}],
  ['v2 with TLVs and CRC32C, a socket paused on connect', 13, { pauseOnConnect: true }],
] as const) {
  test(`a header arriving one byte per read is read whole, nothing more (${name})`, { timeout: 10_000 }, async () => {
    const { input, header } = VALID[index]!;
    let reads = 0;
    let seen = 0;
    let wake = (): void => undefined;
    const countReads = (server: Socket): void =>
      void server.on('data', (chunk: Buffer) => {
        reads++;
        seen += chunk.length;
        wake();
      });
    const run = await overLoopback(
      options,
      5000,
      async (client) => {
        for (let i = 0; i < input.length; i++) {
          client.write(input.subarray(i, i + 1));
          while (seen <= i) await new Promise<void>((resolve) => (wake = resolve));
        }
        client.write('QUIT\r\n');
      },
      countReads,
    );
    try {
      assert.deepEqual(run.listeners[1], run.listeners[0], 'readProxyHeader removed its listeners');
      assert.equal(run.outcome.status, 'fulfilled');
      const { header: got, rest } = (run.outcome as PromiseFulfilledResult<{ header: ProxyHeader; rest: Buffer }>).value;
      assert.deepEqual(got, header);
      assert.equal(reads, input.length, 'one read per byte');
      assert.equal(rest.length, 0);
      assert.ok(run.server.isPaused(), 'left paused');
      assert.equal((await readBytes(run.server, rest, 6)).toString(), 'QUIT\r\n', 'what follows is still there to read');
    } finally {
      run.cleanup();
    }
  });
}

for (const index of [0, 13]) {
  test(`SMTP sent in the same packet as the header comes back in rest, and no timer is left (${VALID[index]!.name})`, { timeout: 10_000 }, async () => {
    const { input, header } = VALID[index]!;
    const smtp = 'EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n';
    const run = await overLoopback({}, 100, async (client) => void client.write(Buffer.concat([input, Buffer.from(smtp)])));
    try {
      assert.deepEqual(run.listeners[1], run.listeners[0], 'readProxyHeader removed its listeners');
      assert.equal(run.outcome.status, 'fulfilled');
      const { header: got, rest } = (run.outcome as PromiseFulfilledResult<{ header: ProxyHeader; rest: Buffer }>).value;
      assert.deepEqual(got, header);
      assert.equal(rest.toString(), smtp);
      run.server.resume();
      // Past the 100 ms limit: a timer left behind would have paused the socket again.
      await absenceWindow(150);
      assert.ok(!run.server.isPaused(), 'the time limit no longer touches the socket');
    } finally {
      run.cleanup();
    }
  });
}

const FAILURES: Array<{ name: string; timeoutMs: number; kind: string; client: (client: Socket) => Promise<void>; minMs?: number; maxMs?: number }> = [
  { name: 'a silent client times out', timeoutMs: 150, kind: 'timeout', minMs: 140, client: async () => undefined },
  { name: 'half a header times out', timeoutMs: 150, kind: 'timeout', minMs: 140, client: async (c) => void c.write(tlvHeader.subarray(0, 20)) },
  { name: 'a client closing after half a header', timeoutMs: 5000, kind: 'lost', maxMs: 2000, client: async (c) => void c.end(VALID[0]!.input.subarray(0, 20)) },
  { name: 'a client resetting the connection', timeoutMs: 5000, kind: 'lost', maxMs: 2000, client: async (c) => void c.resetAndDestroy() },
  { name: 'an SMTP client without a header', timeoutMs: 5000, kind: 'invalid', maxMs: 2000, client: async (c) => void c.write('EHLO client.example.org\r\n') },
  { name: 'a wrong CRC32C', timeoutMs: 5000, kind: 'invalid', maxMs: 2000, client: async (c) => void c.write(v2(PROXY, 0x11, proxy4, 'wrong')) },
];

for (const { name, timeoutMs, kind, client, minMs, maxMs } of FAILURES) {
  test(`readProxyHeader fails and cleans up: ${name}`, { timeout: 10_000 }, async () => {
    const run = await overLoopback({}, timeoutMs, client);
    try {
      assert.deepEqual(run.listeners[1], run.listeners[0], 'readProxyHeader removed its listeners');
      assert.equal(run.outcome.status, 'rejected');
      const err = (run.outcome as PromiseRejectedResult).reason as unknown;
      assert.ok(err instanceof ProxyProtocolError, String(err));
      assert.equal(err.kind, kind, err.message);
      if (minMs !== undefined) assert.ok(run.ms >= minMs, `waited ${run.ms} ms`);
      if (maxMs !== undefined) assert.ok(run.ms < maxMs, `took ${run.ms} ms`);
      assert.ok(run.server.isPaused() || run.server.destroyed);
    } finally {
      run.cleanup();
    }
  });
}

test('readProxyHeader on a socket that is already closed fails at once', async () => {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection');
  const client = connect((listener.address() as { port: number }).port, '127.0.0.1');
  const [server] = (await accepted) as [Socket];
  server.destroy();
  try {
    await assert.rejects(readProxyHeader(server, 5000), (err: unknown) => err instanceof ProxyProtocolError && err.kind === 'lost');
  } finally {
    client.destroy();
    listener.close();
  }
});

const HAPROXY = '/usr/sbin/haproxy';
const OPENSSL = '/usr/bin/openssl';

/** A self-signed P-256 certificate for cn: [certificate, key] in PEM. */
function certificate(dir: string, cn: string): [string, string] {
  const [crt, key] = [join(dir, `${cn}.crt`), join(dir, `${cn}.key`)];
  execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-keyout', key, '-out', crt], { stdio: 'ignore' });
  return [readFileSync(crt, 'utf8'), readFileSync(key, 'utf8')];
}

test(
  'a real HAProxy: send-proxy (v1), and send-proxy-v2 after TLS with a client certificate and every proxy-v2-option',
  { skip: needFile(HAPROXY, 'the PROXY protocol sender to test against') || needFile(OPENSSL, 'test certificates'), timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'petrel-haproxy-'));
    const [serverCert, serverKey] = certificate(dir, 'mx.example.org');
    const [clientCert, clientKey] = certificate(dir, 'client.example.org');
    writeFileSync(join(dir, 'server.pem'), serverCert + serverKey);
    const [plainPort, tlsPort, readyPort, backendPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      [
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 10s',
        '  timeout server 10s',
        'frontend ready',
        `  bind 127.0.0.1:${readyPort}`,
        '  tcp-request connection reject',
        'frontend plain',
        `  bind 127.0.0.1:${plainPort}`,
        '  default_backend v1',
        'frontend tls',
        `  bind 127.0.0.1:${tlsPort} ssl crt ${join(dir, 'server.pem')} ca-file ${join(dir, 'client.example.org.crt')} verify optional`,
        '  unique-id-format %ci:%cp',
        '  default_backend v2',
        'backend v1',
        `  server petrel 127.0.0.1:${backendPort} send-proxy`,
        'backend v2',
        `  server petrel 127.0.0.1:${backendPort} send-proxy-v2 proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c,unique-id`,
        '',
      ].join('\n'),
    );
    const backend = createServer();
    backend.listen(backendPort, '127.0.0.1');
    await once(backend, 'listening');
    const haproxy = spawn(HAPROXY, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    haproxy.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const sockets: Socket[] = [];
    /** What the backend reads when HAProxy relays a client that sends smtp. */
    const relayed = async (open: () => Socket, smtp: string): Promise<{ header: ProxyHeader; client: Socket }> => {
      const accepted = once(backend, 'connection');
      const client = open();
      sockets.push(client);
      client.write(smtp);
      const [server] = (await accepted) as [Socket];
      sockets.push(server);
      const { header, rest } = await readProxyHeader(server, 5000);
      assert.equal((await readBytes(server, rest, smtp.length)).toString(), smtp, 'the client data follows the header');
      return { header, client };
    };
    try {
      for (let waited = 0; ; waited += 50) {
        const probe = connect(readyPort, '127.0.0.1');
        const up = await new Promise<boolean>((resolve) => {
          probe.once('connect', () => resolve(true));
          probe.once('error', () => resolve(false));
        });
        probe.destroy();
        if (up) break;
        if (haproxy.exitCode !== null || waited > 10_000) throw new Error(`haproxy did not start: ${stderr}`);
        await sleep(50);
      }
      const v1 = await relayed(() => connect(plainPort, '127.0.0.1'), 'EHLO client.example.org\r\n');
      assert.deepEqual(v1.header, {
        version: 1,
        command: 'proxy',
        family: 'tcp4',
        sourceAddress: '127.0.0.1',
        sourcePort: v1.client.localPort,
        destinationAddress: '127.0.0.1',
        destinationPort: plainPort,
        tlvs: [],
      });
      const tls = connectTls({ host: '127.0.0.1', port: tlsPort, servername: 'mx.example.org', cert: clientCert, key: clientKey, rejectUnauthorized: false });
      await once(tls, 'secureConnect');
      const v2 = await relayed(() => tls, 'EHLO client.example.org\r\n');
      const { tlvs, ssl, ...rest } = v2.header;
      assert.deepEqual(rest, {
        version: 2,
        command: 'proxy',
        family: 'tcp4',
        sourceAddress: '127.0.0.1',
        sourcePort: tls.localPort,
        destinationAddress: '127.0.0.1',
        destinationPort: tlsPort,
      });
      const value = (type: number): string | undefined => tlvs.find((tlv) => tlv.type === type)?.value.toString();
      assert.equal(value(PP2_TYPE.authority), 'mx.example.org');
      assert.equal(value(PP2_TYPE.uniqueId), `127.0.0.1:${tls.localPort}`);
      assert.equal(tlvs.filter((tlv) => tlv.type === PP2_TYPE.crc32c).length, 1, 'HAProxy sent a CRC32C, and it verified');
      assert.ok(ssl !== undefined);
      assert.equal(ssl.client & PP2_CLIENT.ssl, PP2_CLIENT.ssl);
      assert.equal(ssl.client & PP2_CLIENT.certConn, PP2_CLIENT.certConn);
      assert.equal(ssl.verify, 0, 'the client certificate verified');
      assert.equal(ssl.cn, 'client.example.org');
      assert.equal(ssl.version, tls.getProtocol());
      assert.equal(ssl.cipher, tls.getCipher().name);
      assert.match(ssl.sigAlg ?? '', /ecdsa/i);
      assert.match(ssl.keyAlg ?? '', /EC/);
    } finally {
      for (const socket of sockets) socket.destroy();
      haproxy.kill();
      if (haproxy.exitCode === null) await once(haproxy, 'exit');
      backend.close();
      rmSync(dir, { recursive: true });
    }
  },
);

/*
 * tls-dh - the Diffie-Hellman parameters of smtpd_tls_dh1024_param_file:
 * empty or "auto" leaves the choice to OpenSSL (as Postfix does when built
 * with OpenSSL 3), anything else is a PEM file whose parameters are read
 * and checked here, because node:tls silently ignores parameters it cannot
 * parse and the DHE ciphers would then vanish without a word. A file that
 * cannot be read, holds no parameters, or a prime shorter than 1024 bits
 * is a configuration error naming the file. Used by tls-server.ts; follows
 * postconf(5) smtpd_tls_dh1024_param_file.
 */
import { PetrelError } from '../errors.js';
import { readPem } from './tls-certs.js';

const PARAMETER = 'smtpd_tls_dh1024_param_file';
/** The shortest prime OpenSSL accepts for DHE. */
const MIN_BITS = 1024;
const DH_BLOCK = /-----BEGIN ((?:X9\.42 )?DH PARAMETERS)-----([\s\S]+?)-----END \1-----/;

/** Reads one DER element at offset: its tag, where its content starts and ends. */
function derElement(der: Buffer, offset: number): { tag: number; start: number; end: number } | undefined {
  if (offset + 2 > der.length) return undefined;
  const tag = der[offset] as number;
  let length = der[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > der.length) return undefined;
    length = der.subarray(start, start + count).reduce((n, byte) => n * 256 + byte, 0);
    start += count;
  }
  return start + length <= der.length ? { tag, start, end: start + length } : undefined;
}

/** The bit length of the prime in DER DH parameters (PKCS #3 or X9.42: both begin with the prime), or undefined. */
function primeBits(der: Buffer): number | undefined {
  const sequence = derElement(der, 0);
  if (sequence?.tag !== 0x30) return undefined;
  const prime = derElement(der, sequence.start);
  if (prime?.tag !== 0x02) return undefined;
  const generator = derElement(der, prime.end);
  if (generator?.tag !== 0x02 || generator.end > sequence.end) return undefined;
  let bytes = der.subarray(prime.start, prime.end);
  while (bytes.length > 0 && bytes[0] === 0) bytes = bytes.subarray(1);
  return bytes.length === 0 ? 0 : (bytes.length - 1) * 8 + (bytes[0] as number).toString(2).length;
}

/** The dhparam option for node:tls: "auto", or the PEM text of checked parameters. */
export function readDhParams(path: string): string {
  if (path === '' || path.toLowerCase() === 'auto') return 'auto';
  const text = readPem(PARAMETER, path);
  const block = DH_BLOCK.exec(text);
  if (block === null) throw new PetrelError('config', `${PARAMETER}: no DH parameters in ${path}`);
  const bits = primeBits(Buffer.from((block[2] as string).replace(/\s+/g, ''), 'base64'));
  if (bits === undefined) throw new PetrelError('config', `${PARAMETER}: bad DH parameters in ${path}`);
  if (bits < MIN_BITS) throw new PetrelError('config', `${PARAMETER}: the DH prime in ${path} has ${bits} bits (at least ${MIN_BITS}, better 2048)`);
  return block[0];
}

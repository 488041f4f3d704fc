/*
 * password-hash - password hashes in the form Dovecot stores and `doveadm pw`
 * prints ("{SCHEME}hash"): checking a password against one, and making new
 * ones. Accepted: SHA512-CRYPT ($6$) and SHA256-CRYPT ($5$) through
 * unixcrypt, BLF-CRYPT ($2y$ bcrypt) through bcryptjs, ARGON2ID, ARGON2I and
 * ARGON2 through @node-rs/argon2, and CRYPT when it holds one of those forms.
 * Everything else is refused with a reason for the log, never a match:
 * cleartext ({PLAIN}, {CLEAR}) because a table an Internet-facing daemon reads
 * should never hold usable passwords (petrel saslpasswd writes hashes), and
 * DES, MD5 and unsalted or fast SHA schemes because they are cracked cheaply.
 * A check derives the offered password's hash with the stored parameters and
 * compares the digests with timingSafeEqual. None of it holds the event loop:
 * bcryptjs and Argon2 have async forms, and SHA-crypt (about 15 ms of
 * synchronous work) runs in a worker thread that is this same module.
 * Used by sasl-table.ts (smtpd_sasl_type = petrel) and petrel saslpasswd;
 * follows Dovecot's "Password Schemes" documentation.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Algorithm, hash as argon2Hash, hashRaw as argon2Raw, Version, type Options as Argon2Options } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { encrypt as shaCryptEncrypt } from 'unixcrypt';

/** The schemes Petrel can write (and check). */
export const HASH_SCHEMES = ['SHA512-CRYPT', 'SHA256-CRYPT', 'BLF-CRYPT', 'ARGON2ID', 'ARGON2I', 'CRYPT'] as const;
export type HashScheme = (typeof HASH_SCHEMES)[number];

/** What petrel saslpasswd writes unless told otherwise. */
export const DEFAULT_HASH_SCHEME: HashScheme = 'SHA512-CRYPT';

/** The outcome of checking a password: unusable means the stored value can never match (reason is for the log). */
export type HashCheck = { readonly kind: 'match' } | { readonly kind: 'mismatch' } | { readonly kind: 'unusable'; readonly reason: string };

/** bcrypt cost for new hashes: doveadm's default (5) is too cheap today; 10 costs ~70 ms in bcryptjs. */
const BCRYPT_COST = 10;
/** Argon2 parameters for new hashes: the ones doveadm pw uses. */
const ARGON2ID_COST = { memoryCost: 65536, timeCost: 3, parallelism: 1 };
const ARGON2I_COST = { memoryCost: 32768, timeCost: 4, parallelism: 1 };
const CLEARTEXT_SCHEMES = new Set(['PLAIN', 'CLEAR', 'CLEARTEXT', 'PLAIN-TRUNC']);
const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

type ModularKind = 'sha-crypt' | 'bcrypt' | 'argon2i' | 'argon2id';

/** A stored hash taken apart: how to derive a digest, and the digest to compare with. */
type ParsedHash =
  | { readonly kind: 'sha-crypt' | 'bcrypt'; readonly setting: string; readonly digest: string }
  | { readonly kind: 'argon2i' | 'argon2id'; readonly options: Argon2Options; readonly digest: Buffer };

/** Which modular-crypt forms each {SCHEME} may hold. */
const SCHEME_FORMS: Readonly<Record<string, readonly ModularKind[]>> = {
  'SHA512-CRYPT': ['sha-crypt'],
  'SHA256-CRYPT': ['sha-crypt'],
  'BLF-CRYPT': ['bcrypt'],
  ARGON2ID: ['argon2id'],
  ARGON2I: ['argon2i'],
  ARGON2: ['argon2i', 'argon2id'],
  CRYPT: ['sha-crypt', 'bcrypt', 'argon2i', 'argon2id'],
};

const SHA_CRYPT = /^(\$([56])\$(?:rounds=\d{1,9}\$)?[./0-9A-Za-z]{0,16})\$([./0-9A-Za-z]+)$/;
const BCRYPT = /^(\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;
const ARGON2 = /^\$(argon2id|argon2i)\$(?:v=(16|19)\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{6,})$/;

function parseModular(hash: string): ParsedHash | undefined {
  const sha = SHA_CRYPT.exec(hash);
  if (sha !== null) {
    const digest = sha[3] as string;
    return digest.length === (sha[2] === '6' ? 86 : 43) ? { kind: 'sha-crypt', setting: sha[1] as string, digest } : undefined;
  }
  const blf = BCRYPT.exec(hash);
  if (blf !== null) {
    const cost = Number(blf[2]);
    return cost >= 4 && cost <= 31 ? { kind: 'bcrypt', setting: blf[1] as string, digest: blf[3] as string } : undefined;
  }
  const argon = ARGON2.exec(hash);
  if (argon === null) return undefined;
  const kind = argon[1] as 'argon2i' | 'argon2id';
  const digest = Buffer.from(argon[7] as string, 'base64');
  const options: Argon2Options = {
    algorithm: kind === 'argon2id' ? Algorithm.Argon2id : Algorithm.Argon2i,
    // A hash without v= is from version 1.0 (0x10).
    version: argon[2] === '19' ? Version.V0x13 : Version.V0x10,
    memoryCost: Number(argon[3]),
    timeCost: Number(argon[4]),
    parallelism: Number(argon[5]),
    salt: Buffer.from(argon[6] as string, 'base64'),
    outputLen: digest.length,
  };
  return { kind, options, digest };
}

/** Takes "{SCHEME}hash" apart, or says why it can never match. */
function parseStored(stored: string): ParsedHash | string {
  const match = /^\{([^}]*)\}(.*)$/s.exec(stored.trim());
  if (match === null) return 'password hash has no {SCHEME} prefix';
  const scheme = (match[1] as string).toUpperCase();
  if (CLEARTEXT_SCHEMES.has(scheme)) return `cleartext password scheme ${scheme} is not accepted (store a hash made by petrel saslpasswd)`;
  const forms = SCHEME_FORMS[scheme];
  if (forms === undefined) return `unsupported password scheme ${scheme}`;
  const parsed = parseModular(match[2] as string);
  if (parsed === undefined || !forms.includes(parsed.kind)) return `malformed ${scheme} password hash`;
  return parsed;
}

/** Derives the offered password's digest with parsed's parameters. */
async function derive(password: string, parsed: ParsedHash): Promise<Buffer> {
  switch (parsed.kind) {
    case 'sha-crypt':
      return Buffer.from(lastField(await shaCrypt(password, parsed.setting)));
    case 'bcrypt':
      return Buffer.from((await bcrypt.hash(password, parsed.setting)).slice(-31));
    default:
      return argon2Raw(password, parsed.options);
  }
}

function lastField(hash: string): string {
  return hash.slice(hash.lastIndexOf('$') + 1);
}

/** Checks password against a stored "{SCHEME}hash". */
export async function verifyPassword(password: string, stored: string): Promise<HashCheck> {
  const parsed = parseStored(stored);
  if (typeof parsed === 'string') return { kind: 'unusable', reason: parsed };
  const expected = typeof parsed.digest === 'string' ? Buffer.from(parsed.digest) : parsed.digest;
  const derived = await derive(password, parsed);
  const same = derived.length === expected.length && timingSafeEqual(derived, expected);
  return { kind: same ? 'match' : 'mismatch' };
}

/** True for a scheme name hashPassword accepts (upper case, as doveadm pw -l lists them). */
export function isHashScheme(name: string): name is HashScheme {
  return (HASH_SCHEMES as readonly string[]).includes(name);
}

function cryptSalt(length: number): string {
  // 64 symbols, so a byte's low six bits pick one without bias.
  return [...randomBytes(length)].map((byte) => CRYPT_ALPHABET[byte & 63]).join('');
}

/** A new "{SCHEME}hash" of password that Dovecot (and verifyPassword) accept. */
export async function hashPassword(password: string, scheme: HashScheme): Promise<string> {
  switch (scheme) {
    case 'SHA512-CRYPT':
      return `{${scheme}}${await shaCrypt(password, `$6$${cryptSalt(16)}`)}`;
    case 'SHA256-CRYPT':
      return `{${scheme}}${await shaCrypt(password, `$5$${cryptSalt(16)}`)}`;
    case 'BLF-CRYPT':
    case 'CRYPT':
      // $2b$ and $2y$ are the same algorithm; Dovecot writes $2y$.
      return `{${scheme}}${(await bcrypt.hash(password, await bcrypt.genSalt(BCRYPT_COST))).replace(/^\$2b\$/, '$2y$')}`;
    case 'ARGON2ID':
      return `{${scheme}}${await argon2Hash(password, { algorithm: Algorithm.Argon2id, ...ARGON2ID_COST })}`;
    case 'ARGON2I':
      return `{${scheme}}${await argon2Hash(password, { algorithm: Algorithm.Argon2i, ...ARGON2I_COST })}`;
  }
}

interface ShaCryptRequest {
  readonly id: number;
  readonly password: string;
  readonly setting: string;
}

type ShaCryptReply = { readonly id: number; readonly hash: string } | { readonly id: number; readonly error: string };

/** Tells this module, loaded as a worker, that it is the SHA-crypt worker. */
const WORKER_ROLE = 'petrel-sha-crypt';

if (!isMainThread && workerData === WORKER_ROLE) {
  parentPort?.on('message', (request: ShaCryptRequest) => {
    let reply: ShaCryptReply;
    try {
      reply = { id: request.id, hash: shaCryptEncrypt(request.password, request.setting) };
    } catch (err) {
      reply = { id: request.id, error: (err as Error).message };
    }
    parentPort?.postMessage(reply);
  });
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (hash: string) => void; reject: (err: Error) => void }>();

function failPending(err: Error): void {
  worker = undefined;
  for (const waiter of pending.values()) waiter.reject(err);
  pending.clear();
}

function startWorker(): Worker {
  const started = new Worker(new URL(import.meta.url), { workerData: WORKER_ROLE });
  started.on('message', (reply: ShaCryptReply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    // An idle worker must not keep a command or an exiting daemon alive.
    if (pending.size === 0) started.unref();
    if ('hash' in reply) waiter?.resolve(reply.hash);
    else waiter?.reject(new Error(`SHA-crypt: ${reply.error}`));
  });
  started.on('error', failPending);
  started.on('exit', (code) => {
    if (worker === started) failPending(new Error(`SHA-crypt worker exited with status ${code}`));
  });
  return started;
}

/** unixcrypt's encrypt(password, setting), run off the event loop. */
function shaCrypt(password: string, setting: string): Promise<string> {
  worker ??= startWorker();
  const current = worker;
  current.ref();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    current.postMessage({ id, password, setting } satisfies ShaCryptRequest);
  });
}

/*
 * tls-certs - reads server keys and certificate chains from PEM files in
 * Postfix's two layouts (a certificate file with its key file, or a chain
 * file holding a key followed by its certificates, several such in one
 * file) and checks each pair before it is used: the file can be read, the
 * leaf certificate has not expired, and the key belongs to it. A problem
 * is a configuration error that names the file, so a server never starts
 * with a certificate it cannot serve. Used by tls-server.ts; follows
 * postconf(5) smtpd_tls_cert_file and smtpd_tls_chain_files.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PetrelError } from '../errors.js';

/** One private key and its certificate chain, in PEM. */
export interface KeyAndChain {
  readonly key: string;
  readonly chain: string;
  /** The file(s) it came from, for messages. */
  readonly source: string;
  /** The leaf certificate's expiry. */
  readonly validTo: Date;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/** A PEM file's text; one that cannot be read is a configuration error naming parameter. */
export function readPem(parameter: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new PetrelError('config', `${parameter}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function blocks(text: string): { type: string; pem: string }[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ type: m[1] as string, pem: `${m[0]}\n` }));
}

/** Checks that chain's leaf is valid now and matches key. */
function checked(parameter: string, source: string, key: string, chain: string): KeyAndChain {
  const leafPem = blocks(chain).find((b) => b.type === 'CERTIFICATE');
  if (leafPem === undefined) throw new PetrelError('config', `${parameter}: no certificate in ${source}`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem.pem);
  } catch (err) {
    throw new PetrelError('config', `${parameter}: bad certificate in ${source}: ${(err as Error).message}`);
  }
  const validTo = new Date(leaf.validTo);
  if (validTo.getTime() <= Date.now()) {
    throw new PetrelError('config', `${parameter}: the certificate in ${source} (${leaf.subject.replace(/\n/g, ', ')}) expired on ${validTo.toISOString()}`);
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new PetrelError('config', `${parameter}: bad private key for ${source}: ${(err as Error).message}`);
  }
  if (!matches) throw new PetrelError('config', `${parameter}: the private key does not match the certificate in ${source}`);
  return { key, chain, source, validTo };
}

/** A certificate file (its chain after the leaf) and the key file (may be the same file). */
export function readCertAndKey(certParameter: string, certFile: string, keyFile: string): KeyAndChain {
  const certText = readPem(certParameter, certFile);
  const keyText = keyFile === certFile ? certText : readPem(certParameter.replace(/cert_file$/, 'key_file'), keyFile);
  const chain = blocks(certText).filter((b) => b.type === 'CERTIFICATE');
  const key = blocks(keyText).find((b) => b.type.endsWith('PRIVATE KEY'));
  if (key === undefined) throw new PetrelError('config', `${certParameter}: no private key in ${keyFile}`);
  const source = keyFile === certFile ? certFile : `${certFile} and ${keyFile}`;
  return checked(certParameter, source, key.pem, chain.map((b) => b.pem).join(''));
}

/** The key-and-chain sequences of a chain file: each private key followed by its certificates. */
export function readChainFile(parameter: string, path: string): KeyAndChain[] {
  return parseChain(parameter, path, readPem(parameter, path));
}

/** The key-and-chain sequences of PEM text (a chain file's, or a table value made by postmap -F); source names it in messages. */
export function parseChain(parameter: string, source: string, text: string): KeyAndChain[] {
  const path = source;
  const pairs: KeyAndChain[] = [];
  let key: string | undefined;
  let certs: string[] = [];
  const flush = (): void => {
    if (key === undefined) return;
    pairs.push(checked(parameter, path, key, certs.join('')));
  };
  for (const block of blocks(text)) {
    if (block.type.endsWith('PRIVATE KEY')) {
      flush();
      key = block.pem;
      certs = [];
    } else if (block.type === 'CERTIFICATE') {
      if (key === undefined) throw new PetrelError('config', `${parameter}: ${path}: a certificate comes before any private key`);
      certs.push(block.pem);
    }
  }
  flush();
  if (pairs.length === 0) throw new PetrelError('config', `${parameter}: no private key and certificate in ${path}`);
  return pairs;
}

/** The regular files (and links) of a CA directory; a directory that cannot be read is a configuration error. */
function caDirectoryFiles(parameter: string, dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() || e.isSymbolicLink())
      .map((e) => join(dir, e.name));
  } catch (err) {
    throw new PetrelError('config', `${parameter}: cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The certificate authorities in a file and in the files of a directory (unreadable ones skipped), in PEM. */
export function readAuthorities(fileParameter: string, file: string, dirParameter: string, dir: string): string[] {
  const found: string[] = [];
  if (file !== '') found.push(...blocks(readPem(fileParameter, file)).filter((b) => b.type === 'CERTIFICATE').map((b) => b.pem));
  if (dir !== '') {
    for (const path of caDirectoryFiles(dirParameter, dir)) {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        continue;
      }
      found.push(...blocks(text).filter((b) => b.type === 'CERTIFICATE').map((b) => b.pem));
    }
    if (found.length === 0) throw new PetrelError('config', `${dirParameter}: no certificates in ${dir}`);
  }
  return found;
}

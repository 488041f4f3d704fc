/*
 * sasl-cyrus-conf - finds and reads the Cyrus SASL application file that
 * smtpd_sasl_type = cyrus is configured by: $smtpd_sasl_path.conf (smtpd.conf)
 * in the first directory of cyrus_sasl_config_path that has one. Lines are
 * "key: value" as the Cyrus library reads them (a key of letters, digits,
 * "-" and "_", then a colon; "#" starts a comment line; the first of two
 * equal keys counts).
 *
 * Petrel serves the common case, pwcheck_method saslauthd with PLAIN and
 * LOGIN, and fails closed on anything else: another password check (auxprop,
 * sasldb, alwaystrue, or none, which Cyrus takes as auxprop) or a
 * canon_user_plugin that would rename users is a start-up error, never a
 * server that lets everyone in or logs other names. mech_list is honoured,
 * less what saslauthd cannot serve (CRAM-MD5 and the like need the secret
 * itself). Every other key is read only by parts of Cyrus that do not run
 * here (auxprop and sasldb plugins, other mechanisms, Cyrus' own logging,
 * auto_transition's copy of passwords into sasldb), so ignoring it, with a
 * warning, can only refuse a login Postfix would refuse too.
 * Called by sasl-cyrus at smtpd start-up. Follows Postfix's SASL_README and
 * the Cyrus SASL options documentation.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { msg } from '../../util/msg.js';
import { PetrelError } from '../errors.js';
import { PLAINTEXT_MECHANISMS } from './sasl-plaintext.js';
import type { SaslMechanism } from './sasl-server.js';

/**
 * Where the file is looked for when cyrus_sasl_config_path is empty: first
 * Debian's Postfix location (README.Debian: "SASL configuration goes in
 * /etc/postfix/sasl"), then the Cyrus library's own default and its
 * historical plug-in directory, where upstream and other distributions'
 * instructions put smtpd.conf.
 */
export const DEFAULT_CYRUS_CONFIG_DIRS: readonly string[] = ['/etc/postfix/sasl', '/etc/sasl2', '/usr/lib/sasl2'];

/** saslauthd's socket when saslauthd_path is not set (Debian's sasl2-bin). */
export const DEFAULT_SASLAUTHD_PATH = '/var/run/saslauthd/mux';

/** What Petrel takes from the application file. */
export interface CyrusAppConfig {
  /** The file read. */
  readonly file: string;
  /** The mechanisms to offer, in mech_list order. */
  readonly mechanisms: readonly SaslMechanism[];
  /** saslauthd's socket. */
  readonly saslauthdPath: string;
}

/** The keys Petrel acts on; all others are ignored with a warning. */
const USED_KEYS = new Set(['pwcheck_method', 'mech_list', 'saslauthd_path', 'canon_user_plugin']);

interface Entry {
  readonly value: string;
  readonly line: number;
}

/** The file's first existing copy along the path, and its text. */
function findFile(appName: string, configPath: string): { file: string; text: string } {
  const given = configPath.split(':').filter((dir) => dir !== '');
  const files = (given.length > 0 ? given : DEFAULT_CYRUS_CONFIG_DIRS).map((dir) => join(dir, `${appName}.conf`));
  for (const file of files) {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new PetrelError('config', `cannot read Cyrus SASL configuration file ${file}: ${(err as Error).message}`);
    }
  }
  throw new PetrelError('config', `no Cyrus SASL configuration file: looked for ${files.join(', ')} (set cyrus_sasl_config_path or smtpd_sasl_path)`);
}

/** The file's entries by key (lower case), the first of equal keys kept. */
function parseEntries(file: string, text: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    const match = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(content);
    if (match === null) throw new PetrelError('config', `${file}, line ${line}: expected "key: value"`);
    const [, rawKey = '', value = ''] = match;
    const key = rawKey.toLowerCase();
    if (value === '') throw new PetrelError('config', `${file}, line ${line}: ${key} has no value`);
    if (entries.has(key)) msg.warn(`${file}, line ${line}: ${key} is set again; the first setting counts`);
    else entries.set(key, { value, line });
  });
  return entries;
}

function words(value: string): string[] {
  return value.split(/\s+/).filter((w) => w !== '');
}

/** Refuses any password check but saslauthd: Petrel must never fall back to accepting everyone. */
function checkPwcheckMethod(file: string, entry: Entry | undefined): void {
  if (entry === undefined) {
    throw new PetrelError('config', `${file}: pwcheck_method is not set, so Cyrus SASL would use auxprop; Petrel supports only "pwcheck_method: saslauthd"`);
  }
  const others = words(entry.value).filter((m) => m.toLowerCase() !== 'saslauthd');
  if (others.length > 0) {
    throw new PetrelError('config', `${file}, line ${entry.line}: pwcheck_method "${entry.value}" is not supported; Petrel supports only "pwcheck_method: saslauthd"`);
  }
}

/** The offered mechanisms: mech_list (all servable ones when unset) less what saslauthd cannot serve. */
function servableMechanisms(file: string, entry: Entry | undefined): SaslMechanism[] {
  if (entry === undefined) return [...PLAINTEXT_MECHANISMS];
  const offered: SaslMechanism[] = [];
  for (const name of new Set(words(entry.value).map((w) => w.toUpperCase()))) {
    const mechanism = PLAINTEXT_MECHANISMS.find((m) => m.name === name);
    if (mechanism !== undefined) offered.push(mechanism);
    else msg.warn(`${file}, line ${entry.line}: mech_list: ${name} cannot be served with pwcheck_method saslauthd; not offered`);
  }
  if (offered.length === 0) {
    throw new PetrelError('config', `${file}, line ${entry.line}: mech_list "${entry.value}" names no mechanism saslauthd can serve (PLAIN, LOGIN)`);
  }
  return offered;
}

/** Reads $appName.conf from the first directory of configPath (colon-separated; empty: the defaults) that has it. */
export function readCyrusAppConfig(appName: string, configPath: string): CyrusAppConfig {
  const { file, text } = findFile(appName, configPath);
  const entries = parseEntries(file, text);
  checkPwcheckMethod(file, entries.get('pwcheck_method'));
  const canon = entries.get('canon_user_plugin');
  if (canon !== undefined && canon.value.toUpperCase() !== 'INTERNAL') {
    throw new PetrelError('config', `${file}, line ${canon.line}: canon_user_plugin "${canon.value}" is not supported; Petrel canonicalizes user names as Cyrus' INTERNAL plugin does`);
  }
  const mechanisms = servableMechanisms(file, entries.get('mech_list'));
  for (const [key, entry] of entries) {
    if (!USED_KEYS.has(key)) msg.warn(`${file}, line ${entry.line}: ${key} is ignored: Petrel uses only pwcheck_method, mech_list, saslauthd_path and canon_user_plugin`);
  }
  const saslauthdPath = entries.get('saslauthd_path')?.value ?? DEFAULT_SASLAUTHD_PATH;
  // Debian's README gives the run directory as an example; Cyrus wants the socket in it.
  if (statSync(saslauthdPath, { throwIfNoEntry: false })?.isDirectory() === true) {
    msg.warn(`${file}: saslauthd_path ${saslauthdPath} is a directory; it must name saslauthd's socket (${join(saslauthdPath, 'mux')})`);
  }
  return { file, mechanisms, saslauthdPath };
}

/*
 * accounts - system accounts as the mail system needs them: name, uid, gid,
 * home and shell from an /etc/passwd line, the lookup of one account (or
 * group) by name, and mail_owner, the unprivileged account the daemons run as when
 * the master starts as root. Accounts that exist only in other name
 * services (LDAP, NIS through nsswitch) are not seen.
 */
import { readFileSync } from 'node:fs';
import { PetrelError } from './errors.js';
import type { Params } from './params/param-registry.js';

/** One system account. */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** The account on one /etc/passwd line. */
export function parsePasswdLine(line: string): Account {
  const [name = '', , uid = '', gid = '', , home = '/', shell = '/bin/sh'] = line.split(':');
  if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) throw new PetrelError('config', `bad passwd entry for "${name}"`);
  return { name, uid: Number(uid), gid: Number(gid), home: home === '' ? '/' : home, shell: shell === '' ? '/bin/sh' : shell };
}

/** The line for name in a colon-separated system file (/etc/passwd, /etc/group). */
function entryLine(file: string, name: string): string | undefined {
  const prefix = `${name}:`;
  return readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(prefix));
}

/** The account called name in /etc/passwd, if any. */
export function findAccount(name: string, passwdFile = '/etc/passwd'): Account | undefined {
  const line = entryLine(passwdFile, name);
  return line === undefined ? undefined : parsePasswdLine(line);
}

/** The login name of uid in /etc/passwd, or "unknown" (as Postfix calls a uid without an entry). */
export function accountName(uid: number, passwdFile = '/etc/passwd'): string {
  const line = readFileSync(passwdFile, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[2] === String(uid) && !l.startsWith(':'));
  return line === undefined ? 'unknown' : (line.split(':')[0] as string);
}

/** The gid of the group called name in /etc/group, if any. */
export function findGroupId(name: string, groupFile = '/etc/group'): number | undefined {
  const gid = entryLine(groupFile, name)?.split(':')[2];
  return gid === undefined || !/^\d+$/.test(gid) ? undefined : Number(gid);
}

/**
 * The account the daemons drop to: mail_owner when this process runs as
 * root and mail_owner is another account; undefined when there is nothing
 * to drop (a development instance runs everything as the invoking user).
 */
export function unprivilegedOwner(params: Params): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const owner = findAccount(params.mail_owner);
  if (owner === undefined) throw new PetrelError('config', `mail_owner: unknown account "${params.mail_owner}" (create it, e.g. useradd --system ${params.mail_owner})`);
  return owner.uid === 0 ? undefined : owner;
}

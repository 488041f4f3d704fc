/*
 * table-unix - unix:passwd.byname and unix:group.byname, the system account
 * tables Postfix's local_recipient_maps default uses: the value is the
 * account's /etc/passwd (or /etc/group) line. The files are read directly
 * and re-read when they change; accounts that exist only in other name
 * services (LDAP, NIS through nsswitch) are not seen.
 */
import { PetrelError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { reloadingFile } from './table-file-watch.js';
import type { LookupTable } from './table.js';

/** The account files by table name. */
export const UNIX_TABLE_FILES: Readonly<Record<string, string>> = {
  'passwd.byname': '/etc/passwd',
  'group.byname': '/etc/group',
};

function loadAccounts(path: string): Map<string, string> {
  const accounts = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PetrelError('table_open', `open ${path}: ${(err as Error).message}`, { temporary: true, cause: err });
  }
  for (const line of text.split('\n')) {
    const name = line.slice(0, line.indexOf(':'));
    if (name !== '' && !name.startsWith('#') && !accounts.has(name)) accounts.set(name, line);
  }
  return accounts;
}

/** Opens unix:passwd.byname or unix:group.byname. */
export async function openUnix(name: string, spec: string): Promise<LookupTable> {
  const path = UNIX_TABLE_FILES[name];
  if (path === undefined) {
    throw new PetrelError('table_spec', `${spec}: unknown unix table "${name}" (expected ${Object.keys(UNIX_TABLE_FILES).join(' or ')})`);
  }
  const accounts = reloadingFile(path, spec, loadAccounts);
  return { spec, pattern: false, lookup: async (key) => accounts().get(key), close: async () => {} };
}

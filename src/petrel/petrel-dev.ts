/*
 * petrel-dev - sets up the development instance "npm start" runs: everything
 * under one folder (./run by default), owned by the invoking user, on a
 * loopback port, with no root and no external service. It writes main.cf,
 * master.cf and aliases once (an existing file is left as the user edited
 * it), builds the alias table, and returns the configuration directory.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { readAliases } from '../global/tables/alias-source.js';
import { buildTable, parseTableArg } from '../global/tables/table-admin.js';

/** Where the development instance lives and how it is reached. */
export interface DevInstance {
  readonly root: string;
  readonly configDir: string;
  readonly port: number;
}

function mainCf(root: string): string {
  const user = userInfo();
  return `# Petrel development instance: everything lives under ${root}.
# Edit freely; "npm start" never overwrites this file.
compatibility_level = 3.6
myhostname = localhost.localdomain
mydestination = $myhostname, localhost.$mydomain, localhost
inet_interfaces = 127.0.0.1
mynetworks = 127.0.0.0/8 [::1]/128
queue_directory = ${join(root, 'queue')}
data_directory = ${join(root, 'data')}
mail_owner = ${user.username}
default_privs = ${user.username}
mail_spool_directory = ${join(root, 'mail')}/
maillog_file = ${join(root, 'log', 'maillog')}
alias_maps = hash:${join(root, 'etc', 'aliases')}
alias_database = hash:${join(root, 'etc', 'aliases')}
# Accept any name at localhost: this instance delivers every local name to
# ${join(root, 'mail')}/NAME/ as the invoking user.
local_recipient_maps =
`;
}

function masterCf(port: number): string {
  return `# Petrel development instance services (see conf/master.cf for the full set).
# service type  private unpriv  chroot  wakeup  maxproc command + args
${String(port).padEnd(9)} inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
bounce    unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
anvil     unix  -       -       n       -       1       anvil
local     unix  -       n       n       -       -       local
`;
}

/** Creates what is missing of the instance under root and returns where it is. */
export async function setUpDevInstance(rootDir: string, port: number): Promise<DevInstance> {
  const root = resolve(rootDir);
  const configDir = join(root, 'etc');
  for (const dir of [configDir, join(root, 'queue'), join(root, 'mail'), join(root, 'log')]) {
    mkdirSync(dir, { recursive: true });
  }
  const files: Record<string, string> = {
    'main.cf': mainCf(root),
    'master.cf': masterCf(port),
    aliases: `# aliases(5) for the development instance; run newaliases -c ${configDir} after editing.\npostmaster: ${userInfo().username}\nroot: postmaster\n`,
  };
  for (const [name, text] of Object.entries(files)) {
    const path = join(configDir, name);
    if (!existsSync(path)) writeFileSync(path, text);
  }
  const aliases = join(configDir, 'aliases');
  await buildTable(parseTableArg(`hash:${aliases}`, 'hash'), readAliases(aliases), aliases, false);
  return { root, configDir, port };
}

/*
 * smtp-bench-virtual - what mode virtual-mysql of smtp-bench adds: the
 * classic virtual-hosting database in the real MariaDB on 127.0.0.1:3306
 * (root, no password), one database for the whole bench with the
 * tutorials' three tables (domains; mailbox: user, Maildir path; aliases:
 * address, goto), 1,000 users over 10 domains and an alias per domain;
 * the three mysql_table(5) files (virtual_mailbox_domains,
 * virtual_mailbox_maps, virtual_alias_maps) written into a system's
 * configuration folder, the same for Petrel and Postfix, with uid and gid
 * static: and the mailboxes under a virtual_mailbox_base of the run; and
 * MariaDB's Com_select counter, read before and after a run to give the
 * SQL queries per message. Used by smtp-bench.ts and smtp-bench-systems.ts.
 */
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';

const DOMAINS = 10;
const USERS = 1000;
const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root' } as const;

/** The bench's database and its recipients. */
export interface VirtualDatabase {
  readonly name: string;
  /** The 1,000 mailbox addresses, each a recipient in turn. */
  readonly recipients: readonly string[];
}

/** The domain of user n. */
function domainOf(n: number): string {
  return `vd${n % DOMAINS}.bench.test`;
}

/** Creates the bench's database (dropped first if a killed bench left it) and fills it. */
export async function createVirtualDatabase(): Promise<VirtualDatabase> {
  const name = `petrel_bench_virtual_${process.pid}`;
  const db = await createConnection(MYSQL);
  try {
    await db.query(`DROP DATABASE IF EXISTS ${name}`);
    await db.query(`CREATE DATABASE ${name}`);
    await db.query(`USE ${name}`);
    await db.query('CREATE TABLE domains (domain VARCHAR(255) PRIMARY KEY)');
    await db.query('CREATE TABLE mailbox (username VARCHAR(255) PRIMARY KEY, maildir VARCHAR(255) NOT NULL)');
    await db.query('CREATE TABLE aliases (address VARCHAR(255) PRIMARY KEY, goto TEXT NOT NULL)');
    const domains = Array.from({ length: DOMAINS }, (_, n) => domainOf(n));
    await db.query('INSERT INTO domains VALUES ?', [domains.map((domain) => [domain])]);
    const recipients = Array.from({ length: USERS }, (_, n) => `user${n}@${domainOf(n)}`);
    await db.query('INSERT INTO mailbox VALUES ?', [recipients.map((address) => [address, `${address.split('@')[1]}/${address.split('@')[0]}/`])]);
    await db.query('INSERT INTO aliases VALUES ?', [domains.map((domain, n) => [`postmaster@${domain}`, `user${n}@${domain}`])]);
    return { name, recipients };
  } finally {
    await db.end();
  }
}

/** Drops the bench's database. */
export async function dropVirtualDatabase(database: VirtualDatabase): Promise<void> {
  const db = await createConnection(MYSQL);
  try {
    await db.query(`DROP DATABASE IF EXISTS ${database.name}`);
  } finally {
    await db.end();
  }
}

/** MariaDB's count of SELECT statements since its start, all clients together. */
export async function selectCount(): Promise<number> {
  const db: Connection = await createConnection(MYSQL);
  try {
    const [rows] = await db.query("SHOW GLOBAL STATUS LIKE 'Com_select'");
    return Number((rows as { Value: string }[])[0]?.Value);
  } finally {
    await db.end();
  }
}

/**
 * Writes the three mysql: table files into etc and makes the mailbox base
 * in dir, owned by the bench user; returns the main.cf settings that use them.
 */
export function virtualMainCf(database: VirtualDatabase, etc: string, dir: string, owner: { uid: number; gid: number }): string[] {
  const connection = `hosts = ${MYSQL.host}:${MYSQL.port}\nuser = ${MYSQL.user}\ndbname = ${database.name}\n`;
  const table = (name: string, query: string): string => {
    const path = join(etc, `mysql-${name}.cf`);
    writeFileSync(path, `${connection}query = ${query}\n`, { mode: 0o644 });
    return `mysql:${path}`;
  };
  const base = join(dir, 'vmail');
  mkdirSync(base, { recursive: true, mode: 0o755 });
  chownSync(base, owner.uid, owner.gid);
  return [
    `virtual_mailbox_domains = ${table('domains', "SELECT domain FROM domains WHERE domain = '%s'")}`,
    `virtual_mailbox_maps = ${table('mailbox', "SELECT maildir FROM mailbox WHERE username = '%s'")}`,
    `virtual_alias_maps = ${table('aliases', "SELECT goto FROM aliases WHERE address = '%s'")}`,
    `virtual_mailbox_base = ${base}`,
    `virtual_uid_maps = static:${owner.uid}`,
    `virtual_gid_maps = static:${owner.gid}`,
  ];
}

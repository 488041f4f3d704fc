/*
 * dovecot-auth - a private Dovecot (Debian's dovecot-core) that serves only
 * authentication, for the tests of smtpd_sasl_type = dovecot: its own
 * configuration, run directory and log under a temporary directory, the
 * auth-client listener on a UNIX socket and on a loopback TCP port,
 * mechanisms PLAIN and LOGIN (or others asked for), users in a
 * passwd-file (SHA512-CRYPT hashes made by doveadm, or {PLAIN}) and, when
 * asked, in a MariaDB table through dovecot-mysql. It can be stopped and started again on the same paths.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runDovecot } from './dovecot.js';

/** Dovecot's password tool, which makes the hashes. */
export const DOVEADM = '/usr/bin/doveadm';
/** Dovecot's MySQL driver (Debian's dovecot-mysql). */
export const DOVECOT_MYSQL = '/usr/lib/dovecot/modules/auth/libdriver_mysql.so';
/** MariaDB's command-line client, which fills the SQL passdb's table. */
export const MYSQL = '/usr/bin/mysql';

/** A user and its password, stored as an SHA512-CRYPT hash unless plain says otherwise. */
export interface AuthUser {
  readonly name: string;
  readonly password: string;
  readonly plain?: boolean;
}

/** What the private Dovecot knows. */
export interface DovecotAuthOptions {
  /** Users of the passwd-file passdb. */
  readonly users: readonly AuthUser[];
  /** Users of an SQL passdb (checked after the passwd-file) in a new table of MariaDB's database "test". */
  readonly sqlUsers?: readonly AuthUser[];
  /** The mechanisms offered (Dovecot's auth_mechanisms; default "plain login"); cram-md5 needs {PLAIN} users. */
  readonly mechanisms?: string;
}

/** True while pid runs (a zombie has finished: its parent may never reap it). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function mysql(sql: string): void {
  const result = spawnSync(MYSQL, ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', 'test', '-e', sql], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mysql failed: ${result.stderr}`);
}

/** A Dovecot auth service under a temporary directory. */
export class DovecotAuth {
  /** The auth-client UNIX socket. */
  readonly socket: string;
  private readonly conf: string;
  private readonly logFile: string;
  private readonly table: string | undefined;
  private child: ChildProcess | undefined;

  private constructor(
    private readonly dir: string,
    /** The auth-client listener's port on 127.0.0.1. */
    readonly port: number,
    sql: boolean,
    private readonly mechanisms: string,
  ) {
    this.socket = join(dir, 'run', 'auth-client');
    this.conf = join(dir, 'dovecot.conf');
    this.logFile = join(dir, 'dovecot.log');
    this.table = sql ? `petrel_sasl_${process.pid}_${port}` : undefined;
  }

  /** Writes the configuration and the users under dir (which must exist) and starts Dovecot. */
  static async start(dir: string, port: number, options: DovecotAuthOptions): Promise<DovecotAuth> {
    const auth = new DovecotAuth(dir, port, options.sqlUsers !== undefined, options.mechanisms ?? 'plain login');
    chmodSync(dir, 0o755);
    auth.writeConfig();
    writeFileSync(join(dir, 'users'), options.users.map((user) => `${user.name}:${auth.hash(user)}::::::\n`).join(''));
    if (auth.table !== undefined) {
      mysql(`CREATE TABLE ${auth.table} (name VARCHAR(128) PRIMARY KEY, password VARCHAR(255) NOT NULL)`);
      for (const user of options.sqlUsers ?? []) {
        mysql(`INSERT INTO ${auth.table} VALUES ('${user.name}', '${auth.hash(user)}')`);
      }
    }
    await auth.restart();
    return auth;
  }

  /** Starts Dovecot (again) on the same configuration, sockets and port. */
  async restart(): Promise<void> {
    rmSync(this.socket, { force: true });
    this.child = await runDovecot(this.conf, [this.socket]);
  }

  /** Kills Dovecot's auth process (as a crash would), which drops its clients; the master starts a new one. */
  killAuthProcess(): void {
    const auth = this.children().find(([, comm]) => comm === 'auth');
    if (auth === undefined) throw new Error('no auth process under dovecot');
    process.kill(auth[0], 'SIGKILL');
  }

  /**
   * Stops Dovecot as systemd does: SIGTERM to the master, then to whatever
   * it leaves running (its auth process goes on serving the clients it has
   * until they leave), and waits until every one of its processes has exited.
   */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const children = this.children().map(([pid]) => pid);
    this.child = undefined;
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    for (let waited = 0; children.some(alive); waited += 20) {
      if (waited > 10_000) throw new Error('dovecot processes did not exit');
      for (const pid of children.filter(alive)) process.kill(pid, waited < 2000 ? 'SIGTERM' : 'SIGKILL');
      await sleep(20);
    }
  }

  /** The processes Dovecot's master started: pid and command name. */
  private children(): [number, string][] {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('dovecot is not running');
    const ps = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' });
    return ps.stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields.length === 2)
      .map(([child, comm]) => [Number(child), comm ?? '']);
  }

  /** Stops Dovecot for good and drops the SQL table. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.table !== undefined) mysql(`DROP TABLE IF EXISTS ${this.table}`);
  }

  /** Dovecot's log so far. */
  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  private hash(user: AuthUser): string {
    if (user.plain === true) return `{PLAIN}${user.password}`;
    const result = spawnSync(DOVEADM, ['-c', this.conf, 'pw', '-s', 'SHA512-CRYPT', '-p', user.password], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`doveadm pw failed: ${result.stderr}`);
    return result.stdout.trim();
  }

  private writeConfig(): void {
    mkdirSync(join(this.dir, 'run'), { recursive: true });
    const lines = [
      `base_dir = ${join(this.dir, 'run')}`,
      `state_dir = ${join(this.dir, 'state')}`,
      `log_path = ${this.logFile}`,
      'protocols =',
      'ssl = no',
      `auth_mechanisms = ${this.mechanisms}`,
      // Short enough for the tests to wait out, long enough to stop Dovecot while a FAIL is held back.
      'auth_failure_delay = 1s',
      'auth_verbose = yes',
      'auth_debug = yes',
      `passdb {\n  driver = passwd-file\n  args = ${join(this.dir, 'users')}\n}`,
    ];
    if (this.table !== undefined) {
      const sqlConf = join(this.dir, 'dovecot-sql.conf.ext');
      writeFileSync(
        sqlConf,
        [
          'driver = mysql',
          'connect = host=127.0.0.1 port=3306 dbname=test user=root',
          'default_pass_scheme = SHA512-CRYPT',
          `password_query = SELECT name AS user, password FROM ${this.table} WHERE name = '%u'`,
          '',
        ].join('\n'),
      );
      lines.push(`passdb {\n  driver = sql\n  args = ${sqlConf}\n}`);
    }
    lines.push(
      `service auth {\n  unix_listener auth-client {\n    mode = 0666\n  }\n  inet_listener auth-inet {\n    address = 127.0.0.1\n    port = ${this.port}\n  }\n}`,
      '',
    );
    writeFileSync(this.conf, lines.join('\n'));
  }
}

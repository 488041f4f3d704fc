/*
 * sasl-table - smtpd_sasl_type = petrel, the SASL type built into Petrel for
 * installations without Dovecot: users and their password hashes in lookup
 * tables (smtpd_sasl_path = texthash:/etc/petrel/sasl_users, hash:, lmdb:
 * ...), offered as PLAIN and LOGIN. A user's value is a Dovecot-style
 * "{SCHEME}hash" (password-hash.ts; petrel saslpasswd writes them). Keys are
 * case-folded as each table type folds them; the name smtpd logs and checks
 * sender logins against is the one the client gave. An unknown user costs
 * the same hash work as a known one, so user names cannot be probed by
 * timing. The tables are opened without petrel_table_cache_time's answer
 * cache (as Dovecot's auth_cache_size is 0 by default): a changed or
 * removed password counts at the next AUTH, in every smtpd process.
 * Created by smtpd for its SASL type; the SMTP side follows Postfix's
 * SASL_README, the hashes Dovecot's password schemes.
 */
import { splitList } from '../config/param-convert.js';
import { PetrelError } from '../errors.js';
import { openTableList, type TableList } from '../tables/table-list.js';
import { verifyPassword } from './password-hash.js';
import { PLAINTEXT_MECHANISMS, startPlaintext, type PasswordChecker, type PasswordVerdict } from './sasl-plaintext.js';
import type { SaslClientInfo, SaslExchange, SaslMechanism, SaslServer } from './sasl-server.js';

/**
 * What an unknown user's password is checked against until a real hash has
 * been looked up: a SHA512-CRYPT hash (the default scheme, default rounds)
 * of a random password nobody knows.
 */
const DECOY_HASH = '{SHA512-CRYPT}$6$oYTWPoHWkyzEmpG3$2d/RSsYJU/F8X9AQpc7UkXxHdju2QqX0hAVLOSVK3ckF2DV42iGHHKLviFET3dfHOj48PYpfuLV7BtZd4cHei.';

const REFUSED: PasswordVerdict = { ok: false, reason: 'authentication failed', temporary: false };

/** Options of the petrel SASL type. */
export interface TableSaslOptions {
  /** The table list, as smtpd_sasl_path gives it (type:name items separated by commas or white space). */
  readonly table: string;
  /** The configuration directory tables are opened with. */
  readonly configDir: string;
}

/** PLAIN and LOGIN against user names and password hashes in lookup tables. */
export class TableSaslServer implements SaslServer {
  private readonly specs: readonly string[];
  private opening: Promise<TableList> | undefined;
  /**
   * The last usable hash a lookup returned: checking an unknown user's
   * password against it costs what a known user's check costs, whatever
   * scheme and rounds the table uses.
   */
  private decoy = DECOY_HASH;
  private readonly checker: PasswordChecker = { verify: (username, password) => this.verify(username, password) };

  constructor(private readonly options: TableSaslOptions) {
    this.specs = splitList(options.table);
    if (this.specs.length === 0) throw new PetrelError('config', 'the petrel SASL type needs a table of users (smtpd_sasl_path)');
    // Opened now so the first AUTH need not wait; a failure is reported
    // (and the open retried) when smtpd next asks for the mechanisms.
    this.tables().catch(() => {});
  }

  private tables(): Promise<TableList> {
    if (this.opening === undefined) {
      // No cacheTime: see the header.
      const opening = openTableList(this.specs, { configDir: this.options.configDir });
      this.opening = opening;
      opening.catch(() => {
        if (this.opening === opening) this.opening = undefined;
      });
    }
    return this.opening;
  }

  /** PLAIN and LOGIN, once the tables are open; throws when they cannot be opened. */
  async mechanisms(): Promise<readonly SaslMechanism[]> {
    await this.tables();
    return PLAINTEXT_MECHANISMS;
  }

  /** An exchange of PLAIN or LOGIN; another mechanism's exchange fails at once. */
  async start(mechanism: string, client: SaslClientInfo): Promise<SaslExchange> {
    await this.tables();
    return (
      startPlaintext(mechanism, this.checker, client) ?? {
        step: async () => ({ kind: 'failure', reason: `mechanism ${mechanism} is not offered`, temporary: false }),
        abort: () => {},
      }
    );
  }

  /** Closes the tables. */
  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    if (opening === undefined) return;
    try {
      await (await opening).close();
    } catch {
      // a list that never opened has nothing to close
    }
  }

  private async verify(username: string, password: string): Promise<PasswordVerdict> {
    let stored: string | undefined;
    try {
      stored = await (await this.tables()).lookup(username);
    } catch (err) {
      return { ok: false, reason: `user lookup failed: ${(err as Error).message}`, temporary: true };
    }
    try {
      if (stored === undefined) {
        await verifyPassword(password, this.decoy);
        return REFUSED;
      }
      const check = await verifyPassword(password, stored);
      if (check.kind === 'unusable') {
        // Costs the same as any check; the reason tells the log about the broken entry.
        await verifyPassword(password, this.decoy);
        return { ok: false, reason: `${check.reason} for user ${username}`, temporary: false };
      }
      this.decoy = stored;
      return check.kind === 'match' ? { ok: true, username } : REFUSED;
    } catch (err) {
      return { ok: false, reason: `password check failed: ${(err as Error).message}`, temporary: true };
    }
  }
}

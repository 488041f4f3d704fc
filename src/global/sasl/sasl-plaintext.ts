/*
 * sasl-plaintext - the PLAIN (RFC 4616) and LOGIN mechanisms over a
 * password check, for the SASL types that verify a name and a password
 * themselves (cyrus through saslauthd, petrel's own table of hashes).
 * An authorization identity other than the authentication identity is
 * refused: Petrel has no proxy authorization. Used by those SaslServers.
 */
import type { SaslClientInfo, SaslExchange, SaslMechanism, SaslStep } from './sasl-server.js';

/** The outcome of a password check. */
export type PasswordVerdict =
  | { readonly ok: true; readonly username: string }
  | { readonly ok: false; readonly reason: string; readonly temporary: boolean };

/** Checks a name and a password (in constant time where a secret is compared). */
export interface PasswordChecker {
  verify(username: string, password: string, client: SaslClientInfo): Promise<PasswordVerdict>;
}

/** The mechanisms a password check can serve. */
export const PLAINTEXT_MECHANISMS: readonly SaslMechanism[] = [
  { name: 'PLAIN', flags: new Set(['plaintext']) },
  { name: 'LOGIN', flags: new Set(['plaintext']) },
];

function verdictStep(verdict: PasswordVerdict): SaslStep {
  return verdict.ok ? { kind: 'success', username: verdict.username } : { kind: 'failure', reason: verdict.reason, temporary: verdict.temporary };
}

const fail = (reason: string): SaslStep => ({ kind: 'failure', reason, temporary: false });

class PlainExchange implements SaslExchange {
  private asked = false;
  constructor(
    private readonly checker: PasswordChecker,
    private readonly client: SaslClientInfo,
  ) {}

  async step(response: Buffer | undefined): Promise<SaslStep> {
    if (response === undefined) {
      if (this.asked) return fail('no response');
      this.asked = true;
      return { kind: 'challenge', challenge: Buffer.alloc(0) };
    }
    const parts = response.toString('utf8').split('\0');
    if (parts.length !== 3) return fail('malformed PLAIN response');
    const [authzid, authcid, password] = parts as [string, string, string];
    if (authcid === '') return fail('empty user name');
    if (authzid !== '' && authzid !== authcid) return fail(`authorization identity ${authzid} differs from ${authcid}`);
    return verdictStep(await this.checker.verify(authcid, password, this.client));
  }

  abort(): void {}
}

class LoginExchange implements SaslExchange {
  private username: string | undefined;
  private started = false;
  constructor(
    private readonly checker: PasswordChecker,
    private readonly client: SaslClientInfo,
  ) {}

  async step(response: Buffer | undefined): Promise<SaslStep> {
    if (!this.started) {
      this.started = true;
      if (response === undefined || response.length === 0) return { kind: 'challenge', challenge: Buffer.from('Username:') };
    } else if (response === undefined) {
      return fail('no response');
    }
    if (this.username === undefined) {
      this.username = (response as Buffer).toString('utf8');
      if (this.username === '') return fail('empty user name');
      return { kind: 'challenge', challenge: Buffer.from('Password:') };
    }
    return verdictStep(await this.checker.verify(this.username, (response as Buffer).toString('utf8'), this.client));
  }

  abort(): void {}
}

/** An exchange of mechanism (PLAIN or LOGIN) over checker, or undefined for another mechanism. */
export function startPlaintext(mechanism: string, checker: PasswordChecker, client: SaslClientInfo): SaslExchange | undefined {
  switch (mechanism.toUpperCase()) {
    case 'PLAIN':
      return new PlainExchange(checker, client);
    case 'LOGIN':
      return new LoginExchange(checker, client);
    default:
      return undefined;
  }
}

/*
 * sasl-dovecot - smtpd_sasl_type = dovecot: AUTH exchanges carried out by
 * Dovecot's auth service over its auth-client protocol. One connection per
 * process, opened at first use and shared by every session (requests are
 * told apart by id); when it breaks, the exchanges on it fail as temporary
 * failures and the next call connects again. Created by smtpd with
 * smtpd_sasl_path (a UNIX socket, or inet:host:port) and a timeout.
 * Follows Postfix's xsasl_dovecot_server (SASL_README, "Dovecot SASL").
 */
import { msg } from '../../util/msg.js';
import { DovecotAuthConnection, tabEscape, tabUnescape, type AuthAnswer } from './sasl-dovecot-conn.js';
import type { SaslClientInfo, SaslExchange, SaslMechanism, SaslServer, SaslStep } from './sasl-server.js';

/** Where Dovecot's auth service listens and how long any wait for it may last. */
export interface DovecotSaslOptions {
  /** An absolute UNIX socket path, or inet:host:port. */
  readonly path: string;
  readonly timeoutMs: number;
}

const failure = (reason: string, temporary: boolean): SaslStep => ({ kind: 'failure', reason, temporary });

/** An initial response in base64: Dovecot reads a bare "resp=" as none at all, and "resp==" as an empty one. */
const initialResponse = (data: Buffer): string => `resp=${data.length === 0 ? '=' : data.toString('base64')}`;

/** The value of name= among a reply's optional fields, unescaped. */
function param(args: readonly string[], name: string): string | undefined {
  const field = args.find((arg) => arg.startsWith(`${name}=`));
  return field === undefined ? undefined : tabUnescape(field.slice(name.length + 1));
}

/** The AUTH fields that tell Dovecot about the client, for its passdb and its failure penalty. */
function clientFields(client: SaslClientInfo): string[] {
  const fields = [`service=${tabEscape(client.service)}`, 'nologin'];
  if (client.localAddress !== '') fields.push(`lip=${tabEscape(client.localAddress)}`);
  if (client.remoteAddress !== '') fields.push(`rip=${tabEscape(client.remoteAddress)}`);
  if (client.localPort > 0) fields.push(`lport=${client.localPort}`);
  if (client.remotePort > 0) fields.push(`rport=${client.remotePort}`);
  if (client.secured) fields.push('secured');
  if (client.validClientCert) fields.push('valid-client-cert');
  return fields;
}

/** What a reply from Dovecot means for smtpd. */
function stepOf(answer: AuthAnswer): SaslStep {
  if (answer.kind === 'lost') return failure(answer.reason, true);
  const { command, args } = answer;
  switch (command) {
    case 'CONT':
      return { kind: 'challenge', challenge: Buffer.from(args[0] ?? '', 'base64') };
    case 'FAIL':
      return failure(param(args, 'reason') ?? 'authentication failed', args.includes('temp') || param(args, 'code') === 'temp_fail');
    case 'OK': {
      const username = param(args, 'user');
      if (username !== undefined && username !== '') return { kind: 'success', username };
      // Without the name smtpd cannot log it or check sender logins against it.
      msg.warn('SASL: Dovecot auth server accepted a client without naming the user');
      return failure('authenticated user unknown', true);
    }
  }
}

/** One exchange: AUTH with the first response, then CONT for each further one, until OK or FAIL. */
class DovecotExchange implements SaslExchange {
  private id: number | undefined;
  private finished = false;

  constructor(
    private readonly connection: DovecotAuthConnection,
    private readonly mechanism: string,
    private readonly client: SaslClientInfo,
    private readonly timeoutMs: number,
  ) {}

  async step(response: Buffer | undefined): Promise<SaslStep> {
    if (this.finished) return failure('exchange already finished', false);
    let fields: string[];
    if (this.id === undefined) {
      this.id = this.connection.newId();
      fields = ['AUTH', String(this.id), this.mechanism, ...clientFields(this.client)];
      if (response !== undefined) fields.push(initialResponse(response));
    } else if (response === undefined) {
      this.abort();
      return failure('no response', false);
    } else {
      // Unlike resp=, a continuation must be strict base64: an empty response is an empty field.
      fields = ['CONT', String(this.id), response.toString('base64')];
    }
    const step = stepOf(await this.connection.request(this.id, fields, this.timeoutMs));
    if (step.kind !== 'challenge') this.finished = true;
    return step;
  }

  abort(): void {
    if (this.id !== undefined && !this.finished) this.connection.forget(this.id);
    this.finished = true;
  }
}

/** An exchange that fails at once: smtpd never sends Dovecot a mechanism it did not announce (Dovecot would drop the connection). */
class RefusedExchange implements SaslExchange {
  constructor(private readonly reason: string) {}

  async step(): Promise<SaslStep> {
    return failure(this.reason, false);
  }

  abort(): void {}
}

/** smtpd_sasl_type = dovecot. */
export class DovecotSaslServer implements SaslServer {
  private connection: DovecotAuthConnection | undefined;
  private opening: Promise<DovecotAuthConnection> | undefined;

  constructor(private readonly options: DovecotSaslOptions) {}

  async mechanisms(): Promise<readonly SaslMechanism[]> {
    return (await this.connect()).mechanisms;
  }

  async start(mechanism: string, client: SaslClientInfo): Promise<SaslExchange> {
    const connection = await this.connect();
    const name = mechanism.toUpperCase();
    if (!connection.known.has(name)) return new RefusedExchange(`mechanism ${name} is not offered by the Dovecot auth server`);
    return new DovecotExchange(connection, name, client, this.options.timeoutMs);
  }

  async close(): Promise<void> {
    const connection = this.connection ?? (await this.opening?.catch(() => undefined));
    connection?.close();
    this.connection = undefined;
  }

  /** The open connection, or a new one (shared by the callers that wait for it). */
  private connect(): Promise<DovecotAuthConnection> {
    if (this.connection !== undefined && !this.connection.closed) return Promise.resolve(this.connection);
    this.opening ??= DovecotAuthConnection.open(this.options.path, this.options.timeoutMs)
      .then((connection) => (this.connection = connection))
      .finally(() => (this.opening = undefined));
    return this.opening;
  }
}


/*
 * sasl-dovecot-conn - one connection to Dovecot's auth service (the
 * auth-client protocol, version 1): the handshake (VERSION, CPID; the
 * server's VERSION, MECH, SPID, CUID, COOKIE, DONE), then CONT / OK / FAIL
 * replies routed to the request that waits for them by request id. Lines
 * are TAB-separated with Dovecot's \001 escaping. Used by sasl-dovecot
 * (smtpd_sasl_type = dovecot), which keeps one connection per process;
 * connects to smtpd_sasl_path (a UNIX socket or inet:host:port). Follows
 * Postfix's xsasl_dovecot_server and Dovecot's auth protocol document.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { PetrelError } from '../errors.js';
import { msg } from '../../util/msg.js';
import type { SaslMechanism, SaslMechanismFlag } from './sasl-server.js';

/** The protocol version this client speaks; a server with another major version is refused. */
const PROTOCOL_MAJOR = '1';
const PROTOCOL_MINOR = '2';

/** Dovecot expects lines to fit in 16 KiB; four times that still catches a runaway peer. */
const MAX_LINE = 65536;

const FLAGS: Readonly<Record<string, SaslMechanismFlag>> = {
  anonymous: 'anonymous',
  plaintext: 'plaintext',
  dictionary: 'dictionary',
  active: 'active',
  'forward-secrecy': 'forward-secrecy',
  'mutual-auth': 'mutual-auth',
};

const ESCAPES: Readonly<Record<string, string>> = { '\0': '0', '\x01': '1', '\t': 't', '\r': 'r', '\n': 'n' };
const UNESCAPES: Readonly<Record<string, string>> = { '0': '\0', '1': '\x01', t: '\t', r: '\r', n: '\n' };

/** value with TAB, LF, CR, NUL and \001 escaped, safe as one protocol field. */
export function tabEscape(value: string): string {
  return value.replace(/[\0\x01\t\r\n]/g, (c) => `\x01${ESCAPES[c]}`);
}

/** The value a protocol field stands for (\001 followed by any other character is that character). */
export function tabUnescape(field: string): string {
  return field.replace(/\x01([\s\S]?)/g, (_all, c: string) => UNESCAPES[c] ?? c);
}

/** What a request got back: a CONT / OK / FAIL reply with its fields after the id, or why none came. */
export type AuthAnswer =
  | { readonly kind: 'reply'; readonly command: 'CONT' | 'OK' | 'FAIL'; readonly args: readonly string[] }
  | { readonly kind: 'lost'; readonly reason: string };

/** The socket options for smtpd_sasl_path: "inet:host:port" ("[v6]" allowed as host) or a UNIX socket path. */
export function authTarget(path: string): NetConnectOpts {
  if (!path.startsWith('inet:')) return { path };
  const rest = path.slice('inet:'.length);
  const colon = rest.lastIndexOf(':');
  const port = Number(rest.slice(colon + 1));
  const host = rest.slice(0, Math.max(colon, 0)).replace(/^\[(.*)\]$/, '$1');
  if (colon <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PetrelError('config', `bad Dovecot auth socket address: ${path}`);
  }
  return { host, port };
}

/** A connection to Dovecot's auth service, shared by every exchange of the process. */
export class DovecotAuthConnection {
  /** The mechanisms Dovecot offers to clients (its "private" ones left out). */
  readonly mechanisms: SaslMechanism[] = [];
  /** Every mechanism Dovecot announced, private ones included: the names an AUTH may carry. */
  readonly known = new Set<string>();
  private readonly waiters = new Map<number, (answer: AuthAnswer) => void>();
  private lastId = 0;
  private pending: Buffer = Buffer.alloc(0);
  private versionSeen = false;
  private handshakeDone = false;
  private closedReason: string | undefined;
  private onHandshake: ((error?: string) => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly name: string,
  ) {}

  /** Connects to path and completes the handshake within timeoutMs; throws a temporary PetrelError naming path. */
  static open(path: string, timeoutMs: number): Promise<DovecotAuthConnection> {
    const target = authTarget(path);
    return new Promise((resolve, reject) => {
      const connection = new DovecotAuthConnection(connect(target), path);
      const timer = setTimeout(() => connection.close('timeout'), timeoutMs);
      connection.onHandshake = (error) => {
        clearTimeout(timer);
        connection.onHandshake = undefined;
        if (error === undefined) resolve(connection);
        else reject(new PetrelError('io', `cannot talk to Dovecot auth server ${path}: ${error}`, { temporary: true }));
      };
      connection.attach();
    });
  }

  /** True once the connection is gone; the server then opens a new one. */
  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** A request id not used before on this connection. */
  newId(): number {
    return ++this.lastId;
  }

  /** Sends one line of fields (each already escaped) and waits up to timeoutMs for the reply to id. */
  request(id: number, fields: readonly string[], timeoutMs: number): Promise<AuthAnswer> {
    if (this.closedReason !== undefined) return Promise.resolve({ kind: 'lost', reason: `Dovecot auth server ${this.name}: ${this.closedReason}` });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        resolve({ kind: 'lost', reason: `Dovecot auth server ${this.name}: timeout` });
      }, timeoutMs);
      this.waiters.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.socket.write(`${fields.join('\t')}\n`);
    });
  }

  /** Stops waiting for id: a reply that still comes for it is dropped (the protocol has no cancel). */
  forget(id: number): void {
    const wake = this.waiters.get(id);
    this.waiters.delete(id);
    wake?.({ kind: 'lost', reason: 'aborted' });
  }

  /** Ends the connection; every request still waiting gets a temporary failure. */
  close(reason = 'connection closed'): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.socket.destroy();
    this.onHandshake?.(reason);
    const waiting = [...this.waiters.values()];
    this.waiters.clear();
    for (const wake of waiting) wake({ kind: 'lost', reason: `Dovecot auth server ${this.name}: ${reason}` });
  }

  private attach(): void {
    this.socket.on('connect', () => this.socket.write(`VERSION\t${PROTOCOL_MAJOR}\t${PROTOCOL_MINOR}\nCPID\t${process.pid}\n`));
    this.socket.on('data', (chunk: Buffer) => this.input(chunk));
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.close(err.code ?? err.message));
    this.socket.on('close', () => this.close());
  }

  private input(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (let lf = this.pending.indexOf(10); lf >= 0 && !this.closed; lf = this.pending.indexOf(10)) {
      const line = this.pending.subarray(0, lf).toString('utf8');
      this.pending = this.pending.subarray(lf + 1);
      if (lf > MAX_LINE) return this.violation(`line longer than ${MAX_LINE} bytes`);
      if (this.handshakeDone) this.reply(line.split('\t'));
      else this.handshake(line.split('\t'));
    }
    if (this.pending.length > MAX_LINE && !this.closed) this.violation(`line longer than ${MAX_LINE} bytes`);
  }

  private handshake(fields: string[]): void {
    const [command, ...args] = fields;
    if (!this.versionSeen) {
      if (command !== 'VERSION') return this.violation(`expected VERSION, got "${command}"`);
      if (args[0] !== PROTOCOL_MAJOR) return this.violation(`unsupported protocol version ${args.join('.')}`);
      this.versionSeen = true;
    } else if (command === 'MECH' && args[0] !== undefined) {
      this.mechanism(args[0].toUpperCase(), args.slice(1));
    } else if (command === 'DONE') {
      this.handshakeDone = true;
      this.onHandshake?.();
    }
    // SPID, CUID and COOKIE serve master-login hand-offs, which smtpd does not make.
  }

  private mechanism(name: string, params: string[]): void {
    this.known.add(name);
    if (params.includes('private')) return;
    const flags = new Set<SaslMechanismFlag>();
    for (const param of params) {
      const flag = FLAGS[param];
      if (flag !== undefined) flags.add(flag);
    }
    this.mechanisms.push({ name, flags });
  }

  private reply(fields: string[]): void {
    const [command, idField, ...args] = fields;
    if (command !== 'CONT' && command !== 'OK' && command !== 'FAIL') return this.violation(`unexpected reply "${command}"`);
    const id = Number(idField);
    if (!/^[1-9][0-9]*$/.test(idField ?? '') || id > this.lastId) return this.violation(`${command} for unknown request id "${idField}"`);
    const wake = this.waiters.get(id);
    // No waiter: an exchange that was aborted or timed out; its late reply means nothing now.
    if (wake === undefined) return;
    this.waiters.delete(id);
    wake({ kind: 'reply', command, args });
  }

  private violation(what: string): void {
    msg.warn(`SASL: protocol error from Dovecot auth server ${this.name}: ${what}`);
    this.close(`protocol error: ${what}`);
  }
}

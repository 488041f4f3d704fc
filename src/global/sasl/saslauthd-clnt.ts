/*
 * saslauthd-clnt - asks Cyrus' saslauthd daemon whether a name and a
 * password are good, over its UNIX socket (saslauthd_path, by default
 * /var/run/saslauthd/mux), as the Cyrus SASL library's pwcheck_method
 * "saslauthd" does: one request per connection, made of the login, the
 * password, the service and the realm, each a 2-byte big-endian length and
 * its bytes; the answer is a 2-byte length and a text starting "OK" or "NO".
 * Never throws: a daemon that cannot be reached or answers badly or late is
 * a temporary failure, so the client is told to try again rather than
 * refused. Used by sasl-cyrus (smtpd_sasl_type = cyrus); saslauthd(8).
 */
import { connect } from 'node:net';
import { getSystemErrorMap } from 'node:util';

/** One question for saslauthd. */
export interface SaslauthdRequest {
  readonly login: string;
  readonly password: string;
  readonly service: string;
  readonly realm: string;
}

/** What saslauthd said, or why it could not be asked. */
export type SaslauthdAnswer = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly temporary: boolean };

/** The Cyrus library's bound on a request (its query buffer less room for the lengths): larger ones are refused unasked. */
const MAX_REQUEST = 8192 - 30;

/** The request's bytes, or undefined when it is too large to send. */
export function encodeSaslauthdRequest(request: SaslauthdRequest): Buffer | undefined {
  const fields = [request.login, request.password, request.service, request.realm].map((s) => Buffer.from(s, 'utf8'));
  if (fields.reduce((sum, f) => sum + f.length, 0) > MAX_REQUEST) return undefined;
  return Buffer.concat(
    fields.flatMap((f) => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(f.length);
      return [length, f];
    }),
  );
}

/** "connect ENOENT /x" as the C library words it: "No such file or directory". */
function systemErrorText(err: NodeJS.ErrnoException): string {
  const text = typeof err.errno === 'number' ? getSystemErrorMap().get(err.errno)?.[1] : undefined;
  return text === undefined ? err.message : text.charAt(0).toUpperCase() + text.slice(1);
}

/** Asks the saslauthd listening on socketPath, giving up after timeoutMs. */
export function askSaslauthd(socketPath: string, request: SaslauthdRequest, timeoutMs: number): Promise<SaslauthdAnswer> {
  const bytes = encodeSaslauthdRequest(request);
  if (bytes === undefined) return Promise.resolve({ ok: false, reason: 'saslauthd request too large', temporary: false });
  return new Promise((resolve) => {
    let connected = false;
    let received = Buffer.alloc(0);
    const socket = connect(socketPath);
    const finish = (answer: SaslauthdAnswer): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const broken = (why: string): void =>
      finish({ ok: false, reason: connected ? `saslauthd server ${socketPath}: ${why}` : `cannot connect to saslauthd server ${socketPath}: ${why}`, temporary: true });
    const timer = setTimeout(() => broken(connected ? 'timed out waiting for the answer' : 'timed out'), timeoutMs);
    socket.on('connect', () => {
      connected = true;
      socket.end(bytes);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (length < 2) return broken('bad response');
      if (received.length < 2 + length) return;
      const text = received.subarray(2, 2 + length).toString('utf8');
      finish(text.startsWith('OK') ? { ok: true } : { ok: false, reason: 'authentication failure', temporary: false });
    });
    socket.on('end', () => broken('short response'));
    socket.on('error', (err: NodeJS.ErrnoException) => broken(systemErrorText(err)));
  });
}

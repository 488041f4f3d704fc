/*
 * smtp-bench-tls - the TLS side of smtp-bench's "tls" mode: the RSA-2048
 * certificate both servers present (made with openssl in the run's
 * folder), the main.cf lines that offer STARTTLS with it (the same for
 * Petrel and Postfix: smtpd_tls_security_level = may, their defaults for
 * everything else), and one message on a connection of its own (connect,
 * EHLO, STARTTLS, EHLO, MAIL/RCPT/DATA, QUIT). The client never offers a
 * session to resume, so every handshake is a full one on both servers;
 * TlsTally records what was negotiated so a run shows it. runTlsLoad sends
 * a run's messages that way over N sessions in parallel, each message's
 * latency running from the connect to the 250 after its DATA. Used by
 * smtp-bench.ts; the servers follow Postfix's TLS_README.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SmtpClient } from '../../test/support/smtp-client.js';
import { messageBody, type LoadOutcome, type LoadPlan } from './smtp-bench-client.js';

/** The certificate and key files the servers present. */
export interface BenchCertificate {
  readonly cert: string;
  readonly key: string;
}

/** A self-signed RSA-2048 certificate for hostname, made in dir. */
export function makeCertificate(dir: string, hostname: string): BenchCertificate {
  const cert = join(dir, 'bench-cert.pem');
  const key = join(dir, 'bench-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${hostname}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** main.cf lines offering STARTTLS with certificate, the same for either system. */
export function tlsMainCf(certificate: BenchCertificate): string[] {
  return ['smtpd_tls_security_level = may', `smtpd_tls_cert_file = ${certificate.cert}`, `smtpd_tls_key_file = ${certificate.key}`];
}

/** What the handshakes of a run negotiated, and how many resumed a session (none should). */
export class TlsTally {
  private readonly kinds = new Map<string, number>();
  private resumed = 0;

  add(kind: string, reused: boolean): void {
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    if (reused) this.resumed++;
  }

  toString(): string {
    const kinds = [...this.kinds].map(([kind, count]) => `${kind} ×${count}`).join(', ');
    return `${kinds}; ${this.resumed} resumed`;
  }
}

/** One message over STARTTLS on a new connection; returns the reply to its DATA and when it came (performance.now()). */
async function sendOverStartTls(port: number, recipient: string, body: string, tally: TlsTally): Promise<{ reply: string; at: number }> {
  const { client, greeting } = await SmtpClient.open(port);
  if (!greeting.startsWith('220')) throw new Error(`greeting: ${greeting}`);
  const ehlo = await client.command('EHLO bench.example');
  if (!ehlo.includes('STARTTLS')) throw new Error(`STARTTLS not offered: ${ehlo}`);
  const secure = await client.startTls();
  const key = secure.getEphemeralKeyInfo();
  const group = key !== null && 'name' in key ? ` ${key.name}` : '';
  tally.add(`${secure.getProtocol() ?? '?'} ${secure.getCipher().standardName}${group}`, secure.isSessionReused());
  const again = await client.command('EHLO bench.example');
  if (!again.startsWith('250')) throw new Error(`EHLO after STARTTLS: ${again}`);
  const reply = await client.send('bench@example.org', [recipient], body);
  const at = performance.now();
  await client.quit();
  return { reply, at };
}

/** Sends the plan's messages each on a connection of its own with STARTTLS, tallying the handshakes. */
export async function runTlsLoad(plan: LoadPlan, tally: TlsTally): Promise<LoadOutcome> {
  const body = messageBody(plan.bytes, plan.recipients[0] as string);
  const latencies: number[] = [];
  const failures: string[] = [];
  let acceptedAt = performance.now();
  let next = 0;
  const session = async (): Promise<void> => {
    for (let n = next++; n < plan.messages; n = next++) {
      const t0 = performance.now();
      const sent = await sendOverStartTls(plan.port, plan.recipients[n % plan.recipients.length] as string, body, tally).catch((err: Error) => ({ reply: `(${err.message})`, at: 0 }));
      if (!sent.reply.startsWith('250')) {
        failures.push(`message ${n}: ${sent.reply.replace(/\n/g, ' | ')}`);
        continue;
      }
      acceptedAt = Math.max(acceptedAt, sent.at);
      latencies.push(sent.at - t0);
    }
  };
  await Promise.all(Array.from({ length: plan.sessions }, session));
  latencies.sort((a, b) => a - b);
  return { acceptedAt, latencies, failures };
}

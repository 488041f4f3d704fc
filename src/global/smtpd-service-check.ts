/*
 * smtpd-service-check - what stops the smtpd services of master.cf from
 * serving as configured, found before anything is started: a TLS
 * certificate that is missing, unreadable, expired or does not match its
 * key, a protocol or cipher setting that cannot be honoured, an unknown
 * SASL type or a SASL configuration it refuses (a Cyrus smtpd.conf without
 * saslauthd, an empty user table). One line per problem, naming the
 * service; the master refuses to start on them and "petrel check" lists
 * them. The SASL modules are loaded only when a service enables AUTH.
 */
import { join } from 'node:path';
import { loadConfig } from './config/load-config.js';
import type { MasterEntry } from './config/master-cf-read.js';
import { ServerTls } from './tls/tls-server.js';

/** The problems of every smtpd service in entries. */
export async function smtpdServiceProblems(configDir: string, entries: readonly MasterEntry[]): Promise<string[]> {
  const problems: string[] = [];
  for (const entry of entries) {
    if (entry.command !== 'smtpd') continue;
    try {
      const { params } = loadConfig({ configDir, overrides: Object.fromEntries(entry.overrides) });
      await ServerTls.open(params, undefined);
      if (params.smtpd_sasl_auth_enable) {
        const { openSaslServer } = await import('./sasl/sasl-open.js');
        await openSaslServer(params).close();
      }
    } catch (err) {
      problems.push(`${join(configDir, 'master.cf')}, line ${entry.line}: service ${entry.service}/${entry.type}: ${(err as Error).message}`);
    }
  }
  return problems;
}

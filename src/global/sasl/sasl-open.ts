/*
 * sasl-open - opens the SASL implementation smtpd_sasl_type names, with
 * smtpd_sasl_path read as that type reads it: dovecot, Dovecot's auth
 * socket (a path relative to queue_directory, as Postfix's private/auth,
 * an absolute path, or inet:host:port); cyrus, the Cyrus application name
 * whose .conf file selects saslauthd; petrel, the lookup table of users
 * and password hashes. An unknown type is a configuration error. Used by
 * smtpd.
 */
import { isAbsolute, join } from 'node:path';
import { PetrelError } from '../errors.js';
import type { Params } from '../params/param-registry.js';
import { CyrusSaslServer } from './sasl-cyrus.js';
import { DovecotSaslServer } from './sasl-dovecot.js';
import { SASL_SERVER_TYPES, type SaslServer, type SaslServerType } from './sasl-server.js';
import { TableSaslServer } from './sasl-table.js';

/** The time limit on one exchange with a SASL back end. */
const SASL_TIMEOUT_MS = 10_000;

/** How each type reads smtpd_sasl_path and starts. */
const OPENERS: Readonly<Record<SaslServerType, (params: Params) => SaslServer>> = {
  dovecot: (p) => {
    const path = p.smtpd_sasl_path;
    return new DovecotSaslServer({ path: path.startsWith('inet:') || isAbsolute(path) ? path : join(p.queue_directory, path), timeoutMs: SASL_TIMEOUT_MS });
  },
  cyrus: (p) => new CyrusSaslServer({ appName: p.smtpd_sasl_path, configPath: p.cyrus_sasl_config_path, service: p.smtpd_sasl_service, realm: p.smtpd_sasl_local_domain, timeoutMs: SASL_TIMEOUT_MS }),
  petrel: (p) => new TableSaslServer({ table: p.smtpd_sasl_path, configDir: p.config_directory }),
};

/** The SaslServer of smtpd_sasl_type; an unknown type is a configuration error. */
export function openSaslServer(params: Params): SaslServer {
  const type = params.smtpd_sasl_type.toLowerCase();
  if (!(SASL_SERVER_TYPES as readonly string[]).includes(type)) {
    throw new PetrelError('config', `smtpd_sasl_type: unsupported SASL server implementation "${params.smtpd_sasl_type}" (${SASL_SERVER_TYPES.join(', ')})`);
  }
  return OPENERS[type as SaslServerType](params);
}

/*
 * smtpd - the SMTP server daemon (smtpd(8)), Petrel's own protocol engine:
 * EHLO with PIPELINING, SIZE, VRFY, STARTTLS, AUTH, ENHANCEDSTATUSCODES,
 * 8BITMIME, DSN, SMTPUTF8 and CHUNKING; TLS (STARTTLS or wrapper mode) from
 * global/tls; SASL from global/sasl; the restriction checks of smtpd-check.ts; the
 * client limits of smtpd-anvil.ts; the cleanup hand-off of smtpd-transaction.ts. This file sets up what every
 * session of the process shares and hands each connection to smtpd-serve.ts;
 * with -S it serves one session on standard input and output instead
 * (smtpd-standalone.ts, for "sendmail -bs").
 */
import { AddressResolver } from '../global/addr/addr-resolve.js';
import { PetrelError } from '../global/errors.js';
import type { SaslServer } from '../global/sasl/sasl-server.js';
import { ServerTls } from '../global/tls/tls-server.js';
import { openTableList } from '../global/tables/table-list.js';
import { tableContext } from '../global/tables/table.js';
import { runDaemon } from '../master/skeleton.js';
import { runCommand } from '../util/command-main.js';
import { openLimits } from './smtpd-anvil.js';
import { validateSaslOptions } from './smtpd-auth.js';
import { requireRelayControl, restrictionClasses, SmtpdChecks } from './smtpd-check-config.js';
import { openRecipientMaps } from './smtpd-recipient-maps.js';
import { ClientNameResolver } from './smtpd-client-name.js';
import { serveClient } from './smtpd-serve.js';
import type { SmtpdServices } from './smtpd-session.js';
import { serveStandalone } from './smtpd-standalone.js';
import { ticketSecret } from './smtpd-tls.js';
import { cleanupSink } from './smtpd-transaction.js';

let services: SmtpdServices | undefined;
let clientNames: ClientNameResolver | undefined;
let tls: ServerTls | undefined;
let sasl: SaslServer | undefined;

/** smtpd -S -c config_dir: the stand-alone mode of "sendmail -bs", without the master. */
function standaloneConfigDir(argv: readonly string[]): string | undefined {
  if (!argv.includes('-S')) return undefined;
  const at = argv.indexOf('-c');
  return at >= 0 ? argv[at + 1] : undefined;
}

const standalone = standaloneConfigDir(process.argv.slice(2));
if (standalone !== undefined) runCommand('smtpd', () => serveStandalone(standalone));
else runDaemon({
  name: 'smtpd',
  // As root, before privileges go: TLS keys and the Cyrus configuration are often readable by root only.
  async preInit({ config }) {
    const { params } = config;
    validateSaslOptions(params);
    tls = await ServerTls.open(params, ticketSecret(params));
    // Loaded only when AUTH is on: the password hash libraries are not small.
    if (params.smtpd_sasl_auth_enable) sasl = (await import('../global/sasl/sasl-open.js')).openSaslServer(params);
  },
  async postInit({ config }) {
    const { params } = config;
    // Never an open relay: a relay policy that stops nobody is a start-up error, as in Postfix.
    requireRelayControl(params);
    const ctx = tableContext(params);
    const resolver = await AddressResolver.open(params);
    const checks = await SmtpdChecks.open(params, resolver, {
      recipientMaps: await openRecipientMaps(params),
      senderLogins: params.smtpd_sender_login_maps.length > 0 ? await openTableList(params.smtpd_sender_login_maps, ctx) : undefined,
      relayClientCerts: params.relay_clientcerts.length > 0 ? await openTableList(params.relay_clientcerts, ctx) : undefined,
      ehloKeywordMaps: params.smtpd_discard_ehlo_keyword_address_maps.length > 0 ? await openTableList(params.smtpd_discard_ehlo_keyword_address_maps, ctx) : undefined,
    }, restrictionClasses(params, (name) => config.value(name)));
    if (!['', 'haproxy'].includes(params.smtpd_upstream_proxy_protocol)) {
      throw new PetrelError('config', `smtpd_upstream_proxy_protocol: unsupported protocol "${params.smtpd_upstream_proxy_protocol}" (haproxy)`);
    }
    services = { params, checks, tls, sasl, openSink: cleanupSink(params), local: false, limits: openLimits(params) };
    clientNames = new ClientNameResolver(params.petrel_client_name_cache_time);
  },
  onConnection: (socket) => serveClient(services as SmtpdServices, clientNames as ClientNameResolver, socket),
  async onExit() {
    services?.limits?.anvil.close();
    await services?.sasl?.close();
  },
});

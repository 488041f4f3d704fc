/*
 * anvil-params - the client rate and concurrency limits smtpd enforces
 * through the anvil service (anvil(8)), and anvil's own timing. Defaults
 * are Postfix's (postconf(5)); petrel_anvil_redis_server and
 * petrel_anvil_redis_key_prefix are Petrel's own: several Petrel hosts
 * count together in one Redis, so a cluster of MX hosts enforces one limit.
 */
import { defineParams } from './param-types.js';

/** Rate and concurrency limit parameters. */
export const ANVIL_PARAMS = defineParams({
  smtpd_client_connection_count_limit: { kind: 'int', default: '50', min: 0, doc: 'The most simultaneous connections a client may make to this service (0: no limit)' },
  smtpd_client_connection_rate_limit: { kind: 'int', default: '0', min: 0, doc: 'The most connections a client may make to this service per anvil_rate_time_unit (0: no limit)' },
  smtpd_client_message_rate_limit: { kind: 'int', default: '0', min: 0, doc: 'The most MAIL FROM requests a client may make to this service per anvil_rate_time_unit (0: no limit)' },
  smtpd_client_recipient_rate_limit: { kind: 'int', default: '0', min: 0, doc: 'The most RCPT TO requests a client may make to this service per anvil_rate_time_unit (0: no limit)' },
  smtpd_client_new_tls_session_rate_limit: { kind: 'int', default: '0', min: 0, doc: 'The most new (not resumed) TLS sessions a client may negotiate with this service per anvil_rate_time_unit (0: no limit)' },
  smtpd_client_auth_rate_limit: { kind: 'int', default: '0', min: 0, doc: 'The most AUTH commands a client may send to this service per anvil_rate_time_unit (0: no limit)' },
  smtpd_client_event_limit_exceptions: { kind: 'list', default: '$mynetworks', doc: 'Clients (networks) exempt from the client connection, message, recipient, TLS and AUTH limits' },
  anvil_rate_time_unit: { kind: 'time', default: '60s', timeUnit: 's', min: 1, doc: 'The time unit over which anvil counts connection, message, recipient, TLS session and AUTH rates' },
  anvil_status_update_time: { kind: 'time', default: '600s', timeUnit: 's', min: 1, doc: 'How often anvil logs the peak counts and rates it saw ("statistics: max connection rate ...")' },
  petrel_anvil_redis_server: {
    kind: 'string',
    default: '',
    doc: "Petrel's own: the Redis server(s) through which the anvil services of several Petrel instances share their counts (host[:port], unix:/path, or the path of a file with hosts, username, password, db and timeout as in a redis: table); empty: each instance counts alone",
  },
  petrel_anvil_redis_key_prefix: { kind: 'string', default: 'petrel:anvil:', doc: "Petrel's own: the prefix of the Redis keys anvil keeps its shared counts under" },
});

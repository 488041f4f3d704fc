/*
 * tls-server-params - the SMTP server's TLS parameters (Postfix's
 * TLS_README and postconf(5) smtpd_tls_*, tls_*): the security level,
 * certificates and keys, protocols and cipher grades, client
 * certificates, session resumption and logging. Declared here because the
 * registry in global/ may not import a daemon's folder; read by
 * global/tls/tls-server.ts and smtpd.
 */
import { defineParams } from './param-types.js';

/** SMTP server TLS parameters. */
export const TLS_SERVER_PARAMS = defineParams({
  smtpd_tls_security_level: { kind: 'string', default: '', doc: 'none, may (offer STARTTLS) or encrypt (require TLS before anything but EHLO, STARTTLS, NOOP, QUIT); empty: from smtpd_use_tls / smtpd_enforce_tls' },
  smtpd_use_tls: { kind: 'bool', default: 'no', doc: 'Obsolete: offer STARTTLS (smtpd_tls_security_level = may)' },
  smtpd_enforce_tls: { kind: 'bool', default: 'no', doc: 'Obsolete: require TLS (smtpd_tls_security_level = encrypt)' },
  smtpd_tls_wrappermode: { kind: 'bool', default: 'no', doc: 'TLS from the first byte (port 465, "smtps"), not STARTTLS' },
  smtpd_tls_auth_only: { kind: 'bool', default: 'no', doc: 'Offer and accept AUTH only over TLS' },
  smtpd_tls_cert_file: { kind: 'string', default: '', doc: 'The RSA (or other) server certificate in PEM, followed by its chain (the key may be in it too)' },
  smtpd_tls_key_file: { kind: 'string', default: '$smtpd_tls_cert_file', doc: 'The private key of smtpd_tls_cert_file in PEM' },
  smtpd_tls_eccert_file: { kind: 'string', default: '', doc: 'An ECDSA server certificate in PEM with its chain, offered beside the RSA one' },
  smtpd_tls_eckey_file: { kind: 'string', default: '$smtpd_tls_eccert_file', doc: 'The private key of smtpd_tls_eccert_file' },
  smtpd_tls_chain_files: { kind: 'list', default: '', doc: 'Files each holding a private key followed by its certificate chain (RSA and ECDSA side by side); overrides the cert/key pairs' },
  tls_server_sni_maps: { kind: 'tables', default: '', doc: 'By the name a client asks for (SNI) or a parent .domain: the files holding its keys and chains, or their content as postmap -F stores it' },
  smtpd_tls_protocols: { kind: 'list', default: '>=TLSv1.2', doc: 'TLS versions offered when TLS is optional: >=TLSv1.2, or !SSLv3, !TLSv1 forms (Petrel: TLS 1.0 and 1.1 are off unless named)' },
  smtpd_tls_mandatory_protocols: { kind: 'list', default: '>=TLSv1.2', doc: 'TLS versions accepted when TLS is mandatory (encrypt, wrapper mode)' },
  smtpd_tls_ciphers: { kind: 'string', default: 'medium', doc: 'The cipher grade when TLS is optional: high, medium, low, export or null' },
  smtpd_tls_mandatory_ciphers: { kind: 'string', default: 'medium', doc: 'The cipher grade when TLS is mandatory' },
  smtpd_tls_exclude_ciphers: { kind: 'list', default: '', doc: 'Ciphers or cipher types left out of every grade' },
  smtpd_tls_mandatory_exclude_ciphers: { kind: 'list', default: '', doc: 'Ciphers or cipher types left out when TLS is mandatory' },
  tls_high_cipherlist: { kind: 'string', default: 'aNULL:-aNULL:HIGH:@STRENGTH', doc: 'The OpenSSL cipher list of the high grade' },
  tls_medium_cipherlist: { kind: 'string', default: 'aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH', doc: 'The OpenSSL cipher list of the medium grade' },
  tls_low_cipherlist: { kind: 'string', default: 'aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH', doc: 'The OpenSSL cipher list of the low grade' },
  tls_export_cipherlist: { kind: 'string', default: 'aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH', doc: 'The OpenSSL cipher list of the export grade' },
  tls_null_cipherlist: { kind: 'string', default: 'eNULL:!aNULL', doc: 'The OpenSSL cipher list of the null grade (no encryption)' },
  tls_preempt_cipherlist: { kind: 'bool', default: 'no', doc: "The server's cipher order wins over the client's" },
  smtpd_tls_dh1024_param_file: { kind: 'string', default: '', doc: 'Diffie-Hellman parameters in PEM for DHE ciphers (empty or auto: OpenSSL chooses); a file is checked at start-up' },
  smtpd_tls_ask_ccert: { kind: 'bool', default: 'no', doc: 'Ask the client for a certificate' },
  smtpd_tls_req_ccert: { kind: 'bool', default: 'no', doc: 'Require a client certificate that verifies (with smtpd_tls_security_level = encrypt)' },
  smtpd_tls_ccert_verifydepth: { kind: 'int', default: '9', min: 1, doc: 'The longest client certificate chain verified' },
  smtpd_tls_CAfile: { kind: 'string', default: '', doc: 'Certificate authorities (PEM) that client certificates are verified against' },
  smtpd_tls_CApath: { kind: 'string', default: '', doc: 'A directory of certificate authority files for client certificates' },
  smtpd_tls_fingerprint_digest: { kind: 'string', default: 'sha256', doc: 'The digest of client certificate fingerprints (relay_clientcerts, check_ccert_access): sha256, sha1 or md5' },
  relay_clientcerts: { kind: 'tables', default: '', doc: 'Client certificate fingerprints that permit_tls_clientcerts lets relay' },
  smtpd_tls_received_header: { kind: 'bool', default: 'no', doc: 'Name the TLS protocol and cipher (and client certificate) in the Received: header' },
  smtpd_tls_loglevel: { kind: 'int', default: '0', min: 0, max: 4, doc: 'TLS logging: 0 none but failures; 1 and up the summary line of each TLS session and the client certificate (Petrel logs no per-step handshake detail at 2 to 4)' },
  smtpd_tls_session_cache_timeout: { kind: 'time', default: '3600s', timeUnit: 's', min: 0, max: 86400 * 7, doc: 'How long a TLS session can be resumed (and how often the shared ticket key changes)' },
  smtpd_starttls_timeout: { kind: 'time', default: '${stress?{10}:{300}}s', timeUnit: 's', min: 1, doc: 'The time limit on the TLS handshake' },
});

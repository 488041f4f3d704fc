/*
 * tls-cert - certificates for TLS tests, made with Debian's openssl
 * command in a temporary folder: a test CA, a server certificate for
 * mx.test.example signed by it (key and certificate in separate files and
 * together in a chain file), an ECDSA one, an expired one, and a client
 * certificate signed by the CA. Not used by Petrel itself.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The files of a test PKI. */
export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Key then certificate in one file (smtpd_tls_chain_files). */
  readonly serverChain: string;
  readonly ecCert: string;
  readonly ecKey: string;
  readonly expiredCert: string;
  readonly expiredKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/** Runs Debian's openssl command in cwd (its stderr kept for the error). */
export function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a CA, server, ECDSA, expired and client certificates. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-pki-'));
  const f = (name: string): string => join(dir, name);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=Petrel Test CA'], dir);
  const signed = (name: string, cn: string, keyArgs: readonly string[], days: string[]): void => {
    openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    writeFileSync(f(`${name}.ext`), `subjectAltName=DNS:${cn}\n`);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, ...days, '-extfile', `${name}.ext`], dir);
  };
  signed('server', 'mx.test.example', ['-newkey', 'rsa:2048'], ['-days', '30']);
  signed('ec', 'mx.test.example', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'], ['-days', '30']);
  signed('client', 'client.test.example', ['-newkey', 'rsa:2048'], ['-days', '30']);
  // An expired certificate (valid on 1 January 2020 only), signed by "openssl ca", which takes explicit dates.
  writeFileSync(f('ca.cnf'), '[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = ca.srl\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n');
  writeFileSync(f('index.txt'), '');
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=mx.test.example'], dir);
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'expired.csr', '-out', 'expired.pem', '-notext', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z'], dir);
  writeFileSync(f('chain.pem'), readFileSync(f('server.key'), 'utf8') + readFileSync(f('server.pem'), 'utf8') + readFileSync(f('ca.pem'), 'utf8'));
  return {
    dir,
    caCert: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    serverChain: f('chain.pem'),
    ecCert: f('ec.pem'),
    ecKey: f('ec.key'),
    expiredCert: f('expired.pem'),
    expiredKey: f('expired.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
  };
}

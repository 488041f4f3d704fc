/*
 * readDhParams (global/tls/tls-dh.ts): "auto" and empty leave DH to
 * OpenSSL; PKCS #3 and X9.42 parameter files made by Debian's openssl are
 * read; a missing file, a file without parameters, damaged parameters and
 * a prime under 1024 bits are configuration errors naming the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createSecureContext } from 'node:tls';
import { readDhParams } from '../../../src/global/tls/tls-dh.js';
import { openssl } from '../../support/tls-cert.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-dh-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('"auto" and empty: OpenSSL chooses', () => {
  assert.equal(readDhParams(''), 'auto');
  assert.equal(readDhParams('AUTO'), 'auto');
});

test('PKCS #3 and X9.42 files are read, and node:tls takes what comes back', () => {
  openssl(['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', 'pkcs3.pem'], dir);
  openssl(['dhparam', '-dsaparam', '-out', 'x942.pem', '1024'], dir);
  for (const name of ['pkcs3.pem', 'x942.pem']) {
    const pem = readDhParams(join(dir, name));
    assert.match(pem, /^-----BEGIN (X9\.42 )?DH PARAMETERS-----/);
    createSecureContext({ dhparam: pem });
  }
});

test('what cannot be used is a configuration error naming the file', () => {
  openssl(['dhparam', '-dsaparam', '-out', 'weak.pem', '512'], dir);
  writeFileSync(join(dir, 'none.pem'), 'no parameters here\n');
  writeFileSync(join(dir, 'damaged.pem'), '-----BEGIN DH PARAMETERS-----\nMAMCAQI=\n-----END DH PARAMETERS-----\n');
  const cases: [string, RegExp][] = [
    ['missing.pem', /smtpd_tls_dh1024_param_file: cannot read .*missing\.pem: ENOENT/],
    ['none.pem', /no DH parameters in .*none\.pem/],
    ['damaged.pem', /bad DH parameters in .*damaged\.pem/],
    ['weak.pem', /the DH prime in .*weak\.pem has 512 bits/],
  ];
  for (const [name, expected] of cases) {
    assert.throws(() => readDhParams(join(dir, name)), (err: Error & { code?: string }) => expected.test(err.message));
  }
});

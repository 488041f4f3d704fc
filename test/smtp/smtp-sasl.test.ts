/*
 * Tests of smtp-sasl: the SMTP client's SASL mechanism choice under the
 * smtp_sasl_* security options and mechanism filter, read from main.cf.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/global/config/load-config.js';
import { SaslClientPolicy } from '../../src/smtp/smtp-sasl.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-smtp-sasl-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The policy of a main.cf with these lines. */
function policy(...lines: string[]): SaslClientPolicy {
  writeFileSync(join(dir, 'main.cf'), [...lines, ''].join('\n'));
  return SaslClientPolicy.fromParams(loadConfig({ configDir: dir }).params);
}

const ALL = ['PLAIN', 'LOGIN', 'CRAM-MD5'];

test("Postfix's default (noplaintext, noanonymous) takes CRAM-MD5 and never sends a password in plain text, with or without TLS", () => {
  const p = policy();
  assert.equal(p.choose(ALL, 'none'), 'CRAM-MD5');
  assert.equal(p.choose(['PLAIN', 'LOGIN'], 'none'), undefined);
  assert.equal(p.choose(['PLAIN', 'LOGIN'], 'tls'), undefined);
  assert.equal(p.choose(['PLAIN', 'LOGIN'], 'verified'), undefined);
});

test('noanonymous allows PLAIN and LOGIN; the strongest offered is taken', () => {
  const p = policy('smtp_sasl_security_options = noanonymous');
  assert.equal(p.choose(ALL, 'none'), 'CRAM-MD5');
  assert.equal(p.choose(['LOGIN', 'PLAIN'], 'none'), 'PLAIN');
  assert.equal(p.choose(['LOGIN'], 'none'), 'LOGIN');
  assert.equal(p.choose([], 'none'), undefined);
});

test('the TLS options apply over TLS and the verified ones with a verified certificate', () => {
  const p = policy('smtp_sasl_security_options = noplaintext, noanonymous', 'smtp_sasl_tls_security_options = noanonymous', 'smtp_sasl_tls_verified_security_options = nodictionary');
  assert.equal(p.choose(['PLAIN'], 'none'), undefined);
  assert.equal(p.choose(['PLAIN'], 'tls'), 'PLAIN');
  // Every mechanism the client speaks can be attacked by dictionary.
  assert.equal(p.choose(ALL, 'verified'), undefined);
  // Unset, the TLS options follow the plain ones, and the verified ones the TLS ones.
  const inherited = policy('smtp_sasl_security_options = noanonymous');
  assert.equal(inherited.choose(['PLAIN'], 'tls'), 'PLAIN');
  assert.equal(inherited.choose(['PLAIN'], 'verified'), 'PLAIN');
});

test('smtp_sasl_mechanism_filter keeps the named mechanisms, drops "!name", and static:all keeps the rest', () => {
  assert.equal(policy('smtp_sasl_security_options = noanonymous', 'smtp_sasl_mechanism_filter = login').choose(ALL, 'none'), 'LOGIN');
  assert.equal(policy('smtp_sasl_security_options = noanonymous', 'smtp_sasl_mechanism_filter = !cram-md5, static:all').choose(ALL, 'none'), 'PLAIN');
  assert.equal(policy('smtp_sasl_security_options = noanonymous', 'smtp_sasl_mechanism_filter = !cram-md5').choose(ALL, 'none'), undefined);
  assert.equal(policy('smtp_sasl_mechanism_filter = plain, login').choose(ALL, 'none'), undefined);
});

test('an unknown security option or a filter table Petrel cannot read is a configuration error', () => {
  assert.throws(() => policy('smtp_sasl_security_options = noanonymous, nosuchthing'), /smtp_sasl_security_options: unknown SASL security option "nosuchthing"/);
  assert.throws(() => policy('smtp_sasl_tls_verified_security_options = bogus'), /smtp_sasl_tls_verified_security_options: unknown SASL security option "bogus"/);
  assert.throws(() => policy('smtp_sasl_mechanism_filter = hash:/etc/postfix/mechs'), /smtp_sasl_mechanism_filter: "hash:\/etc\/postfix\/mechs": Petrel takes mechanism names/);
});

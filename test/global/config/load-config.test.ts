import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../../src/global/config/load-config.js';
import { resolveConfigDir } from '../../../src/global/config/config-dir.js';
import { PetrelError } from '../../../src/global/errors.js';
import { captureMessages } from '../../../src/util/msg.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-'));
after(() => rmSync(dir, { recursive: true }));

function configWith(text: string): string {
  const sub = mkdtempSync(join(dir, 'cf-'));
  writeFileSync(join(sub, 'main.cf'), text);
  return sub;
}

test('typed values from main.cf, defaults and overrides', () => {
  const configDir = configWith(
    'myhostname = mx.example.com\nmaximal_queue_lifetime = 2\nmessage_size_limit = 2048\nrelayhost = [smart.example.net]:587\n',
  );
  const { params, value } = loadConfig({ configDir, overrides: { smtpd_banner: '$myhostname hello' } });
  assert.equal(params.config_directory, configDir);
  assert.equal(params.myhostname, 'mx.example.com');
  assert.equal(params.mydomain, 'example.com');
  assert.equal(params.myorigin, 'mx.example.com');
  assert.deepEqual(params.mydestination, ['mx.example.com', 'localhost.example.com', 'localhost']);
  assert.equal(params.maximal_queue_lifetime, 2 * 86400);
  assert.equal(params.bounce_queue_lifetime, 5 * 86400);
  assert.equal(params.minimal_backoff_time, 300);
  assert.equal(params.message_size_limit, 2048);
  assert.equal(params.append_dot_mydomain, false);
  assert.equal(params.smtpd_timeout, 300);
  assert.deepEqual(params.relay_domains, []);
  assert.equal(params.mynetworks_style, 'host');
  assert.deepEqual(params.smtpd_relay_restrictions, ['permit_mynetworks', 'permit_sasl_authenticated', 'defer_unauth_destination']);
  assert.equal(params.smtpd_banner, 'mx.example.com hello');
  assert.equal(params.mail_name, 'Petrel');
  assert.equal(params.relayhost, '[smart.example.net]:587');
  assert.equal(value('relay_destination_concurrency_limit'), undefined);
  assert.ok(Object.isFrozen(params));
});

test('an older compatibility_level brings back the older defaults', () => {
  const { params } = loadConfig({ configDir: configWith('compatibility_level = 0\nmydomain = example.org\nmyhostname = a.example.org\n') });
  assert.equal(params.append_dot_mydomain, true);
  assert.equal(params.mynetworks_style, 'subnet');
  assert.deepEqual(params.relay_domains, ['a.example.org', 'localhost.example.org', 'localhost']);
});

test('unknown names warn as unused unless referenced or per-service', () => {
  const configDir = configWith('foo_bar = 1\nmy_restrictions = reject\nsmtpd_client_restrictions = $my_restrictions\nrelay_destination_concurrency_limit = 5\n');
  const { messages, result } = captureMessages(() => loadConfig({ configDir, warnUnused: true }, ['smtp', 'relay']));
  assert.deepEqual(messages, [`warning: ${join(configDir, 'main.cf')}: unused parameter: foo_bar=1`]);
  assert.deepEqual(result.params.smtpd_client_restrictions, ['reject']);
  assert.equal(result.value('relay_destination_concurrency_limit'), '5');
});

test('a bad value or a missing main.cf is a clear error', () => {
  assert.throws(() => loadConfig({ configDir: configWith('append_dot_mydomain = perhaps\n') }), /bad boolean configuration: append_dot_mydomain = perhaps/);
  assert.throws(() => loadConfig({ configDir: join(dir, 'nowhere') }), (err: unknown) => err instanceof PetrelError && /open .*nowhere\/main.cf: No such file or directory/.test(err.message));
});

test('the configuration directory: -c, then MAIL_CONFIG, then the default', () => {
  const saved = process.env.MAIL_CONFIG;
  try {
    delete process.env.MAIL_CONFIG;
    assert.equal(resolveConfigDir(), '/etc/petrel');
    process.env.MAIL_CONFIG = '/srv/mx2/etc';
    assert.equal(resolveConfigDir(), '/srv/mx2/etc');
    assert.equal(resolveConfigDir('/other'), '/other');
  } finally {
    if (saved === undefined) delete process.env.MAIL_CONFIG;
    else process.env.MAIL_CONFIG = saved;
  }
});

/*
 * smtpd-policy-clnt: the check_policy_service argument (endpoint and
 * per-service options over the smtpd_policy_service_* defaults) and the
 * start-up errors for a malformed one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/global/config/load-config.js';
import { PolicyService } from '../../src/smtpd/smtpd-policy-clnt.js';
import { parseRestrictions } from '../../src/smtpd/smtpd-check-names.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-policy-clnt-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'main.cf'), `queue_directory = ${join(dir, 'queue')}\nsmtpd_policy_service_timeout = 30s\nsmtpd_policy_service_policy_context = main\n`);
const { params } = loadConfig({ configDir: dir });

test('a service name alone takes the smtpd_policy_service_* values; braces override them per service', () => {
  const plain = PolicyService.open('inet:127.0.0.1:10023', params);
  assert.equal(plain.name, '127.0.0.1:10023');
  assert.deepEqual(plain.options, { timeout: 30, maxIdle: 300, maxTtl: 1000, tryLimit: 2, retryDelay: 1, requestLimit: 0, defaultAction: '451 4.3.5 Server configuration problem', policyContext: 'main' });
  const own = PolicyService.open('{ unix:private/policy, timeout=2m, try_limit=1, retry_delay=0, max_idle=5, max_ttl=60s, request_limit=10, policy_context=submission, { default_action = 450 4.7.1 Try again later } }', params);
  assert.equal(own.name, 'private/policy');
  assert.deepEqual(own.options, { timeout: 120, maxIdle: 5, maxTtl: 60, tryLimit: 1, retryDelay: 0, requestLimit: 10, defaultAction: '450 4.7.1 Try again later', policyContext: 'submission' });
});

test('a malformed service or option is a configuration error naming it', () => {
  assert.throws(() => PolicyService.open('tcp:127.0.0.1:10023', params), /check_policy_service tcp:127\.0\.0\.1:10023: expected inet:host:port or unix:pathname/);
  assert.throws(() => PolicyService.open('inet:127.0.0.1', params), /expected inet:host:port/);
  assert.throws(() => PolicyService.open('{ inet:127.0.0.1:1, colour=red }', params), /unknown or malformed option "colour=red"/);
  assert.throws(() => PolicyService.open('{ inet:127.0.0.1:1, default_action=450 4.7.1 text }', params), /malformed option "4\.7\.1"/);
  assert.throws(() => PolicyService.open('{ inet:127.0.0.1:1, timeout=soon }', params), /bad time configuration: check_policy_service .*: timeout = soon/);
  assert.throws(() => PolicyService.open('{ inet:127.0.0.1:1, try_limit=0 }', params), /must be at least 1/);
  assert.throws(() => parseRestrictions('smtpd_recipient_restrictions', ['check_policy_service'], new Map()), /restriction "check_policy_service" needs a policy service argument/);
  assert.throws(() => parseRestrictions('smtpd_recipient_restrictions', ['check_policy_service', 'hash:/etc/x'], new Map()), /needs a policy service argument/);
  assert.equal(parseRestrictions('smtpd_recipient_restrictions', ['check_policy_service', 'unix:private/policy', 'permit'], new Map()).length, 2);
});

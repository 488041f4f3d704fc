import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { failClosedProblems, masterCfServices } from '../../../src/global/config/config-fail-closed.js';
import { parseMainCf } from '../../../src/global/config/main-cf-read.js';
import { parseMasterCf } from '../../../src/global/config/master-cf-read.js';
import { unsupportedTableType } from '../../../src/global/tables/table-registry.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-failclosed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function problems(mainText: string, masterText = ''): string[] {
  const mainCf = parseMainCf(mainText, join(dir, 'main.cf'));
  const services = masterCfServices(parseMasterCf(masterText, join(dir, 'master.cf')), dir);
  return failClosedProblems({ configDir: dir, mainCf, services });
}

test('unsupportedTableType finds a missing type, nested ones included, without opening anything', () => {
  const cases: readonly (readonly [string, string | undefined])[] = [
    ['hash:/etc/postfix/virtual', undefined],
    ['ldap:/etc/postfix/ldap-aliases.cf', 'ldap'],
    ['LDAP:/etc/postfix/ldap-aliases.cf', 'ldap'],
    ['proxy:memcache:/etc/postfix/mc.cf', 'memcache'],
    ['unionmap:{ hash:/etc/a, { ldap:/etc/b.cf } }', 'ldap'],
    ['pipemap:{ inline:{ a=b }, regexp:/etc/c }', undefined],
    ['not-a-table', undefined],
  ];
  for (const [spec, type] of cases) assert.equal(unsupportedTableType(spec), type, spec);
});

test('a table type Petrel lacks is an error naming the type, the parameter and the line', () => {
  const found = problems(
    [
      'myhostname = mx.example',
      'alias_maps = hash:/etc/aliases, ldap:/etc/postfix/ldap-aliases.cf',
      'relay_domains = example.org, memcache:/etc/postfix/relay.cf',
      'smtpd_recipient_restrictions = permit_mynetworks, check_recipient_access mongodb:/etc/p.cf, check_policy_service inet:127.0.0.1:10023',
      'transport_maps = proxy:sdbm:/etc/postfix/transport',
    ].join('\n'),
  );
  assert.deepEqual(found, [
    `${dir}/main.cf, line 2: parameter alias_maps: unsupported dictionary type: ldap`,
    `${dir}/main.cf, line 3: parameter relay_domains: unsupported dictionary type: memcache`,
    `${dir}/main.cf, line 4: parameter smtpd_recipient_restrictions: unsupported dictionary type: mongodb`,
    `${dir}/main.cf, line 5: parameter transport_maps: unsupported dictionary type: sdbm`,
  ]);
});

test('protective settings are refused from main.cf and from a master.cf -o, each naming where', () => {
  const found = problems(
    'smtpd_milters = inet:127.0.0.1:8891\nmua_client_restrictions = permit_sasl_authenticated, reject\nfoo_bar = 1\n',
    [
      'smtp inet n - n - - smtpd',
      'submission inet n - n - - smtpd -o smtpd_client_restrictions=$mua_client_restrictions -o milter_header_checks=pcre:/etc/b',
      'reinject unix n - n - - smtpd -o smtpd_milters= -o alias_maps=ldap:/x.cf',
    ].join('\n'),
  );
  assert.equal(found.length, 3, found.join('\n'));
  assert.match(found[0] as string, /^\S+\/main\.cf, line 1: parameter smtpd_milters: Petrel does not implement this setting, .*milters\) would never see the mail$/);
  assert.match(found[1] as string, /^\S+\/master\.cf, line 2: service submission\/inet: -o parameter milter_header_checks: Petrel does not implement this setting/);
  assert.equal(found[2], `${dir}/master.cf, line 3: service reinject/unix: -o parameter alias_maps: unsupported dictionary type: ldap`);
});

test('the -o value in effect decides: a $macro that expands to nothing asks for nothing', () => {
  assert.deepEqual(problems('my_milters =\n', 'smtp inet n - n - - smtpd -o smtpd_milters=$my_milters\n'), []);
  assert.equal(problems('my_milters = inet:127.0.0.1:8891\n', 'smtp inet n - n - - smtpd -o smtpd_milters=$my_milters\n').length, 1);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeXtext } from '../../src/global/xtext.js';
import { checkMailParams, checkRcptParams, parsePathArgument } from '../../src/smtpd/smtpd-envelope.js';

test('MAIL FROM and RCPT TO paths: brackets, quotes, source routes, spaces and parameters', () => {
  const ok: readonly (readonly [string, 'FROM' | 'TO', string, Record<string, string>])[] = [
    ['FROM:<a@example.org>', 'FROM', 'a@example.org', {}],
    ['FROM: <a@example.org> SIZE=10 BODY=8BITMIME', 'FROM', 'a@example.org', { SIZE: '10', BODY: '8BITMIME' }],
    ['FROM:<>', 'FROM', '', {}],
    ['from:a@example.org', 'FROM', 'a@example.org', {}],
    ['TO:<"odd > name"@example.org> NOTIFY=NEVER', 'TO', '"odd > name"@example.org', { NOTIFY: 'NEVER' }],
    ['TO:<@relay.example,@b.example:user@example.org>', 'TO', 'user@example.org', {}],
    ['TO:<postmaster>', 'TO', 'postmaster', {}],
  ];
  for (const [argument, keyword, address, params] of ok) {
    const parsed = parsePathArgument(argument, keyword);
    assert.ok(!('code' in parsed), argument);
    assert.equal(parsed.address, address, argument);
    assert.deepEqual(Object.fromEntries(parsed.params), params, argument);
  }
  const bad: readonly (readonly [string, 'FROM' | 'TO', RegExp])[] = [
    ['FROM <a@example.org>', 'FROM', /^5\.5\.4 Syntax: MAIL FROM:<address>$/],
    ['FROM:<a@example.org', 'FROM', /^5\.1\.7 Bad sender address syntax$/],
    ['TO:<a b@example.org>', 'TO', /^5\.1\.3 Bad recipient address syntax$/],
    ['TO:<a\x01@example.org>', 'TO', /^5\.1\.3 /],
    ['FROM:<a@example.org>x', 'FROM', /^5\.1\.7 /],
    ['FROM:<a@example.org> =x', 'FROM', /^5\.5\.4 Bad parameter syntax/],
  ];
  for (const [argument, keyword, text] of bad) {
    const parsed = parsePathArgument(argument, keyword);
    assert.ok('code' in parsed, argument);
    assert.match(parsed.text, text, argument);
  }
});

test('ESMTP parameters: what was offered is accepted, anything else refused with Postfix\'s codes', () => {
  const offer = { sizeLimit: 1000, smtputf8: true };
  const mail = (params: Record<string, string>, address = 'a@example.org'): string | undefined => {
    const refused = checkMailParams(new Map(Object.entries(params)), address, offer);
    return refused === undefined ? undefined : `${refused.code} ${refused.text}`;
  };
  assert.equal(mail({ SIZE: '999', BODY: '8bitmime', RET: 'hdrs', ENVID: 'x+2By', SMTPUTF8: '' }), undefined);
  assert.match(mail({ SIZE: '1001' }) ?? '', /^552 5\.3\.4 /);
  assert.match(mail({ BODY: 'BINARYMIME' }) ?? '', /^501 /);
  assert.match(mail({ FOO: '1' }) ?? '', /^555 5\.5\.4 Unsupported option: FOO/);
  assert.match(mail({}, 'ü@example.org') ?? '', /^553 5\.6\.7 /);
  assert.equal(mail({ SMTPUTF8: '' }, 'ü@example.org'), undefined);
  const rcpt = (params: Record<string, string>): string | undefined => checkRcptParams(new Map(Object.entries(params)), 'b@example.org', false)?.text;
  assert.equal(rcpt({ NOTIFY: 'SUCCESS,FAILURE', ORCPT: 'rfc822;b@example.org' }), undefined);
  assert.match(rcpt({ NOTIFY: 'NEVER,SUCCESS' }) ?? '', /Bad NOTIFY/);
  assert.match(rcpt({ ORCPT: 'nosemicolon' }) ?? '', /Bad ORCPT/);
  assert.equal(decodeXtext('list+2Bperm2@example.org'), 'list+perm2@example.org');
});

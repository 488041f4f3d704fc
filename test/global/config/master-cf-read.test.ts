import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMasterCf } from '../../../src/global/config/master-cf-read.js';
import { PetrelError } from '../../../src/global/errors.js';

const TEXT = `# service type  private unpriv  chroot  wakeup  maxproc command + args
smtp      inet  n       -       n       -       -       smtpd
submission inet n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
pickup    unix  n       -       n       60      1       pickup
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
127.0.0.1:10025 inet n  -       n       -       -       smtpd -v -o content_filter= -o mynetworks=127.0.0.0/8
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d \${recipient} -o not-an-override
`;

test('columns, defaults, wakeup, -o forms and pipe arguments', () => {
  const entries = parseMasterCf(TEXT, 'master.cf');
  assert.deepEqual(
    entries.map((e) => [e.service, e.type, e.private, e.unpriv, e.chroot, e.wakeup, e.maxproc, e.command, e.line]),
    [
      ['smtp', 'inet', false, undefined, false, undefined, undefined, 'smtpd', 2],
      ['submission', 'inet', false, undefined, false, undefined, undefined, 'smtpd', 3],
      ['pickup', 'unix', false, undefined, false, { seconds: 60, conditional: false }, 1, 'pickup', 6],
      ['tlsmgr', 'unix', undefined, undefined, false, { seconds: 1000, conditional: true }, 1, 'tlsmgr', 7],
      ['127.0.0.1:10025', 'inet', false, undefined, false, undefined, undefined, 'smtpd', 8],
      ['maildrop', 'unix', undefined, false, false, undefined, undefined, 'pipe', 9],
    ],
  );
  assert.deepEqual(entries[1]?.overrides, [
    ['syslog_name', 'postfix/submission'],
    ['smtpd_client_restrictions', 'permit_sasl_authenticated, reject'],
  ]);
  assert.deepEqual(entries[4]?.overrides, [
    ['content_filter', ''],
    ['mynetworks', '127.0.0.0/8'],
  ]);
  assert.deepEqual(entries[4]?.args, ['-v']);
  assert.deepEqual(entries[5]?.overrides, []);
  assert.deepEqual(entries[5]?.args, ['flags=DRXhu', 'user=vmail', 'argv=/usr/bin/maildrop', '-d', '${recipient}', '-o', 'not-an-override']);
});

test('bad lines name the file, the line and the problem', () => {
  const cases: [string, RegExp][] = [
    ['smtp inet n - n - -\n', /master.cf: line 1: missing command field/],
    ['smtp tcp n - n - - smtpd\n', /line 1: bad transport type: "tcp"/],
    ['smtp inet x - n - - smtpd\n', /line 1: bad private field: "x"/],
    ['\nsmtp inet n - n soon - smtpd\n', /line 2: bad wakeup time: "soon"/],
    ['smtp inet n - n - many smtpd\n', /bad process limit: "many"/],
    ['smtp inet n - n - - smtpd -o\n', /-o option without name=value/],
    ['smtp inet n - n - - smtpd -o novalue\n', /bad -o option "novalue"/],
    ['smtp inet n - n - - smtpd -o { a = b\n', /missing '}'/],
    ['smtp inet n - n - - smtpd\nsmtp inet n - n - - smtpd\n', /line 2: duplicate service smtp\/inet \(first at line 1\)/],
  ];
  for (const [text, want] of cases) {
    assert.throws(() => parseMasterCf(text, 'master.cf'), (err: unknown) => err instanceof PetrelError && want.test(err.message), text);
  }
});

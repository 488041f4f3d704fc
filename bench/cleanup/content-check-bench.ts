/*
 * content-check-bench - what header and body checks cost cleanup per
 * message, in process (no daemons): the header pass over the same message
 *   1. without checks (the body passes through untouched);
 *   2. with 20 header_checks and 10 body_checks rules (pcre:) as a mail
 *      administrator writes them, matched in bounded batches
 *      (util/bounded-run.ts, the shipped code);
 *   3. the same matches made directly, without the bound: the price of the
 *      bound is the difference between 2 and 3.
 * Run: npm run build && node dist/bench/cleanup/content-check-bench.js [messages] [body-lines]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentChecks, MessageInspector } from '../../src/cleanup/cleanup-content-checks.js';
import { HeaderPass, type HeaderPolicy } from '../../src/cleanup/cleanup-headers.js';
import { loadConfig } from '../../src/global/config/load-config.js';
import { openTable } from '../../src/global/tables/table-registry.js';

const messages = Number(process.argv[2] ?? 2000);
const bodyLines = Number(process.argv[3] ?? 150);

const HEADER_RULES = [
  '/^Subject:.*(viagra|cialis|casino)/ REJECT spam',
  '/^From:.*@(spam|junk)\\.example$/ REJECT bad sender',
  '/^X-Mailer:.*(bulk|mass)/ REJECT bulk mailer',
  '/^Received:.*\\[(10|192\\.168)\\./ WARN private relay',
  '/^Content-Type:.*name="?.*\\.(exe|scr|pif|bat|com|vbs)"?/ REJECT attachment',
  '/^Message-ID:.*@localhost>/ WARN odd id',
  '/^X-Spam-Flag: YES/ HOLD',
  '/^To:.*undisclosed/ INFO undisclosed',
  '/^Subject: =\\?(koi8|gb2312|big5)/ REJECT charset',
  '/^X-Originating-IP:/ IGNORE',
  ...Array.from({ length: 10 }, (_, i) => `/^X-Rule-${i}: .*bad/ REJECT rule ${i}`),
];
const BODY_RULES = [
  '/click here to unsubscribe/ WARN unsubscribe',
  '/^.{0,20}viagra/ REJECT spam',
  '/https?:\\/\\/[^ ]*\\.(ru|cn)\\// WARN link',
  '/free money/ REJECT money',
  '/<iframe/ REJECT iframe',
  ...Array.from({ length: 5 }, (_, i) => `/body rule ${i} bad/ REJECT body ${i}`),
];

function message(): Buffer {
  const headers = [
    'Received: from client.example (client.example [192.0.2.1])\n\tby mx.example.org (Petrel) with ESMTP id 0ABC\n\tfor <alice@example.org>; Mon, 1 Dec 2026 10:00:00 +0000',
    'From: Bob <bob@example.net>',
    'To: Alice <alice@example.org>',
    'Subject: quarterly report',
    'Date: Mon, 1 Dec 2026 10:00:00 +0000',
    'Message-ID: <1234.5678@example.net>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'X-Mailer: Thunderbird',
  ];
  const body = Array.from({ length: bodyLines }, (_, i) => `line ${i} of an ordinary message body, about seventy characters long.`);
  return Buffer.from(`${headers.join('\n')}\n\n${body.join('\n')}\n`, 'latin1');
}

async function run(policy: HeaderPolicy | (() => HeaderPolicy), content: Buffer): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) {
    const pass = new HeaderPass(typeof policy === 'function' ? policy() : policy);
    for (let at = 0; at < content.length; at += 65536) await pass.write(content.subarray(at, at + 65536));
    await pass.finish();
  }
  return Number(process.hrtime.bigint() - start) / 1000 / messages;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'petrel-check-bench-'));
  try {
    writeFileSync(join(work, 'main.cf'), `header_checks = pcre:${work}/header_checks\nbody_checks = pcre:${work}/body_checks\n`);
    writeFileSync(join(work, 'header_checks'), `${HEADER_RULES.join('\n')}\n`);
    writeFileSync(join(work, 'body_checks'), `${BODY_RULES.join('\n')}\n`);
    const config = loadConfig({ configDir: work });
    const checks = await ContentChecks.open(config.params);
    const content = message();
    const base: HeaderPolicy = { addMissing: false, dropHeaders: new Set(['return-path']), sender: 'bob@example.net', myhostname: 'mx.example.org', queueId: '0ABC', undisclosedHeader: '', headerSizeLimit: 102400, extractRecipients: false, fullName: '' };
    const mime = { mime: true, nestingLimit: 100, bodyLimit: 51200 };
    const inspected = (): HeaderPolicy => ({ ...base, inspection: { inspector: new MessageInspector(checks, { queueId: '0ABC', attrs: {}, sender: base.sender, recipient: () => 'alice@example.org' }), mime } });
    await run(base, content);
    await run(inspected, content);
    const plain = await run(base, content);
    const bounded = await run(inspected, content);
    // The same lookups without the bound: each table's asynchronous lookup, one input at a time.
    const headerTable = await openTable(`pcre:${work}/header_checks`, { configDir: work });
    const bodyTable = await openTable(`pcre:${work}/body_checks`, { configDir: work });
    const [head = '', rest = ''] = content.toString('latin1').split('\n\n');
    const headerInputs = head.split(/\n(?![ \t])/);
    const bodyInputs = rest.split('\n');
    const start = process.hrtime.bigint();
    for (let i = 0; i < messages; i++) {
      for (const input of headerInputs) await headerTable.lookup(input);
      for (const input of bodyInputs) await bodyTable.lookup(input);
    }
    const unbounded = Number(process.hrtime.bigint() - start) / 1000 / messages;
    console.log(`message: ${content.length} bytes, ${bodyLines} body lines; ${HEADER_RULES.length} header rules, ${BODY_RULES.length} body rules; ${messages} messages`);
    console.log(`header pass without checks:        ${plain.toFixed(1)} µs/message`);
    console.log(`with checks, bounded (shipped):    ${bounded.toFixed(1)} µs/message`);
    console.log(`the same matches, unbounded only:  ${unbounded.toFixed(1)} µs/message (lookups alone, no header pass)`);
    await Promise.all([checks.close(), headerTable.close(), bodyTable.close()]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

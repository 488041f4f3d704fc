/*
 * cleanup-content-checks - cleanup(8)'s built-in content inspection
 * (header_checks(5)): each logical header is looked up in header_checks,
 * mime_header_checks or nested_header_checks by its class, each body line
 * in body_checks, and the first table's answer is an action: REJECT,
 * DISCARD, HOLD, REDIRECT, FILTER, BCC change what becomes of the message
 * (the Disposition cleanup-session.ts acts on), PREPEND, REPLACE and IGNORE
 * change the line, WARN and INFO log it, DUNNO and OK do nothing. Each
 * action is logged as Postfix does ("ID: reject: header Subject: ... from
 * host[addr]; from=<s> to=<r> proto=ESMTP helo=<h>: 5.7.1 message content
 * rejected"), so log summarisers count them. Rule tables (regexp, pcre,
 * cidr) are matched synchronously in batches with a bound per match
 * (util/bounded-run.ts): a pattern that backtracks without end is stopped,
 * logged with its table and treated as no match; other tables are looked up
 * as usual, and a temporary error defers the message.
 */
import type { Params } from '../global/params/param-registry.js';
import { openTableList, type TableList } from '../global/tables/table-list.js';
import type { MatchProgress } from '../global/tables/table.js';
import { runBounded, TIMED_OUT } from '../util/bounded-run.js';
import { msg } from '../util/msg.js';

/** The longest one regular expression match may run, in milliseconds, before it counts as no match. */
export const MATCH_TIME_LIMIT_MS = 100;

/** Which table list inspects an input: primary headers, MIME headers, attached-message headers, body lines. */
export type CheckClass = 'header' | 'mime' | 'nested' | 'body';

/** One input to inspect: a logical header (folded lines joined by LF) or a body line. */
export interface CheckInput {
  readonly cls: CheckClass;
  readonly text: string;
}

/** What the actions so far decided for the whole message. */
export interface Disposition {
  reject?: { readonly dsn: string; readonly text: string };
  discard: boolean;
  hold: boolean;
  filter?: string;
  redirect?: string;
  readonly bcc: string[];
}

/** Who sent the message, for the action log lines. */
export interface CheckLogContext {
  readonly queueId: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly sender: string;
  /** The first recipient so far, or "". */
  readonly recipient: () => string;
}

/** The four table lists of one cleanup process. */
export class ContentChecks {
  private constructor(private readonly lists: Readonly<Record<CheckClass, TableList>>) {}

  /** Opens the tables of header_checks, mime_header_checks, nested_header_checks and body_checks. */
  static async open(params: Params): Promise<ContentChecks> {
    const ctx = { configDir: params.config_directory };
    return new ContentChecks({
      header: await openTableList(params.header_checks, ctx),
      mime: await openTableList(params.mime_header_checks, ctx),
      nested: await openTableList(params.nested_header_checks, ctx),
      body: await openTableList(params.body_checks, ctx),
    });
  }

  /** True when cls has tables to look inputs up in. */
  has(cls: CheckClass): boolean {
    return this.lists[cls].tables.length > 0;
  }

  /** True when any class has tables. */
  get any(): boolean {
    return this.has('header') || this.has('mime') || this.has('nested') || this.has('body');
  }

  /** Each input's answer (the first table's value), rule tables matched in one bounded batch. */
  async lookups(inputs: readonly CheckInput[]): Promise<(string | undefined)[]> {
    const progress: MatchProgress = { rule: '' };
    const jobs: (() => string | undefined)[] = [];
    const where: { input: number; table: number }[] = [];
    inputs.forEach((input, i) => {
      this.lists[input.cls].tables.forEach((table, t) => {
        const match = table.matchSync;
        if (match === undefined) return;
        where.push({ input: i, table: t });
        jobs.push(() => match(input.text, progress));
      });
    });
    const matched = new Map<string, string | undefined>();
    const results = jobs.length === 0 ? [] : runBounded(jobs, MATCH_TIME_LIMIT_MS, (index) => {
      const at = where[index] as { input: number; table: number };
      const spec = this.lists[(inputs[at.input] as CheckInput).cls].tables[at.table]?.spec ?? '';
      msg.warn(`${spec}: pattern ${progress.rule} ran past ${MATCH_TIME_LIMIT_MS} ms on a ${(inputs[at.input] as CheckInput).text.length}-byte input; treated as no match`);
    });
    results.forEach((result, k) => {
      const at = where[k] as { input: number; table: number };
      matched.set(`${at.input}:${at.table}`, result === TIMED_OUT ? undefined : result);
    });
    const answers: (string | undefined)[] = [];
    for (const [i, input] of inputs.entries()) {
      let answer: string | undefined;
      for (const [t, table] of this.lists[input.cls].tables.entries()) {
        answer = table.matchSync === undefined ? await table.lookup(input.text) : matched.get(`${i}:${t}`);
        if (answer !== undefined) break;
      }
      answers.push(answer);
    }
    return answers;
  }

  /** Closes every table. */
  async close(): Promise<void> {
    await Promise.all(Object.values(this.lists).map((list) => list.close()));
  }
}

/** A header as Postfix logs it: folding removed, at most 200 characters. */
function shown(text: string): string {
  return text.replace(/\n/g, '').slice(0, 200);
}

/** The DSN code an action text starts with, and the rest. */
function dsnText(text: string, fallbackDsn: string, fallbackText: string): { dsn: string; text: string } {
  const m = /^([45]\.\d{1,3}\.\d{1,3})\s*(.*)$/s.exec(text);
  if (m !== null) return { dsn: m[1] as string, text: (m[2] as string) === '' ? fallbackText : (m[2] as string) };
  return { dsn: fallbackDsn, text: text === '' ? fallbackText : text };
}

/** Inspects one message: applies each input's action and keeps the message's disposition. */
export class MessageInspector {
  readonly disposition: Disposition = { discard: false, hold: false, bcc: [] };
  /** True after REJECT or DISCARD: the rest of the message is not inspected. */
  private stopped = false;

  constructor(
    readonly checks: ContentChecks,
    private readonly log: CheckLogContext,
  ) {}

  /** Inspects inputs in order; returns for each the lines that take its place (none for IGNORE). */
  async inspect(inputs: readonly CheckInput[]): Promise<string[][]> {
    const wanted = this.stopped ? [] : inputs.filter((input) => this.checks.has(input.cls));
    const answers = wanted.length === 0 ? [] : await this.checks.lookups(wanted);
    const byInput = new Map<CheckInput, string | undefined>(wanted.map((input, i) => [input, answers[i]]));
    return inputs.map((input) => {
      const answer = byInput.get(input);
      return answer === undefined || this.stopped ? [input.text] : this.act(input, answer);
    });
  }

  private logAction(verb: string, input: CheckInput, optional: string): void {
    const a = this.log.attrs;
    const client = a.client_name === undefined ? 'local' : `${a.client_name}[${a.client_address ?? ''}]`;
    const proto = a.protocol_name === undefined ? '' : ` proto=${a.protocol_name}`;
    const helo = a.helo_name === undefined || a.helo_name === '' ? '' : ` helo=<${a.helo_name}>`;
    const what = input.cls === 'body' ? 'body' : 'header';
    msg.info(
      `${this.log.queueId}: ${verb}: ${what} ${shown(input.text)} from ${client}; from=<${this.log.sender}> to=<${this.log.recipient()}>${proto}${helo}${optional === '' ? '' : `: ${optional}`}`,
    );
  }

  /** Carries out one action; returns the lines that replace the input. */
  private act(input: CheckInput, answer: string): string[] {
    const m = /^(\S+)\s*(.*)$/s.exec(answer.trim());
    const verb = (m?.[1] ?? '').toUpperCase();
    const arg = m?.[2] ?? '';
    const d = this.disposition;
    switch (verb) {
      case 'REJECT': {
        const reject = dsnText(arg, '5.7.1', 'message content rejected');
        d.reject = reject;
        this.stopped = true;
        this.logAction('reject', input, `${reject.dsn} ${reject.text}`);
        return [input.text];
      }
      case 'DISCARD':
        d.discard = true;
        this.stopped = true;
        this.logAction('discard', input, arg);
        return [input.text];
      case 'HOLD':
        d.hold = true;
        this.logAction('hold', input, arg);
        return [input.text];
      case 'REDIRECT':
        if (!/^[^@\s]+@[^@\s]+$/.test(arg)) return this.badAction(input, answer);
        d.redirect = arg;
        this.logAction('redirect', input, arg);
        return [input.text];
      case 'FILTER':
        if (!/^[^:\s]+:\S*$/.test(arg)) return this.badAction(input, answer);
        d.filter = arg;
        this.logAction('filter', input, arg);
        return [input.text];
      case 'BCC':
        if (!/^[^@\s]+@[^@\s]+$/.test(arg)) return this.badAction(input, answer);
        d.bcc.push(arg);
        return [input.text];
      case 'PREPEND':
        return input.cls !== 'body' && !/^[\x21-\x39\x3b-\x7e]+:/.test(arg) ? this.badAction(input, answer) : [arg, input.text];
      case 'REPLACE':
        return input.cls !== 'body' && !/^[\x21-\x39\x3b-\x7e]+:/.test(arg) ? this.badAction(input, answer) : [arg];
      case 'IGNORE':
        return [];
      case 'WARN':
        this.logAction('warning', input, arg);
        return [input.text];
      case 'INFO':
        this.logAction('info', input, arg);
        return [input.text];
      case 'DUNNO':
      case 'OK':
        return [input.text];
      default:
        return this.badAction(input, answer);
    }
  }

  /** An action Petrel cannot carry out is logged and the input kept, as Postfix does. */
  private badAction(input: CheckInput, answer: string): string[] {
    msg.warn(`${this.log.queueId}: unknown or malformed ${input.cls === 'body' ? 'body_checks' : `${input.cls === 'header' ? '' : `${input.cls}_`}header_checks`} action: ${answer}`);
    return [input.text];
  }
}

/*
 * getopt - POSIX-style option parsing for commands that mirror Postfix's
 * flags: single letters that can be bundled (-nh), an option taking a value
 * written attached (-c/etc) or as the next word (-c /etc), "--" ending the
 * options, and parsing stopping at the first operand. Used by postconf,
 * postmap, postalias and the other Postfix-compatible commands, whose flag
 * sets (repeatable, order-sensitive letters such as -M -e or -q -) do not fit
 * a subcommand-style parser.
 */
import { msg } from './msg.js';

/** One option as given: its letter and, for options that take one, its value. */
export interface ParsedOption {
  readonly letter: string;
  readonly value?: string;
}

/** The options in order and the operands after them. */
export interface ParsedArgs {
  readonly options: readonly ParsedOption[];
  readonly operands: readonly string[];
}

/** Thrown for an unknown option or a missing value; the message is Postfix-style usage text. */
export class GetoptError extends Error {}

/** Parses argv against spec, where a letter followed by ":" takes a value (e.g. "c:dhnx"). */
export function getopt(argv: readonly string[], spec: string): ParsedArgs {
  const options: ParsedOption[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') {
      i++;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    for (let j = 1; j < word.length; j++) {
      const letter = word[j] as string;
      const at = spec.indexOf(letter);
      if (at < 0 || letter === ':') throw new GetoptError(`invalid option -- '${letter}'`);
      if (spec[at + 1] !== ':') {
        options.push({ letter });
        continue;
      }
      const attached = word.slice(j + 1);
      if (attached !== '') {
        options.push({ letter, value: attached });
      } else {
        const next = argv[++i];
        if (next === undefined) throw new GetoptError(`option requires an argument -- '${letter}'`);
        options.push({ letter, value: next });
      }
      break;
    }
  }
  return { options, operands: argv.slice(i) };
}

/** getopt for a command's main: a usage error is fatal, printed with the usage text. */
export function getoptOrUsage(argv: readonly string[], spec: string, usage: string): ParsedArgs {
  try {
    return getopt(argv, spec);
  } catch (err) {
    if (err instanceof GetoptError) msg.fatal(`${err.message}\n${usage}`);
    throw err;
  }
}

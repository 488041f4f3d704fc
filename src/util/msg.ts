/*
 * msg - diagnostics with Postfix's severities (info, warning, error, fatal,
 * panic). Every program and library reports through here; the text shape is
 * Postfix's "program: severity: text" on stderr for commands, and daemons
 * replace the sink with their log writer. Follows Postfix's msg(3).
 */

/** A diagnostic severity, named as Postfix prints it. */
export type Severity = 'info' | 'warning' | 'error' | 'fatal' | 'panic';

/** Where diagnostics go: stderr by default, the mail log in daemons, an array in tests. */
export type MsgSink = (severity: Severity, program: string, text: string) => void;

let programName = 'petrel';

/** The default sink: "program: warning: text" on stderr, info without a severity word. */
export const stderrSink: MsgSink = (severity, program, text) => {
  const label = severity === 'info' ? '' : `${severity}: `;
  process.stderr.write(`${program}: ${label}${text}\n`);
};

let sink: MsgSink = stderrSink;

/** Names the running program in every later diagnostic. */
export function setProgramName(name: string): void {
  programName = name;
}

/** The name diagnostics carry. */
export function getProgramName(): string {
  return programName;
}

/** Sends later diagnostics to another sink; returns the previous one. */
export function setMsgSink(next: MsgSink): MsgSink {
  const previous = sink;
  sink = next;
  return previous;
}

/** Runs fn with diagnostics collected as "severity: text" lines instead of printed. */
export function captureMessages<T>(fn: () => T): { result: T; messages: string[] } {
  const messages: string[] = [];
  const previous = setMsgSink((severity, _program, text) => messages.push(`${severity}: ${text}`));
  try {
    return { result: fn(), messages };
  } finally {
    setMsgSink(previous);
  }
}

/** Raised by msg.fatal and msg.panic so the caller's main can exit after cleanup. */
export class FatalExit extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
    this.name = 'FatalExit';
  }
}

/** Postfix-style reporting: info and warn return; fatal and panic throw FatalExit. */
export const msg = {
  info(text: string): void {
    sink('info', programName, text);
  },
  warn(text: string): void {
    sink('warning', programName, text);
  },
  error(text: string): void {
    sink('error', programName, text);
  },
  fatal(text: string, exitCode = 1): never {
    sink('fatal', programName, text);
    throw new FatalExit(exitCode, text);
  },
  panic(text: string): never {
    sink('panic', programName, text);
    throw new FatalExit(2, text);
  },
};

/*
 * sysexits - what a delivery command's exit status means (sysexits.h, as
 * Postfix's local(8) and pipe(8) read it): each code's enhanced status and
 * text, and whether it defers (EX_TEMPFAIL, EX_OSERR) or bounces. Used by
 * local's |command and mailbox_command deliveries and by pipe.
 */

/** One exit status: its DSN code and text; 4.x.x codes defer. */
export interface ExitMeaning {
  readonly dsn: string;
  readonly text: string;
}

/** EX_NOPERM: what sendmail and postqueue exit with for a user the authorized_*_users lists refuse. */
export const EX_NOPERM = 77;

/** sysexits.h codes 64..78. */
export const SYSEXITS: Readonly<Record<number, ExitMeaning>> = {
  64: { dsn: '5.3.0', text: 'command line usage error' },
  65: { dsn: '5.6.0', text: 'data format error' },
  66: { dsn: '5.3.0', text: 'cannot open input' },
  67: { dsn: '5.1.1', text: 'user unknown' },
  68: { dsn: '5.1.2', text: 'host name unknown' },
  69: { dsn: '5.3.0', text: 'service unavailable' },
  70: { dsn: '5.3.0', text: 'internal software error' },
  71: { dsn: '4.3.0', text: 'system resource problem' },
  72: { dsn: '5.3.0', text: 'critical OS file missing' },
  73: { dsn: '5.2.0', text: "can't create user output file" },
  74: { dsn: '5.3.0', text: 'input/output error' },
  75: { dsn: '4.3.0', text: 'temporary failure' },
  76: { dsn: '5.5.0', text: 'remote error in protocol' },
  77: { dsn: '5.7.0', text: 'permission denied' },
  78: { dsn: '5.3.5', text: 'local configuration error' },
};

/** The meaning of a command's end: an exit status or a signal. */
export function exitMeaning(code: number | null, signal: string | null): ExitMeaning {
  if (signal !== null) return { dsn: '4.3.0', text: `Command died with signal ${signal}` };
  return SYSEXITS[code ?? -1] ?? { dsn: '5.3.0', text: `Command died with status ${code ?? 'unknown'}` };
}

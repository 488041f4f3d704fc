/*
 * errors - the catalogue of infrastructure faults. Mail outcomes (deliver,
 * defer, bounce) are values elsewhere; an exception is a fault in the
 * machinery, carries a code from this catalogue and says whether retrying
 * later may help. An error of unknown kind counts as temporary, so mail is
 * deferred rather than bounced or dropped.
 */

/** Every kind of infrastructure fault Petrel raises. */
export const ERROR_CODES = {
  config: 'configuration error',
  usage: 'command usage error',
  table_spec: 'bad lookup table name',
  table_syntax: 'bad lookup table source',
  table_open: 'lookup table unavailable',
  table_lookup: 'lookup table query failed',
  io: 'file system error',
  queue_corrupt: 'corrupt queue file',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An infrastructure fault: a code, a log-only reason and a temporary flag. */
export class PetrelError extends Error {
  readonly code: ErrorCode;
  readonly temporary: boolean;

  constructor(code: ErrorCode, message: string, options: { temporary?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PetrelError';
    this.code = code;
    this.temporary = options.temporary ?? false;
  }
}

/** True when err should defer (retry later) rather than fail permanently. */
export function isTemporary(err: unknown): boolean {
  return err instanceof PetrelError ? err.temporary : true;
}

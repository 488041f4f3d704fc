/*
 * param-types - how a main.cf parameter is declared. Each parameter is
 * declared once (global/params for shared ones, src/<daemon>/<daemon>-params.ts
 * for daemon-only ones) with its kind, Postfix's default text, bounds and a
 * one-line description; the config loader converts and checks values once,
 * and code reads a frozen, typed object.
 */

/** How a parameter's text is converted after $name expansion. */
export type ParamKind =
  | 'string' // taken as written
  | 'int' // a decimal integer
  | 'bool' // yes or no
  | 'time' // a number with an optional unit s, m, h, d, w; read as seconds
  | 'size' // a byte count
  | 'list' // items separated by commas and/or white space
  | 'tables'; // a list of type:name lookup tables

/** One parameter's declaration. */
export interface ParamSpec {
  readonly kind: ParamKind;
  /**
   * The default exactly as Postfix documents it (may contain $name), or a
   * function for defaults Postfix computes from the system (myhostname,
   * mynetworks ...), evaluated once per configuration load; get returns
   * another parameter's expanded value.
   */
  readonly default: string | ((get: (name: string) => string) => string);
  /** One line for postconf and the docs. */
  readonly doc: string;
  /** Inclusive lower bound for int, time (seconds) and size. */
  readonly min?: number;
  /** Inclusive upper bound for int, time (seconds) and size. */
  readonly max?: number;
  /** Unit of a bare number for a time parameter (Postfix's default unit); "s" when absent. */
  readonly timeUnit?: 's' | 'm' | 'h' | 'd' | 'w';
  /**
   * Kept unexpanded at load: the daemon expands it at use, with its own
   * macros ($home, $user, $extension ... for forward_path, luser_relay and
   * mailbox_command) and the other parameters.
   */
  readonly raw?: boolean;
  /** For a string parameter (or each item of a list): the only values it may take (any other is a configuration error). */
  readonly choices?: readonly string[];
  /** For lists where Postfix allows it (mydestination, mynetworks ...): a /file/name item is replaced by that file's items. */
  readonly fileItems?: boolean;
}

/** A set of declarations keyed by exact main.cf name. */
export type ParamTable = Readonly<Record<string, ParamSpec>>;

/** The TypeScript type a kind converts to. */
export type ParamValue<K extends ParamKind> = K extends 'int' | 'time' | 'size'
  ? number
  : K extends 'bool'
    ? boolean
    : K extends 'list' | 'tables'
      ? readonly string[]
      : string;

/** The frozen typed parameter object for a declaration table. */
export type ParamsOf<T extends ParamTable> = { readonly [K in keyof T]: ParamValue<T[K]['kind']> };

/** Declares a parameter table, keeping each kind literal for ParamsOf. */
export function defineParams<const T extends ParamTable>(table: T): T {
  return table;
}

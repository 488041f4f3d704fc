/*
 * param-registry - the one table of every parameter Petrel implements,
 * merged from the per-area declaration files. A name declared twice is a
 * programming error caught when this module loads (and by its test).
 * postconf -d / -n, the config loader and validation walk ALL_PARAMS.
 */
import { ADDRESS_PARAMS } from './address-params.js';
import { ANVIL_PARAMS } from './anvil-params.js';
import { CONTENT_CHECK_PARAMS } from './content-check-params.js';
import { GLOBAL_PARAMS } from './global-params.js';
import { INSTALLER_PARAMS } from './installer-params.js';
import { LOCAL_PARAMS } from './local-params.js';
import { LOG_PARAMS } from './log-params.js';
import type { ParamsOf, ParamSpec, ParamTable } from './param-types.js';
import { QUEUE_PARAMS } from './queue-params.js';
import { SMTP_PARAMS } from './smtp-params.js';
import { SASL_SERVER_PARAMS } from './sasl-server-params.js';
import { SMTPD_PARAMS } from './smtpd-params.js';
import { TLS_SERVER_PARAMS } from './tls-server-params.js';
import { VERIFY_PARAMS } from './verify-params.js';
import { VIRTUAL_PARAMS } from './virtual-params.js';

type Intersect<U> = (U extends unknown ? (arg: U) => void : never) extends (arg: infer I) => void ? I : never;

/** Merges declaration tables; throws when a name is declared in more than one. */
export function mergeParamTables<const T extends readonly ParamTable[]>(...tables: T): Intersect<T[number]> {
  const merged: Record<string, ParamSpec> = {};
  for (const table of tables) {
    for (const [name, spec] of Object.entries(table)) {
      if (Object.hasOwn(merged, name)) throw new Error(`parameter ${name} is declared twice`);
      merged[name] = spec;
    }
  }
  return merged as Intersect<T[number]>;
}

/** Every parameter, keyed by its main.cf name. */
export const ALL_PARAMS = mergeParamTables(
  GLOBAL_PARAMS,
  INSTALLER_PARAMS,
  ADDRESS_PARAMS,
  QUEUE_PARAMS,
  SMTPD_PARAMS,
  ANVIL_PARAMS,
  TLS_SERVER_PARAMS,
  SASL_SERVER_PARAMS,
  LOCAL_PARAMS,
  VIRTUAL_PARAMS,
  SMTP_PARAMS,
  LOG_PARAMS,
  CONTENT_CHECK_PARAMS,
  VERIFY_PARAMS,
);

/** The typed, frozen parameter object code reads. */
export type Params = ParamsOf<typeof ALL_PARAMS>;

/** The names of every declared parameter. */
export type ParamName = keyof typeof ALL_PARAMS & string;

/** The declaration of name, or undefined for a name Petrel does not implement. */
export function paramSpec(name: string): ParamSpec | undefined {
  return Object.hasOwn(ALL_PARAMS, name) ? (ALL_PARAMS as Record<string, ParamSpec>)[name] : undefined;
}

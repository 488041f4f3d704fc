/*
 * config-dir - which configuration directory a program uses: the -c option,
 * else the MAIL_CONFIG environment variable, else the built-in default
 * (config_directory's declared default), as Postfix's commands do.
 */
import { resolve } from 'node:path';
import { ALL_PARAMS } from '../params/param-registry.js';

/** The built-in configuration directory. */
export const DEFAULT_CONFIG_DIRECTORY: string = ALL_PARAMS.config_directory.default;

/** The configuration directory for cliDir (from -c), MAIL_CONFIG or the default, as an absolute path. */
export function resolveConfigDir(cliDir?: string): string {
  const chosen = cliDir ?? process.env.MAIL_CONFIG ?? DEFAULT_CONFIG_DIRECTORY;
  return resolve(chosen === '' ? DEFAULT_CONFIG_DIRECTORY : chosen);
}

/*
 * config-problems - everything in a configuration that petrel start (the
 * master, before it opens anything or on a reload) and petrel check refuse:
 * settings Petrel would have to ignore (config-fail-closed.ts), bad
 * per-service values (per-service-params.ts), and smtpd services whose TLS
 * or SASL set-up cannot work (smtpd-service-check.ts). One line per problem.
 */
import { failClosedProblems, masterCfServices } from './config/config-fail-closed.js';
import type { Config } from './config/load-config.js';
import type { MasterEntry } from './config/master-cf-read.js';
import { perServiceProblems } from './config/per-service-params.js';
import { smtpdServiceProblems } from './smtpd-service-check.js';

/** The problems of config with master.cf's entries. */
export async function configProblems(config: Config, entries: readonly MasterEntry[]): Promise<string[]> {
  const { configDir } = config;
  return [
    ...failClosedProblems({ configDir, mainCf: config.source.mainCf, services: masterCfServices(entries, configDir) }),
    ...perServiceProblems(configDir, config.source.mainCf, config, entries.map((e) => e.service)),
    ...(await smtpdServiceProblems(configDir, entries)),
  ];
}

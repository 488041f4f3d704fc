/*
 * per-service-params - parameters whose names start with a master.cf
 * service (transport) name, such as relay_destination_concurrency_limit or
 * local_time_limit. They are valid for any transport, so the unused-parameter
 * check accepts them when the prefix names a service. Each ending has a kind
 * and a lower bound, so a bad value is found when the configuration is
 * checked (perServiceProblems: petrel start and petrel check, naming the
 * line) and a value is converted once per configuration (perServiceValue).
 * Follows postconf(5)'s "transport_" parameters.
 */
import { join } from 'node:path';
import { PetrelError } from '../errors.js';
import type { Config } from './load-config.js';
import type { MainCf } from './main-cf-read.js';
import { convertParam } from './param-convert.js';

/** How the value of an ending is read. */
interface SuffixSpec {
  readonly kind: 'int' | 'time' | 'string';
  readonly min?: number;
}

/** The name endings Postfix accepts after a transport name, with how each is read. */
export const PER_SERVICE_SUFFIXES: Readonly<Record<string, SuffixSpec>> = {
  destination_concurrency_limit: { kind: 'int', min: 0 },
  destination_recipient_limit: { kind: 'int', min: 0 },
  initial_destination_concurrency: { kind: 'int', min: 1 },
  destination_rate_delay: { kind: 'time', min: 0 },
  destination_concurrency_failed_cohort_limit: { kind: 'int', min: 0 },
  destination_concurrency_negative_feedback: { kind: 'string' },
  destination_concurrency_positive_feedback: { kind: 'string' },
  extra_recipient_limit: { kind: 'int', min: 0 },
  recipient_limit: { kind: 'int', min: 0 },
  recipient_refill_limit: { kind: 'int', min: 1 },
  recipient_refill_delay: { kind: 'time', min: 1 },
  transport_rate_delay: { kind: 'time', min: 0 },
  time_limit: { kind: 'time', min: 1 },
};

/** The ending of name when it is <service>_<ending> for one of serviceNames. */
function perServiceSuffix(name: string, serviceNames: readonly string[]): string | undefined {
  for (const service of serviceNames) {
    if (!name.startsWith(`${service}_`)) continue;
    const suffix = name.slice(service.length + 1);
    if (Object.hasOwn(PER_SERVICE_SUFFIXES, suffix)) return suffix;
  }
  return undefined;
}

/** True when name is <service>_<suffix> for one of serviceNames. */
export function isPerServiceParam(name: string, serviceNames: readonly string[]): boolean {
  return perServiceSuffix(name, serviceNames) !== undefined;
}

function convert(name: string, suffix: string, text: string): number | string {
  const spec = PER_SERVICE_SUFFIXES[suffix] as SuffixSpec;
  return convertParam(name, { kind: spec.kind, default: '', doc: '', ...(spec.min === undefined ? {} : { min: spec.min }) }, text);
}

/** Each per-service setting of main.cf whose value is bad, naming its line (the master and petrel check refuse them). */
export function perServiceProblems(configDir: string, mainCf: MainCf, config: Config, serviceNames: readonly string[]): string[] {
  const problems: string[] = [];
  for (const setting of mainCf.settings.values()) {
    const suffix = perServiceSuffix(setting.name, serviceNames);
    if (suffix === undefined) continue;
    try {
      convert(setting.name, suffix, config.value(setting.name) ?? '');
    } catch (err) {
      problems.push(`${join(configDir, 'main.cf')}, line ${setting.line}: ${(err as Error).message}`);
    }
  }
  return problems;
}

const converted = new WeakMap<Config, Map<string, number>>();

/** <service>_<suffix> (a number or time ending), converted once per configuration; fallback when it is not set. */
export function perServiceValue(config: Config, service: string, suffix: string, fallback: number): number {
  const name = `${service}_${suffix}`;
  let cache = converted.get(config);
  if (cache === undefined) converted.set(config, (cache = new Map()));
  const known = cache.get(name);
  if (known !== undefined) return known;
  const text = config.value(name);
  const value = text === undefined ? fallback : convert(name, suffix, text);
  if (typeof value !== 'number') throw new PetrelError('config', `${name}: not a number or time parameter`);
  cache.set(name, value);
  return value;
}

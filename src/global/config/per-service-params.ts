/*
 * per-service-params - parameters whose names start with a master.cf
 * service (transport) name, such as relay_destination_concurrency_limit or
 * local_time_limit. They are valid for any transport, so the unused-parameter
 * check accepts them when the prefix names a service, and daemons read them
 * with perServiceValue. Follows postconf(5)'s "transport_" parameters.
 */
import type { Config } from './load-config.js';
import { convertParam } from './param-convert.js';

/** The name endings Postfix accepts after a transport name. */
export const PER_SERVICE_SUFFIXES: readonly string[] = [
  'destination_concurrency_limit',
  'destination_recipient_limit',
  'initial_destination_concurrency',
  'destination_rate_delay',
  'destination_concurrency_failed_cohort_limit',
  'destination_concurrency_negative_feedback',
  'destination_concurrency_positive_feedback',
  'extra_recipient_limit',
  'recipient_limit',
  'recipient_refill_limit',
  'recipient_refill_delay',
  'transport_rate_delay',
  'time_limit',
];

/** True when name is <service>_<suffix> for one of serviceNames. */
export function isPerServiceParam(name: string, serviceNames: readonly string[]): boolean {
  return serviceNames.some(
    (service) => name.startsWith(`${service}_`) && PER_SERVICE_SUFFIXES.includes(name.slice(service.length + 1)),
  );
}

/** <service>_<suffix> converted as kind, at least min; fallback when it is not set. */
export function perServiceValue(config: Config, service: string, suffix: string, kind: 'int' | 'time', fallback: number, min = 0): number {
  const name = `${service}_${suffix}`;
  const text = config.value(name);
  return text === undefined ? fallback : convertParam(name, { kind, default: '', doc: '', min }, text);
}

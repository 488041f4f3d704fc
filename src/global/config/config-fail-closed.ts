/*
 * config-fail-closed - finds what in a configuration Petrel must refuse to
 * run with (DESIGN §3 "Fail closed"): a setting in main.cf or a master.cf
 * -o that param-unimplemented.ts says protects something or decides where
 * mail goes, and a lookup table of a type Petrel lacks in any parameter
 * that takes tables (Postfix's "unsupported dictionary type"). Nothing is
 * opened: types are checked by name. Each problem names the file, line or
 * service, and the parameter. Called by the master at start and reload, by
 * the worker skeleton for its own service, and by "petrel check".
 */
import { join } from 'node:path';
import { paramSpec } from '../params/param-registry.js';
import { isTableItem, unimplementedRule } from '../params/param-unimplemented.js';
import { unsupportedTableType } from '../tables/table-registry.js';
import { referencedNames } from './config-expand.js';
import { ConfigSource } from './config-source.js';
import type { MainCf } from './main-cf-read.js';
import type { MasterEntry } from './master-cf-read.js';
import { splitList } from './param-convert.js';

/** One service's -o overrides and how to say where they were set. */
export interface ServiceOverrides {
  /** e.g. "/etc/petrel/master.cf, line 12: service submission/inet". */
  readonly where: string;
  readonly overrides: readonly (readonly [string, string])[];
}

/** What to check. */
export interface FailClosedInput {
  readonly configDir: string;
  readonly mainCf: MainCf;
  /** The services whose -o settings are checked. */
  readonly services: readonly ServiceOverrides[];
  /** Further texts (other services' -o values) whose $name references make a name a user-defined macro. */
  readonly otherTexts?: readonly string[];
}

/** Declared lists that mix plain names and type:name tables (the address resolver's domain lists). */
const DOMAIN_LIST_PARAMS: ReadonlySet<string> = new Set(['mydestination', 'relay_domains', 'virtual_alias_domains', 'virtual_mailbox_domains']);

/** A restriction that takes the table after it. */
const ACCESS_RESTRICTION = /^check_\w+_access$/;

/** The type:name items of a declared parameter's expanded value. */
function tableSpecs(name: string, value: string): string[] {
  const spec = paramSpec(name);
  if (spec === undefined) return [];
  const items = splitList(value);
  if (spec.kind === 'tables') return items;
  if (DOMAIN_LIST_PARAMS.has(name)) return items.filter(isTableItem);
  if (name.endsWith('_restrictions')) return items.filter((_, i) => i > 0 && ACCESS_RESTRICTION.test(items[i - 1] as string));
  return [];
}

/** What is wrong with name as source sets it, if anything. */
function checkSetting(source: ConfigSource, name: string, referenced: ReadonlySet<string>): string | undefined {
  let value: string;
  try {
    value = source.value(name) ?? '';
  } catch {
    // a bad $name expansion is reported when the configuration is loaded
    return undefined;
  }
  const rule = unimplementedRule(name, value, referenced.has(name));
  if (rule !== undefined) {
    return `parameter ${name}: Petrel does not implement this setting, and running without it would not do what the configuration says: ${rule.why}`;
  }
  for (const spec of tableSpecs(name, value)) {
    const type = unsupportedTableType(spec);
    if (type !== undefined) return `parameter ${name}: unsupported dictionary type: ${type}`;
  }
  return undefined;
}

/** Every setting Petrel must refuse to run with, one line each naming where it is set. */
export function failClosedProblems(input: FailClosedInput): string[] {
  const { configDir, mainCf, services } = input;
  const texts = [
    ...[...mainCf.settings.values()].map((setting) => setting.value),
    ...services.flatMap((service) => service.overrides.map(([, value]) => value)),
    ...(input.otherTexts ?? []),
  ];
  const referenced = new Set(texts.flatMap((text) => referencedNames(text)));
  const problems: string[] = [];
  const base = new ConfigSource({ configDir }, mainCf);
  for (const setting of mainCf.settings.values()) {
    const problem = checkSetting(base, setting.name, referenced);
    if (problem !== undefined) problems.push(`${mainCf.path}, line ${setting.line}: ${problem}`);
  }
  for (const service of services) {
    const source = new ConfigSource({ configDir, overrides: Object.fromEntries(service.overrides) }, mainCf);
    for (const [name] of service.overrides) {
      const problem = checkSetting(source, name, referenced);
      if (problem !== undefined) problems.push(`${service.where}: -o ${problem}`);
    }
  }
  return problems;
}

/** The services of master.cf entries, named by file, line and service/type. */
export function masterCfServices(entries: readonly MasterEntry[], configDir: string): ServiceOverrides[] {
  const path = join(configDir, 'master.cf');
  return entries.map((entry) => ({ where: `${path}, line ${entry.line}: service ${entry.service}/${entry.type}`, overrides: entry.overrides }));
}

/*
 * postconf-params - postconf's main.cf listings (postconf(1) default mode,
 * -d, -n, -h, -x, named parameters): which names to show and the text of
 * each, as Postfix prints them (white space runs shown as one space), plus the "unused parameter" warnings for
 * main.cf and master.cf settings nothing declares or refers to.
 * Called by postconf-main.ts.
 */
import { join } from 'node:path';
import { DEFAULT_CONFIG_DIRECTORY } from '../global/config/config-dir.js';
import { referencedNames } from '../global/config/config-expand.js';
import type { ConfigSource } from '../global/config/config-source.js';
import type { MasterEntry } from '../global/config/master-cf-read.js';
import { isPerServiceParam } from '../global/config/per-service-params.js';
import { ALL_PARAMS, paramSpec } from '../global/params/param-registry.js';
import { msg } from '../util/msg.js';

/** Which view of the parameters to print. */
export interface ParamListing {
  readonly defaults: boolean;
  readonly nonDefault: boolean;
  readonly valuesOnly: boolean;
  readonly expand: boolean;
}

/** The names set in main.cf or master.cf -o that nothing declares, refers to or allows per service. */
function referencedSet(source: ConfigSource, entries: readonly MasterEntry[]): Set<string> {
  const texts = [...source.mainCf.settings.values()].map((s) => s.value);
  for (const entry of entries) for (const [, value] of entry.overrides) texts.push(value);
  return new Set(texts.flatMap((text) => referencedNames(text)));
}

/** A test for names postconf treats as parameters: declared, referred to by a setting, or allowed per service. */
function knownTest(source: ConfigSource, entries: readonly MasterEntry[]): (name: string) => boolean {
  const referenced = referencedSet(source, entries);
  const services = entries.map((entry) => entry.service);
  return (name) => paramSpec(name) !== undefined || referenced.has(name) || isPerServiceParam(name, services);
}

/** Warns about every main.cf and master.cf setting that nothing uses, in Postfix's words. */
export function warnUnused(source: ConfigSource, entries: readonly MasterEntry[]): void {
  const known = knownTest(source, entries);
  for (const setting of source.mainCf.settings.values()) {
    if (!known(setting.name)) msg.warn(`${source.mainCf.path}: unused parameter: ${setting.name}=${setting.value}`);
  }
  for (const entry of entries) {
    for (const [name, value] of entry.overrides) {
      if (!known(name)) msg.warn(`${join(source.configDir, 'master.cf')}: unused parameter: ${name}=${value}`);
    }
  }
}

/** The names a listing without named parameters shows, sorted. */
function listedNames(source: ConfigSource, entries: readonly MasterEntry[], listing: ParamListing): string[] {
  const known = [...source.mainCf.settings.keys()].filter(knownTest(source, entries));
  if (listing.defaults) return Object.keys(ALL_PARAMS).sort();
  if (listing.nonDefault) {
    const names = new Set(known);
    if (source.configDir !== DEFAULT_CONFIG_DIRECTORY) names.add('config_directory');
    return [...names].sort();
  }
  return [...new Set([...Object.keys(ALL_PARAMS), ...known])].sort();
}

/** The lines postconf prints for a listing of names (all when none are given). */
export function paramLines(source: ConfigSource, entries: readonly MasterEntry[], listing: ParamListing, names: readonly string[]): string[] {
  const chosen = names.length > 0 ? names : listedNames(source, entries, listing);
  // A name set in main.cf that nothing declares or refers to is no parameter, and Postfix shows no value for it.
  const known = knownTest(source, entries);
  const lines: string[] = [];
  for (const name of chosen) {
    let text: string | undefined;
    if (!known(name)) text = undefined;
    else if (listing.defaults) text = source.defaultText(name);
    else if (listing.nonDefault) text = source.mainCf.settings.get(name)?.value ?? (name === 'config_directory' ? source.raw(name) : undefined);
    else text = source.raw(name);
    if (text === undefined) {
      if (!listing.nonDefault || !known(name) || source.raw(name) === undefined) msg.warn(`${name}: unknown parameter`);
      continue;
    }
    if (listing.expand) text = source.expand(text);
    text = text.trim().replace(/\s+/g, ' ');
    lines.push(listing.valuesOnly ? text : text === '' ? `${name} =` : `${name} = ${text}`);
  }
  return lines;
}

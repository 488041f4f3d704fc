/*
 * load-config - builds the frozen, typed parameter object every daemon and
 * command reads (STYLE "Parameters"): each declared parameter's text from
 * config-source.ts, expanded (unless declared raw) and converted once. Names set in main.cf that
 * Petrel does not implement are warned about as "unused parameter", unless
 * config-fail-closed.ts refuses them (the master, the skeleton and petrel
 * check do that). Called by the worker skeleton and by commands.
 */
import { join } from 'node:path';
import { msg } from '../../util/msg.js';
import { PetrelError } from '../errors.js';
import { ALL_PARAMS, paramSpec, type Params } from '../params/param-registry.js';
import type { ParamSpec } from '../params/param-types.js';
import { unimplementedRule } from '../params/param-unimplemented.js';
import { referencedNames } from './config-expand.js';
import { ConfigSource } from './config-source.js';
import { convertParam, splitList } from './param-convert.js';
import { isPerServiceParam } from './per-service-params.js';

/** How to load: the directory, -o overrides, and whether to warn about unused names. */
export interface LoadConfigOptions {
  readonly configDir: string;
  readonly overrides?: Readonly<Record<string, string>>;
  readonly warnUnused?: boolean;
}

/** A loaded configuration. */
export interface Config {
  readonly configDir: string;
  readonly params: Params;
  readonly source: ConfigSource;
  /** Expands $name references against this configuration. */
  expand(text: string): string;
  /** The expanded text of any parameter, including per-service ones such as relay_destination_concurrency_limit. */
  value(name: string): string | undefined;
}

/** True when name's setting is refused as unimplemented (config-fail-closed.ts), which says more than "unused". */
function refusedSetting(source: ConfigSource, name: string): boolean {
  try {
    return unimplementedRule(name, source.value(name) ?? '', false) !== undefined;
  } catch {
    return false;
  }
}

/** The names main.cf or the overrides set that nothing declares or refers to (and that are not refused as unimplemented). */
export function unusedParameters(source: ConfigSource, serviceNames: readonly string[]): string[] {
  const referenced = new Set<string>();
  const texts = [...[...source.mainCf.settings.values()].map((s) => s.value), ...Object.values(source.overrides)];
  for (const text of texts) for (const name of referencedNames(text)) referenced.add(name);
  // A restriction class is a parameter of the administrator's own naming, used by name.
  for (const name of splitList(source.value('smtpd_restriction_classes') ?? '')) referenced.add(name);
  return [...source.mainCf.settings.keys()].filter(
    (name) => paramSpec(name) === undefined && !referenced.has(name) && !isPerServiceParam(name, serviceNames) && !refusedSetting(source, name),
  );
}

/** Reads main.cf under options.configDir and converts every declared parameter. */
export function loadConfig(options: LoadConfigOptions, serviceNames: readonly string[] = []): Config {
  const source = new ConfigSource(options);
  const params: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ALL_PARAMS as Record<string, ParamSpec>)) {
    try {
      params[name] = convertParam(name, spec, (spec.raw === true ? source.raw(name) : source.value(name)) ?? '');
    } catch (err) {
      // Say where: the main.cf line, or the -o override, that set the bad value.
      const setting = source.mainCf.settings.get(name);
      const where = Object.hasOwn(source.overrides, name) ? `-o ${name}` : setting !== undefined ? `${join(source.configDir, 'main.cf')}, line ${setting.line}` : undefined;
      if (where === undefined || !(err instanceof PetrelError)) throw err;
      throw new PetrelError(err.code, `${where}: ${err.message}`, { cause: err });
    }
  }
  if (options.warnUnused === true) {
    for (const name of unusedParameters(source, serviceNames)) {
      const setting = source.mainCf.settings.get(name);
      msg.warn(`${join(options.configDir, 'main.cf')}: unused parameter: ${name}=${setting?.value ?? ''}`);
    }
  }
  Object.freeze(params);
  return {
    configDir: source.configDir,
    params: params as Params,
    source,
    expand: (text) => source.expand(text),
    value: (name) => source.value(name),
  };
}

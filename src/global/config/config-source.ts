/*
 * config-source - one configuration instance as text: main.cf settings,
 * per-service -o overrides layered on top, and the declared defaults
 * underneath, with $name expansion across all three. postconf works at this
 * level (it prints values as written); load-config.ts converts it into the
 * typed parameter object daemons read.
 */
import { join } from 'node:path';
import { paramSpec } from '../params/param-registry.js';
import { expandText } from './config-expand.js';
import { readMainCf, type MainCf } from './main-cf-read.js';

/** What to read: the directory and any -o name=value overrides. */
export interface ConfigSourceOptions {
  readonly configDir: string;
  readonly overrides?: Readonly<Record<string, string>>;
}

/** The text view of a configuration. */
export class ConfigSource {
  readonly configDir: string;
  readonly mainCf: MainCf;
  readonly overrides: Readonly<Record<string, string>>;
  private readonly computed = new Map<string, string>();

  constructor(options: ConfigSourceOptions, mainCf?: MainCf) {
    this.configDir = options.configDir;
    this.overrides = options.overrides ?? {};
    this.mainCf = mainCf ?? readMainCf(join(options.configDir, 'main.cf'));
  }

  /** The built-in default text of a declared parameter (computed ones evaluated once), or undefined. */
  defaultText(name: string): string | undefined {
    const spec = paramSpec(name);
    if (spec === undefined) return undefined;
    if (typeof spec.default === 'string') return spec.default;
    let value = this.computed.get(name);
    if (value === undefined) {
      value = spec.default((other) => this.value(other) ?? '');
      this.computed.set(name, value);
    }
    return value;
  }

  /** The unexpanded text in effect: an override, else main.cf, else the default. */
  raw(name: string): string | undefined {
    if (Object.hasOwn(this.overrides, name)) return this.overrides[name];
    if (name === 'config_directory') return this.configDir;
    return this.mainCf.settings.get(name)?.value ?? this.defaultText(name);
  }

  /** Expands $name references in text against this configuration. */
  expand(text: string): string {
    return expandText(text, (name) => this.raw(name));
  }

  /** The expanded value of any parameter, declared or not; undefined when it is nowhere set. */
  value(name: string): string | undefined {
    const raw = this.raw(name);
    return raw === undefined ? undefined : this.expand(raw);
  }
}

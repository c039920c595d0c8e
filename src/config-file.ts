/**
 * Options from a config file (JSON or YAML) and from environment variables, both derived from
 * OPTION_SPECS so that every option row works in all three places without extra code.
 *
 *   config file keys: the option key (`lockStore`) or its flag name (`lock-store`)
 *   environment:      WEBDAV_<FLAG> with dashes as underscores (WEBDAV_LOCK_STORE)
 *   precedence:       defaults < environment < config file < command line
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { createRequire } from 'node:module';
import { ConfigError, OPTION_SPECS, type OptionSpec, type ServerOptions } from './config.js';

type Partial_ = Partial<ServerOptions>;

/** The YAML parser, loaded when a YAML file is read (most servers never read one). */
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

export const envName = (spec: OptionSpec): string => 'WEBDAV_' + spec.flag.toUpperCase().replace(/-/g, '_');

/** Environment variable naming the config file when --config is not given. */
export const CONFIG_ENV = 'WEBDAV_CONFIG';

/** Turns a raw value (string from env, anything from a file) into the option's type. */
export function coerceOption(spec: OptionSpec, value: unknown, where: string): unknown {
  const bad = (want: string): ConfigError => new ConfigError(`${where} needs ${want}, got ${JSON.stringify(value)}`);
  switch (spec.type) {
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
      throw bad('a whole number');
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(1|true|yes|on)$/i.test(value.trim())) return true;
      if (typeof value === 'string' && /^(0|false|no|off|)$/i.test(value.trim())) return false;
      throw bad('true or false');
    default:
      if (typeof value === 'string') return value;
      if (typeof value === 'number') return String(value);
      throw bad('a string');
  }
}

/** Options set through WEBDAV_* environment variables (empty values count as unset). */
export function optionsFromEnv(env: NodeJS.ProcessEnv): Partial_ {
  const out: Record<string, unknown> = {};
  for (const spec of OPTION_SPECS) {
    const v = env[envName(spec)];
    if (v === undefined || (v === '' && spec.type !== 'boolean')) continue;
    out[spec.key] = coerceOption(spec, v, `environment variable ${envName(spec)}`);
  }
  return out as Partial_;
}

/** Options from a config object (already parsed); unknown keys are an error, not a silent typo. */
export function optionsFromObject(obj: unknown, file: string): Partial_ {
  if (obj === null || obj === undefined) return {};
  if (typeof obj !== 'object' || Array.isArray(obj)) throw new ConfigError(`config file ${file} must hold a mapping of option names to values`);
  const byName = new Map<string, OptionSpec>();
  for (const spec of OPTION_SPECS) {
    byName.set(spec.key, spec);
    byName.set(spec.flag, spec);
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(obj as Record<string, unknown>)) {
    const spec = byName.get(name);
    if (!spec) throw new ConfigError(`config file ${file}: unknown option "${name}"`);
    if (value === null) continue;
    out[spec.key] = coerceOption(spec, value, `config file ${file}: option "${name}"`);
  }
  return out as Partial_;
}

/** Reads a JSON (.json) or YAML (anything else) config file. */
export function loadConfigFile(file: string): Partial_ {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let obj: unknown;
  try {
    obj = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    const first = ((e as Error).message || 'syntax error').split('\n')[0];
    throw new ConfigError(`config file ${file} is not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${first}`);
  }
  return optionsFromObject(obj, file);
}

const defined = (o: Partial_): Partial_ => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial_;

/** Merges the three sources: command line over config file over environment. */
export function mergeSources(cli: Partial_, configFile: string | undefined, env: NodeJS.ProcessEnv): Partial_ {
  const file = configFile ?? (env[CONFIG_ENV] || undefined);
  return { ...optionsFromEnv(env), ...(file ? loadConfigFile(file) : {}), ...defined(cli) };
}

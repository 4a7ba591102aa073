import { Value } from '@sinclair/typebox/value';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, settings, type Config } from './schema';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export interface LoadOptions {
  env: Record<string, string | undefined>;
  cwd: string;
  /** --config from the command line; else THINGSTEAD_CONFIG; else ./thingstead.yaml if it exists. */
  file?: string | undefined;
}

const reservedEnv = new Set(['THINGSTEAD_CONFIG']);

/**
 * Loads the config once at start: defaults, then the YAML file, then THINGSTEAD_* variables. Collects every
 * problem before failing, so a user fixes them in one go. Returns a deeply frozen object.
 */
export function loadConfig(o: LoadOptions): Readonly<Config> {
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};
  const explicit = o.file ?? o.env.THINGSTEAD_CONFIG;
  const file = explicit === undefined ? resolve(o.cwd, 'thingstead.yaml') : resolve(o.cwd, explicit);
  if (existsSync(file)) {
    try {
      const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
      if (parsed === null || parsed === undefined) raw = {};
      else if (typeof parsed === 'object' && !Array.isArray(parsed)) raw = parsed as Record<string, unknown>;
      else problems.push(`${file}: the top level must be a mapping of settings`);
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
    }
  } else if (explicit !== undefined) {
    problems.push(`config file ${file} does not exist`);
  }

  const known = new Map(settings().map((s) => [s.env, s]));
  for (const [name, value] of Object.entries(o.env)) {
    if (!name.startsWith('THINGSTEAD_') || reservedEnv.has(name) || value === undefined) continue;
    const s = known.get(name);
    if (!s) {
      problems.push(`${name}: unknown setting (see docs/reference/config.md)`);
      continue;
    }
    setPath(raw, s.path, coerce(value, s.schema.type));
  }

  const withDefaults = Value.Default(configSchema, Value.Clone(raw));
  for (const e of Value.Errors(configSchema, withDefaults)) {
    const path = e.path.replace(/^\//, '').replaceAll('/', '.');
    const s = settings().find((x) => x.path.join('.') === path);
    problems.push(`${path || '(root)'}${s ? ` (${s.env})` : ''}: ${e.message}${e.value === undefined ? '' : `, got ${JSON.stringify(e.value)}`}`);
  }
  const tel = (withDefaults as Partial<Config>).telemetry;
  if (tel && tel.maxPointsPerMessage > tel.maxPendingPoints) {
    problems.push('telemetry.maxPointsPerMessage must not exceed telemetry.maxPendingPoints, or such a message could never be accepted');
  }
  const tls = (withDefaults as Partial<Config>).mqtts;
  if (tls?.port !== undefined && (tls.certFile === undefined || tls.keyFile === undefined)) {
    problems.push('mqtts.port (THINGSTEAD_MQTTS_PORT) needs mqtts.certFile and mqtts.keyFile (THINGSTEAD_MQTTS_CERT_FILE, THINGSTEAD_MQTTS_KEY_FILE)');
  }
  for (const f of [tls?.certFile, tls?.keyFile]) {
    if (f !== undefined && !existsSync(resolve(o.cwd, f))) problems.push(`mqtts: file ${f} does not exist`);
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return deepFreeze(withDefaults as Config);
}

function coerce(value: string, type: unknown): unknown {
  if (type === 'integer' || type === 'number') return value.trim() === '' ? value : Number(value);
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

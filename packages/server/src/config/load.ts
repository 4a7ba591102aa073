import { Value } from '@sinclair/typebox/value';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, envName, settings, type Config } from './schema';

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
  /** Command-line flags that set a setting (`thingstead broker --port`); they win over the file and the environment. */
  flags?: readonly FlagSetting[] | undefined;
}

/** One flag given on the command line: `--port 1884` is `{ flag: '--port', path: ['broker', 'port'], value: '1884' }`. */
export interface FlagSetting {
  flag: string;
  path: readonly string[];
  /** Text as typed (coerced to the setting's type like an environment variable), or true for a switch. */
  value: string | boolean;
}

const reservedEnv = new Set(['THINGSTEAD_CONFIG']);

/**
 * Loads the config once at start: defaults, then the YAML file, then THINGSTEAD_* variables, then command-line
 * flags. Collects every problem before failing, so a user fixes them in one go; a problem names the variable or
 * flag its value came from. Returns a deeply frozen object.
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

  const all = settings();
  const known = new Map(all.map((s) => [s.env, s]));
  /** Where a value given as text came from (a variable or a flag), and the text, for the problem list. */
  const given = new Map<string, { from: string; text: string | boolean }>();
  for (const [name, value] of Object.entries(o.env)) {
    if (!name.startsWith('THINGSTEAD_') || reservedEnv.has(name) || value === undefined) continue;
    const s = known.get(name);
    if (!s) {
      problems.push(`${name}: unknown setting (see docs/reference/config.md)`);
      continue;
    }
    setPath(raw, s.path, coerce(value, s.schema.type));
    given.set(s.path.join('.'), { from: name, text: value });
  }
  for (const f of o.flags ?? []) {
    const s = all.find((x) => x.path.join('.') === f.path.join('.'));
    if (!s) throw new Error(`flag ${f.flag} names no setting: ${f.path.join('.')}`);
    setPath(raw, s.path, typeof f.value === 'string' ? coerce(f.value, s.schema.type) : f.value);
    given.set(s.path.join('.'), { from: f.flag, text: f.value });
  }

  const withDefaults = Value.Default(configSchema, Value.Clone(raw));
  for (const e of Value.Errors(configSchema, withDefaults)) {
    const path = e.path.replace(/^\//, '').replaceAll('/', '.');
    const s = all.find((x) => x.path.join('.') === path);
    const g = given.get(path);
    const got = g !== undefined ? `, got ${JSON.stringify(g.text)}` : e.value === undefined ? '' : `, got ${JSON.stringify(e.value)}`;
    problems.push(`${path || '(root)'}${g ? ` (${g.from})` : s ? ` (${s.env})` : ''}: ${e.message}${got}`);
  }
  const tel = (withDefaults as Partial<Config>).telemetry;
  if (tel && tel.maxPointsPerMessage > tel.maxPendingPoints) {
    problems.push('telemetry.maxPointsPerMessage must not exceed telemetry.maxPendingPoints, or such a message could never be accepted');
  }
  // The TLS listeners (MQTT over TLS, HTTPS): a port needs both files, and the files must exist.
  for (const section of ['mqtts', 'https'] as const) {
    const tls = (withDefaults as Partial<Config>)[section];
    const env = (key: string) => given.get(`${section}.${key}`)?.from ?? envName([section, key]);
    if (tls?.port !== undefined && (tls.certFile === undefined || tls.keyFile === undefined)) {
      problems.push(`${section}.port (${env('port')}) needs ${section}.certFile and ${section}.keyFile (${env('certFile')}, ${env('keyFile')})`);
    }
    for (const key of ['certFile', 'keyFile'] as const) {
      const f = tls?.[key];
      if (f !== undefined && !existsSync(resolve(o.cwd, f))) problems.push(`${section}.${key} (${env(key)}): file ${f} does not exist`);
    }
  }
  // Two listeners on one port: the second would fail at start with EADDRINUSE; say which settings clash now.
  const c = withDefaults as Partial<Config>;
  const listenerPorts: [string, number | undefined][] = [
    ['http.port', c.http?.port],
    ['https.port', c.https?.port],
    ['metrics.port', c.metrics?.host === undefined || c.metrics.host === c.host ? c.metrics?.port : undefined],
    ['mqtt.port', c.mqtt?.enabled === false ? undefined : c.mqtt?.port],
    ['mqtts.port', c.mqtt?.enabled === false ? undefined : c.mqtts?.port],
  ];
  const portEnv = (path: string) => given.get(path)?.from ?? envName(path.split('.'));
  listenerPorts.forEach(([a, port], i) => {
    const clash = listenerPorts.slice(i + 1).find(([, other]) => port !== undefined && port !== 0 && other === port);
    if (clash) problems.push(`${clash[0]} (${portEnv(clash[0])}) and ${a} (${portEnv(a)}) are both ${String(port)}: each listener needs a port of its own`);
  });
  const broker = (withDefaults as Partial<Config>).broker;
  for (const [key, f] of [
    ['passwordFile', broker?.passwordFile],
    ['aclFile', broker?.aclFile],
  ] as const) {
    if (f !== undefined && !existsSync(resolve(o.cwd, f)))
      problems.push(`broker.${key} (${given.get(`broker.${key}`)?.from ?? envName(['broker', key])}): file ${f} does not exist`);
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

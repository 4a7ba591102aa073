/**
 * A seeded mutation fuzzer for the HTTP APIs that take JSON bodies: the device API
 * (`POST /api/v1/{token}/telemetry` and `/attributes`), the admin bodies of devices, device profiles, attributes and
 * persistent RPCs (`POST /api/devices/{id}/rpc`), plus query strings of
 * the list and telemetry routes. Every case is generated from (seed, index), so a problem replays exactly.
 *
 * Each case starts from a valid body and applies one mutation: none, bit flips, truncation, inserted bytes or
 * JSON tokens, deep nesting, huge and odd numbers, lone surrogates and NUL, duplicated keys, fully random
 * JSON, odd content types. Checked for every answer: no 5xx, a 2xx or the standard JSON error body
 * (statusCode, code THINGSTEAD_ERR_*, message, hint); for a sample of accepted bodies, the values read back
 * unchanged. Used by tests/fuzz/http-fuzz.test.ts (a bounded run in `npm test`) and tests/fuzz/run-http.ts
 * (a long run against any server).
 */
import { isDeepStrictEqual } from 'node:util';
import { mulberry32 } from '@thingstead/core/testing';

export interface HttpFuzzOptions {
  baseUrl: string;
  /** A bearer credential (JWT or API key) of a system or tenant admin: the fuzzer creates its own device. */
  token: string;
  iterations: number;
  seed: number;
  /** Share of accepted bodies whose values are read back (0..1); default 0.3. */
  readBackShare?: number;
  /** Stop after this many problems; default 20. */
  maxProblems?: number;
  /** The index of the first case (default 0): with iterations 1, replays one case of a report. */
  firstCase?: number;
  /** Called with each case's request and answer, to replay a case and see it. */
  log?: (line: string) => void;
}

export interface HttpFuzzReport {
  iterations: number;
  /** Answers by target and status, e.g. {"telemetry 200": 412}. */
  answers: Record<string, number>;
  /** Refusals by target and error code, e.g. {"telemetry THINGSTEAD_ERR_BAD_JSON": 97}. */
  refusals: Record<string, number>;
  readBacks: number;
  /** What went wrong, each with the (seed, index) that replays it; empty when all held. */
  problems: string[];
}

type Rand = ReturnType<typeof mulberry32>;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;
const chance = (r: Rand, p: number) => r() < p;

const keyPool = ['temperature', 'humidity', 'status', 'on', 'cfg', 'rssi', 'fw', 'level', 'mode', 'ünïcødé', 'emoji🌡', 'a.b', 'x y', 'k,comma'];
const oddStrings = [
  '',
  ' ',
  'ok',
  'NUL\u0000inside',
  'lone\ud800',
  '\udc00lead',
  'emoji 🌊',
  'quote"back\\slash',
  '\u2028\u2029',
  'x'.repeat(300),
  "'); DROP TABLE devices;--",
  '%_\\',
];
const oddNumbers = [
  '1e400',
  '-1e400',
  '1e309',
  '-0',
  '0.0',
  '5e-324',
  '1e-400',
  '1.7976931348623157e308',
  '123456789012345678901234567890',
  '9007199254740993',
  '-9007199254740993',
  '0.1e1',
  '1E2',
];

function scalar(r: Rand): unknown {
  switch (int(r, 6)) {
    case 0:
      return int(r, 1000) - 500;
    case 1:
      return (r() - 0.5) * 10 ** int(r, 300);
    case 2:
      return pick(r, oddStrings);
    case 3:
      return chance(r, 0.5);
    case 4:
      return chance(r, 0.1) ? null : `s${int(r, 100)}`;
    default:
      return Number.MAX_SAFE_INTEGER - int(r, 3);
  }
}

/** Random JSON, nested up to `depth` levels. */
function randomJson(r: Rand, depth: number): unknown {
  if (depth <= 0 || chance(r, 0.5)) return scalar(r);
  if (chance(r, 0.4)) return Array.from({ length: int(r, 4) }, () => randomJson(r, depth - 1));
  return Object.fromEntries(Array.from({ length: int(r, 4) }, () => [chance(r, 0.7) ? pick(r, keyPool) : String(scalar(r)), randomJson(r, depth - 1)]));
}

function telemetryValues(r: Rand): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (let i = 1 + int(r, 5); i > 0; i--) {
    const key = chance(r, 0.9) ? pick(r, keyPool) : pick(r, oddStrings);
    values[key] = chance(r, 0.15) ? randomJson(r, 3) : scalar(r);
  }
  return values;
}

function telemetryBody(r: Rand, now: number): unknown {
  const ts = () => (chance(r, 0.85) ? now - int(r, 10_000_000) : pick(r, [946_684_799_999, 1_700_000_000, now + 10 * 86_400_000, 1.5, -1]));
  switch (int(r, 4)) {
    case 0:
      return telemetryValues(r);
    case 1:
      return { ts: ts(), values: telemetryValues(r) };
    case 2:
      return Array.from({ length: 1 + int(r, 4) }, () => (chance(r, 0.5) ? { ts: ts(), values: telemetryValues(r) } : telemetryValues(r)));
    default:
      return randomJson(r, 4);
  }
}

function deviceBody(r: Rand, index: number): Record<string, unknown> {
  const body: Record<string, unknown> = { name: chance(r, 0.9) ? `fuzz-${index}-${int(r, 1e6)}` : pick(r, oddStrings) };
  if (chance(r, 0.5)) body.label = pick(r, oddStrings);
  if (chance(r, 0.6)) body.metadata = randomJson(r, 4);
  if (chance(r, 0.05)) body.tenantId = 'not-a-tenant';
  if (chance(r, 0.05)) body.extra = 1;
  return body;
}

/** One mutation of a JSON text; some keep it valid JSON (with odd content), most do not. */
function mutate(r: Rand, text: string): { body: Buffer; mutation: string } {
  const buf = () => Buffer.from(text, 'utf8');
  const at = (n: number) => int(r, n + 1);
  switch (int(r, 12)) {
    case 0:
    case 1:
      return { body: buf(), mutation: 'none' };
    case 2: {
      const b = buf();
      for (let i = 1 + int(r, 3); i > 0 && b.length > 0; i--) b[at(b.length - 1)]! ^= 1 << int(r, 8);
      return { body: b, mutation: 'bit flips' };
    }
    case 3:
      return { body: buf().subarray(0, at(Buffer.byteLength(text))), mutation: 'truncation' };
    case 4: {
      const i = at(text.length);
      const insert = pick(r, ['{', '}', '[', ']', ',', ':', '"', '\\', 'null', '\u0000', '\ud800', '"\\ud800"', '\\u0000', ...oddNumbers]);
      return { body: Buffer.from(text.slice(0, i) + insert + text.slice(i)), mutation: 'insertion' };
    }
    case 5: {
      const levels = pick(r, [31, 32, 33, 100, 5000, 30_000]);
      const open = chance(r, 0.5) ? '['.repeat(levels) : '{"a":'.repeat(levels);
      const close = open.startsWith('[') ? ']'.repeat(levels) : '}'.repeat(levels);
      const nested = `${open}1${close}`;
      // Nest a value of the body, or the body itself.
      const replaced = text.replace(/:(-?\d+(\.\d+)?|true|false|"[^"]*")/, `:${nested}`);
      return { body: Buffer.from(replaced === text ? nested : replaced), mutation: `nesting ${levels}` };
    }
    case 6: {
      const n = pick(r, oddNumbers);
      const replaced = text.replace(/(?<=[:[,])-?\d+(\.\d+)?([eE][-+]?\d+)?/, n);
      return { body: Buffer.from(replaced === text ? `{"n":${n}}` : replaced), mutation: `number ${n}` };
    }
    case 7: {
      const s = pick(r, ['\\ud800', '\\udfff', '\\u0000', '\\ud83c\\udf0a', '\\u001f']);
      const replaced = text.replace(/"([^"\\]*)"/, `"$1${s}"`);
      return { body: Buffer.from(replaced), mutation: `escape ${s}` };
    }
    case 8: {
      const replaced = text.replace(/\{"([^"\\]*)":/, (_m, k: string) => `{"${k}":1,"${k}":`);
      return { body: Buffer.from(replaced), mutation: 'duplicate key' };
    }
    case 9: {
      const bytes = Buffer.alloc(int(r, 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = int(r, 256);
      return { body: bytes, mutation: 'random bytes' };
    }
    case 10:
      return { body: Buffer.from(JSON.stringify(randomJson(r, 6))), mutation: 'random JSON' };
    default: {
      const i = at(text.length);
      return { body: Buffer.from(text.slice(0, i) + text.slice(i).repeat(2)), mutation: 'repeated tail' };
    }
  }
}

interface Answer {
  status: number;
  body: unknown;
  contentType: string;
}

/** The points a telemetry body holds, as the device API reads them (last wins per key and ts). */
function expectedPoints(payload: unknown): { key: string; ts: number | undefined; value: unknown }[] {
  const out = new Map<string, { key: string; ts: number | undefined; value: unknown }>();
  for (const entry of Array.isArray(payload) ? payload : [payload]) {
    const e = entry as Record<string, unknown>;
    const timed = 'ts' in e && 'values' in e;
    const values = (timed ? e.values : e) as Record<string, unknown>;
    const ts = timed ? (e.ts as number) : undefined;
    for (const [key, value] of Object.entries(values)) out.set(`${key}\u0000${String(ts)}`, { key, ts, value });
  }
  return [...out.values()];
}

function isPlainTelemetry(payload: unknown): boolean {
  return (Array.isArray(payload) ? payload : [payload]).every((e) => typeof e === 'object' && e !== null && !Array.isArray(e));
}

/** Percent-encodes any string; a lone surrogate (which encodeURIComponent refuses) becomes its raw 3-byte form. */
function encode(v: string): string {
  let out = '';
  // for-of walks code points: a pair is one character, a lone surrogate is one on its own.
  for (const c of v) {
    const u = c.charCodeAt(0);
    out +=
      c.length === 1 && u >= 0xd800 && u <= 0xdfff
        ? `%ED%${(0xa0 + ((u >> 6) & 0x1f)).toString(16).toUpperCase()}%${(0x80 + (u & 0x3f)).toString(16).toUpperCase()}`
        : encodeURIComponent(c);
  }
  return out;
}

/** JSON has no -0 and the store keeps no key order it was not given: compare what JSON can carry. */
const normal = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;
const parseSent = (body: Buffer): unknown => JSON.parse(body.toString('utf8').replace(/^\uFEFF/, '')) as unknown;

export async function fuzzHttp(o: HttpFuzzOptions): Promise<HttpFuzzReport> {
  const report: HttpFuzzReport = { iterations: 0, answers: {}, refusals: {}, readBacks: 0, problems: [] };
  const readBackShare = o.readBackShare ?? 0.3;
  const maxProblems = o.maxProblems ?? 20;
  const auth = { authorization: `Bearer ${o.token}` };

  const request = async (method: string, path: string, body?: Buffer, contentType?: string, headers: Record<string, string> = auth): Promise<Answer> => {
    const h: Record<string, string> = { ...headers };
    if (contentType !== undefined) h['content-type'] = contentType;
    const res = await fetch(o.baseUrl + path, body === undefined ? { method, headers: h } : { method, headers: h, body });
    const text = await res.text();
    const ct = res.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (ct.includes('json') && text.length > 0) {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = { unparsable: text.slice(0, 200) };
      }
    }
    return { status: res.status, body: parsed, contentType: ct };
  };
  const json = (method: string, path: string, value: unknown) => request(method, path, Buffer.from(JSON.stringify(value)), 'application/json');

  const device = await json('POST', '/api/devices', { name: `http-fuzz-${o.seed}-${Date.now()}` });
  if (device.status !== 201) throw new Error(`creating the fuzz device failed: ${device.status} ${JSON.stringify(device.body)}`);
  const deviceId = (device.body as { id: string }).id;
  const credentials = await request('GET', `/api/devices/${deviceId}/credentials`);
  const deviceToken = (credentials.body as { accessToken: string }).accessToken;

  const first = o.firstCase ?? 0;
  /** Each attributes case has a device of its own, deleted in the next case, so no case fills another's limits. */
  let attributeDevice: string | undefined;
  const dropAttributeDevice = async () => {
    if (attributeDevice !== undefined) await request('DELETE', `/api/devices/${attributeDevice}`);
    attributeDevice = undefined;
  };
  for (let index = first; index < first + o.iterations && report.problems.length < maxProblems; index++) {
    await dropAttributeDevice();
    // Each case has its own stream, so any case replays from (seed, index) alone.
    const r = mulberry32(Math.imul(o.seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b));
    const problem = (what: string) => report.problems.push(`seed ${o.seed} case ${index}: ${what}`);
    const target = pick(r, [
      'telemetry',
      'telemetry',
      'telemetry',
      'telemetry',
      'telemetry',
      'device',
      'device',
      'patch',
      'profile',
      'query',
      'attributes',
      'device-attributes',
      'rpc',
    ] as const);
    let base: unknown;
    let path: string;
    let method = 'POST';
    if (target === 'telemetry') {
      base = telemetryBody(r, Date.now());
      path = `/api/v1/${deviceToken}/telemetry`;
    } else if (target === 'device' || target === 'profile') {
      base =
        target === 'device' ? deviceBody(r, index) : { name: `fuzz-profile-${index}`, description: pick(r, oddStrings), defaultSettings: randomJson(r, 4) };
      path = target === 'device' ? '/api/devices' : '/api/device-profiles';
    } else if (target === 'attributes') {
      const made = await json('POST', '/api/devices', { name: `fuzz-attributes-${o.seed}-${index}` });
      attributeDevice = (made.body as { id: string }).id;
      base = telemetryValues(r);
      path = `/api/devices/${attributeDevice}/attributes/${pick(r, ['shared', 'shared', 'server', 'client'])}`;
    } else if (target === 'device-attributes' || target === 'rpc') {
      // A device of its own too: client attributes over the device API, or persistent commands (stored, so the
      // device need not be connected) read back from GET /api/rpc/{id}.
      const made = await json('POST', '/api/devices', { name: `fuzz-${target}-${o.seed}-${index}` });
      attributeDevice = (made.body as { id: string }).id;
      if (target === 'rpc') {
        base = { method: pick(r, ['setValve', 'reboot', 'x', ...oddStrings]), params: randomJson(r, 4), persistent: true, timeoutMs: int(r, 60_000) + 1 };
        path = `/api/devices/${attributeDevice}/rpc`;
      } else {
        const creds = await request('GET', `/api/devices/${attributeDevice}/credentials`);
        base = telemetryValues(r);
        path = `/api/v1/${(creds.body as { accessToken: string }).accessToken}/attributes`;
      }
    } else if (target === 'patch') {
      const b = deviceBody(r, index);
      delete b.name;
      base = b;
      method = 'PATCH';
      path = `/api/devices/${deviceId}`;
    } else {
      const param = pick(r, ['limit', 'offset', 'from', 'to', 'interval', 'agg', 'order', 'sort', 'search', 'keys']);
      const value = pick(r, [...oddNumbers, ...oddStrings, '-1', '0', '1', 'avg', 'asc', 'name', String(int(r, 1e9))]);
      path = `${pick(r, ['/api/devices', '/api/users', `/api/devices/${deviceId}/telemetry`, `/api/devices/${deviceId}/telemetry/latest`])}?${param}=${encode(value)}${chance(r, 0.3) ? '&agg=avg' : ''}`;
      method = 'GET';
    }

    const { body, mutation } = method === 'GET' ? { body: undefined, mutation: 'query' } : mutate(r, JSON.stringify(base));
    const contentType =
      method === 'GET'
        ? undefined
        : chance(r, 0.9)
          ? 'application/json'
          : pick(r, ['application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']);
    const headers = target === 'telemetry' || target === 'device-attributes' ? {} : auth;
    const before = Date.now();
    let a: Answer;
    try {
      a = await request(method, path, body, contentType, headers);
    } catch (e) {
      problem(`${target} (${mutation}): no answer: ${(e as Error).message}`);
      continue;
    }
    const after = Date.now();
    o.log?.(
      `case ${index}: ${method} ${path} ${contentType ?? ''} (${mutation})\n  sent ${body === undefined ? '-' : JSON.stringify(body.toString('utf8'))}\n  got ${a.status} ${JSON.stringify(a.body)}`,
    );
    report.iterations++;
    const label = `${target} ${a.status}`;
    report.answers[label] = (report.answers[label] ?? 0) + 1;
    const what = `${method} ${path.slice(0, 80)} (${mutation}, ${contentType ?? 'no body'})`;

    if (a.status >= 500) {
      problem(`${what}: ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
      continue;
    }
    if (a.status >= 400) {
      const e = a.body as { statusCode?: unknown; code?: unknown; message?: unknown; hint?: unknown };
      const standard =
        a.contentType.includes('application/json') &&
        e.statusCode === a.status &&
        typeof e.code === 'string' &&
        /^THINGSTEAD_ERR_[A-Z_]+$/.test(e.code) &&
        typeof e.message === 'string' &&
        typeof e.hint === 'string';
      if (!standard) problem(`${what}: ${a.status} without the standard error body: ${JSON.stringify(a.body).slice(0, 300)}`);
      const refusal = `${target} ${String(e.code)}`;
      report.refusals[refusal] = (report.refusals[refusal] ?? 0) + 1;
      continue;
    }
    if (a.status < 200 || a.status >= 300) {
      problem(`${what}: unexpected status ${a.status}`);
      continue;
    }
    if (method === 'GET' || body === undefined) continue;

    // Accepted: the body was JSON, and what it said must be what is stored.
    let sent: unknown;
    try {
      sent = parseSent(body);
    } catch {
      problem(`${what}: ${a.status} for a body JSON.parse refuses`);
      continue;
    }
    const readBack = chance(r, readBackShare);
    if (target === 'telemetry') {
      if (!isPlainTelemetry(sent)) {
        problem(`${what}: ${a.status} for a body that is not telemetry`);
        continue;
      }
      const points = expectedPoints(sent);
      if (!readBack) continue;
      for (const p of points.slice(0, 4)) {
        // The keys parameter is comma-separated and trimmed: such keys can only be read with all keys.
        if (p.key.includes(',') || p.key.trim() !== p.key || p.key === '') continue;
        const from = p.ts ?? before - 1000;
        const to = p.ts === undefined ? after + 1001 : p.ts + 1;
        const got = await request('GET', `/api/devices/${deviceId}/telemetry?keys=${encode(p.key)}&from=${from}&to=${to}&limit=1000`);
        const values = ((got.body as { data?: Record<string, { value: unknown }[]> }).data?.[p.key] ?? []).map((x) => x.value);
        report.readBacks++;
        const expected = normal(p.value);
        const ok = p.ts === undefined ? values.some((v) => isDeepStrictEqual(v, expected)) : values.length === 1 && isDeepStrictEqual(values[0], expected);
        if (!ok)
          problem(`${what}: ${JSON.stringify(p.key)} at ${String(p.ts)} sent ${JSON.stringify(p.value)}, read back ${JSON.stringify(values).slice(0, 200)}`);
      }
      continue;
    }
    if (target === 'rpc') {
      const stored = (a.body as { id?: unknown }).id;
      if (typeof stored !== 'string') {
        problem(`${what}: ${a.status} without the persistent call's id`);
        continue;
      }
      if (!readBack) continue;
      const got = (await request('GET', `/api/rpc/${stored}`)).body as { method?: unknown; params?: unknown };
      report.readBacks++;
      const s = sent as { method?: unknown; params?: unknown };
      if (got.method !== s.method || !isDeepStrictEqual(got.params, normal(s.params ?? {})))
        problem(`${what}: sent ${JSON.stringify(s).slice(0, 200)}, stored ${JSON.stringify(got).slice(0, 200)}`);
      continue;
    }
    if (target === 'attributes' || target === 'device-attributes') {
      if (typeof sent !== 'object' || sent === null || Array.isArray(sent)) {
        problem(`${what}: ${a.status} for a body that is no JSON object`);
        continue;
      }
      if (!readBack) continue;
      const scope = target === 'device-attributes' ? 'client' : path.slice(path.lastIndexOf('/') + 1);
      const got = (await request('GET', `/api/devices/${attributeDevice ?? ''}/attributes?scope=${scope}`)).body as Record<
        string,
        Record<string, { value: unknown }>
      >;
      report.readBacks++;
      for (const [key, value] of Object.entries(sent)) {
        if (!isDeepStrictEqual(got[scope]?.[key]?.value, normal(value)))
          problem(
            `${what}: attribute ${JSON.stringify(key)} sent ${JSON.stringify(value).slice(0, 200)}, read back ${JSON.stringify(got[scope]?.[key]).slice(0, 200)}`,
          );
      }
      continue;
    }
    const created = a.body as { id?: string };
    const id = target === 'patch' ? deviceId : created.id;
    if (typeof id !== 'string') {
      problem(`${what}: ${a.status} without an id`);
      continue;
    }
    const resource = target === 'profile' ? '/api/device-profiles' : '/api/devices';
    if (readBack) {
      const got = (await request('GET', `${resource}/${id}`)).body as Record<string, unknown>;
      const s = sent as Record<string, unknown>;
      report.readBacks++;
      const checks: [string, unknown, unknown][] =
        target === 'profile'
          ? [
              ['name', got.name, (s.name as string).trim()],
              ['description', got.description, ((s.description as string | undefined) ?? '').trim()],
              ['defaultSettings', got.defaultSettings, normal(s.defaultSettings ?? {})],
            ]
          : [
              ...(s.name === undefined ? [] : [['name', got.name, (s.name as string).trim()] as [string, unknown, unknown]]),
              ...(s.label === undefined ? [] : [['label', got.label, (s.label as string).trim()] as [string, unknown, unknown]]),
              ...(s.metadata === undefined && target === 'patch' ? [] : [['metadata', got.metadata, normal(s.metadata ?? {})] as [string, unknown, unknown]]),
            ];
      for (const [field, actual, expected] of checks) {
        if (!isDeepStrictEqual(actual, expected))
          problem(`${what}: ${field} sent ${JSON.stringify(expected).slice(0, 200)}, read back ${JSON.stringify(actual).slice(0, 200)}`);
      }
    }
    // Keep the database and the server's caches the size they were.
    if (target !== 'patch') {
      const del = await request('DELETE', `${resource}/${id}`);
      if (del.status !== 204) problem(`${what}: deleting what it created answered ${del.status}`);
    }
  }
  await dropAttributeDevice();
  await request('DELETE', `/api/devices/${deviceId}`);
  return report;
}

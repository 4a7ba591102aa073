import { fail } from '../errors';
import { jsonProblem } from '../json';
import { loneSurrogate } from '../validate';
import type { TelemetryValue } from './model';

export interface TelemetryLimits {
  maxKeyLength: number;
  /** Bytes of a string value, or of a JSON object value once serialised. */
  maxValueBytes: number;
  /** Points (key/timestamp pairs) in one message. */
  maxPointsPerMessage: number;
  /** How far in the future (by the server's clock) a device timestamp may lie. */
  maxFutureSkewMs: number;
}

export interface DecodedPoint {
  key: string;
  ts: number;
  value: TelemetryValue;
}

/** 2000-01-01T00:00:00Z. Earlier timestamps are almost always seconds sent where milliseconds belong. */
export const minTimestamp = 946_684_800_000;

const invalid = (problem: string, path: string): never => fail('TELEMETRY_INVALID', `${path}: ${problem}`, { path });

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses a raw payload (MQTT, CoAP) as JSON, naming the problem when it is not, and applies the limits of
 * every JSON document (json.ts: nesting depth, finite numbers).
 */
export function parseJsonPayload(
  payload: Uint8Array | string,
  kind: 'TELEMETRY_INVALID' | 'ATTRIBUTES_INVALID' | 'RPC_INVALID' | 'GATEWAY_INVALID' = 'TELEMETRY_INVALID',
): unknown {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    return fail(kind, `payload is not valid JSON: ${(e as Error).message}`);
  }
  const problem = jsonProblem(value);
  if (problem !== undefined) fail(kind, `payload: ${problem}`);
  return value;
}

/**
 * Decodes the ThingsBoard telemetry forms: {"k":v,...}, {"ts":ms,"values":{...}}, or an array of either.
 * Values are numbers, strings, booleans or JSON objects/arrays; an entry without ts gets `stamp()` (by default
 * `receivedAt`; the telemetry service passes unique server timestamps, see ServerStamps).
 * Throws TELEMETRY_INVALID naming the first problem (path in JSONPath style), so nothing of a bad message
 * is stored.
 */
export function decodeTelemetry(payload: unknown, receivedAt: number, limits: TelemetryLimits, stamp: () => number = () => receivedAt): DecodedPoint[] {
  const out: DecodedPoint[] = [];
  if (Array.isArray(payload)) {
    payload.forEach((item, i) => {
      decodeEntry(item, `$[${i}]`, receivedAt, limits, out, stamp);
    });
  } else {
    decodeEntry(payload, '$', receivedAt, limits, out, stamp);
  }
  return out;
}

function decodeEntry(entry: unknown, path: string, receivedAt: number, limits: TelemetryLimits, out: DecodedPoint[], stamp: () => number): void {
  if (!isPlainObject(entry)) return invalid('expected a JSON object of key/value pairs or {"ts":..,"values":{..}}', path);
  if ('ts' in entry && 'values' in entry) {
    const extra = Object.keys(entry).filter((k) => k !== 'ts' && k !== 'values');
    if (extra.length > 0) invalid(`unexpected field "${extra[0] ?? ''}" next to ts and values`, path);
    if (!isPlainObject(entry.values)) invalid('values must be a JSON object', `${path}.values`);
    const ts = checkTs(entry.ts, `${path}.ts`, receivedAt, limits);
    addValues(entry.values as Record<string, unknown>, ts, `${path}.values`, limits, out);
    return;
  }
  // One stamp per entry without ts (its keys share it), taken only for an entry that holds values.
  if (Object.keys(entry).length > 0) addValues(entry, stamp(), path, limits, out);
}

function checkTs(ts: unknown, path: string, receivedAt: number, limits: TelemetryLimits): number {
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) return invalid('ts must be an integer number of milliseconds since 1970', path);
  if (ts < minTimestamp) {
    const hint = ts > 946_684_800 && ts < 1e11 ? ` (${ts} looks like seconds; send milliseconds)` : '';
    return invalid(`ts ${ts} is before 2000-01-01${hint}`, path);
  }
  if (ts > receivedAt + limits.maxFutureSkewMs) return invalid(`ts ${ts} is more than ${limits.maxFutureSkewMs} ms in the future`, path);
  return ts;
}

function addValues(values: Record<string, unknown>, ts: number, path: string, limits: TelemetryLimits, out: DecodedPoint[]): void {
  for (const key of Object.keys(values)) {
    const at = `${path}.${key}`;
    const problem = keyProblem(key, limits.maxKeyLength);
    // A key too long to show is named by its path; one that is empty or unprintable by its parent's.
    if (problem !== undefined) invalid(problem, key.length > limits.maxKeyLength ? at : path);
    out.push({ key, ts, value: checkValue(values[key], at, limits) });
    if (out.length > limits.maxPointsPerMessage) invalid(`more than ${limits.maxPointsPerMessage} values in one message`, '$');
  }
}

/**
 * Why a key is refused, or undefined when it is fine. Shared by telemetry and attributes (one rule for every key
 * a device sends): not empty, at most maxKeyLength characters, no control characters, valid Unicode.
 */
export function keyProblem(key: string, maxKeyLength: number): string | undefined {
  if (key.length === 0) return 'keys must not be empty';
  if (key.length > maxKeyLength) return `key is longer than ${maxKeyLength} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'keys must not contain control characters';
  if (loneSurrogate.test(key)) return 'keys must be valid Unicode (a key contains an unpaired surrogate)';
  return undefined;
}

function checkValue(v: unknown, path: string, limits: TelemetryLimits): TelemetryValue {
  const problem = valueProblem(v, limits.maxValueBytes);
  return problem === undefined ? (v as TelemetryValue) : invalid(problem, path);
}

/**
 * Why a value is refused, or undefined when it is a telemetry value (number, string, boolean, JSON object or
 * array) within maxValueBytes. Shared by telemetry and attributes.
 */
export function valueProblem(v: unknown, maxValueBytes: number): string | undefined {
  switch (typeof v) {
    case 'number':
      // JSON.parse reads 1e400 as Infinity, which would be stored and read back as null.
      return Number.isFinite(v) ? undefined : 'number is out of range (beyond ±1.8e308); send finite numbers';
    case 'boolean':
      return undefined;
    case 'string':
      if (Buffer.byteLength(v) > maxValueBytes) return `string value is longer than ${maxValueBytes} bytes`;
      // Stored as UTF-8 text, a lone surrogate would be read back as U+FFFD; inside a JSON value it is escaped and kept.
      if (loneSurrogate.test(v)) return 'string value must be valid Unicode (it contains an unpaired surrogate)';
      return undefined;
    case 'object': {
      if (v === null) return 'value must not be null';
      // Transports check parsed JSON already (json.ts); this keeps the stringify below safe for any caller.
      const problem = jsonProblem(v);
      if (problem !== undefined) return problem;
      if (Buffer.byteLength(JSON.stringify(v)) > maxValueBytes) return `JSON value is larger than ${maxValueBytes} bytes`;
      return undefined;
    }
    case 'undefined':
    case 'bigint':
    case 'symbol':
    case 'function':
      return 'value must be a number, string, boolean or JSON object';
  }
}

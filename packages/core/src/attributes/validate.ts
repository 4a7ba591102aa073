import { fail } from '../errors';
import { keyProblem, valueProblem } from '../telemetry/decode';
import type { AttributeValue } from './model';

/** What an attribute key and value may be: the telemetry rules (telemetry.maxKeyLength, telemetry.maxValueBytes). */
export interface AttributeValueLimits {
  maxKeyLength: number;
  maxValueBytes: number;
  /** Also bounds how many keys one request may name. */
  maxKeysPerDevice: number;
}

const invalid = (problem: string, path: string): never => fail('ATTRIBUTES_INVALID', `${path}: ${problem}`, { path });

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function entries(input: unknown, limits: AttributeValueLimits, path: string): [string, unknown][] {
  if (!isPlainObject(input)) return invalid('expected a JSON object of key/value pairs', path);
  const all = Object.entries(input);
  if (all.length > limits.maxKeysPerDevice) invalid(`more than ${limits.maxKeysPerDevice} keys in one request`, path);
  for (const [key] of all) {
    const problem = keyProblem(key, limits.maxKeyLength);
    // Named by the object holding it: a refused key may be unprintable or very long.
    if (problem !== undefined) invalid(problem, path);
  }
  return all;
}

/** A plain object of key -> value, as a device reports it or a user sets it; throws ATTRIBUTES_INVALID naming the first problem. */
export function attributeValues(input: unknown, limits: AttributeValueLimits): Record<string, AttributeValue> {
  const out: [string, AttributeValue][] = [];
  for (const [key, value] of entries(input, limits, '$')) {
    const problem = valueProblem(value, limits.maxValueBytes);
    if (problem !== undefined) invalid(problem, `$.${key}`);
    out.push([key, value as AttributeValue]);
  }
  // fromEntries defines own properties: a key such as "__proto__" (MQTT payloads are parsed by JSON.parse) stays a key.
  return Object.fromEntries(out);
}

/** A desired-state patch: key -> value, or null to delete the key. */
export function desiredPatch(input: unknown, limits: AttributeValueLimits): { set: Record<string, AttributeValue>; delete: string[] } {
  const set: [string, AttributeValue][] = [];
  const del: string[] = [];
  for (const [key, value] of entries(input, limits, '$.desired')) {
    if (value === null) {
      del.push(key);
      continue;
    }
    const problem = valueProblem(value, limits.maxValueBytes);
    if (problem !== undefined) invalid(problem, `$.desired.${key}`);
    set.push([key, value as AttributeValue]);
  }
  return { set: Object.fromEntries(set), delete: del };
}

/** Keys to read or delete: each follows the key rules, duplicates count once, at most maxKeysPerDevice. */
export function attributeKeys(keys: readonly string[], limits: AttributeValueLimits): string[] {
  const unique = [...new Set(keys)];
  if (unique.length > limits.maxKeysPerDevice) invalid(`more than ${limits.maxKeysPerDevice} keys in one request`, 'keys');
  for (const key of unique) {
    const problem = keyProblem(key, limits.maxKeyLength);
    if (problem !== undefined) invalid(problem, 'keys');
  }
  return unique;
}

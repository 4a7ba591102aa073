import { keyProblem } from '../../telemetry/decode';

/**
 * What a rule asks an analyser to compute over one telemetry key of one device. Every window type keeps a fixed
 * 60 buckets of windowMs / 60 each: the window of `value(now)` is the 60 buckets ending with the one holding `now`,
 * i.e. (now - windowMs, now] rounded to bucket edges (it reaches back between windowMs - windowMs / 60 and windowMs),
 * and the results are exact over those buckets. Points must arrive in time order: a point older than the newest one
 * seen is ignored, as is a point whose time or value is not a finite number.
 */
export type AnalyticSpec =
  /**
   * An aggregate of the key over the window. `avg`, `min`, `max`, `sum`, `first` (the oldest value), `last` (the
   * newest), `delta` (last - first), `stddev` (the sample standard deviation, n - 1) are in the key's units and null
   * on an empty window (`stddev` also with fewer than 2 points); `count` is the number of points, 0 on an empty window.
   */
  | { type: 'window'; key: string; windowMs: number; fn: 'avg' | 'min' | 'max' | 'sum' | 'count' | 'delta' | 'first' | 'last' | 'stddev' }
  /**
   * A time-aware exponentially weighted moving average: each point x at dt ms after the previous one moves the
   * average by alpha = 1 - 2^(-dt / halfLifeMs) towards x (the first point sets it), so a value half a half-life old
   * weighs as much as it would at any sampling rate. A point at the same ms as the previous one has dt = 0 and no
   * effect. In the key's units; null before the first point; it does not decay between points.
   */
  | { type: 'ewma'; key: string; halfLifeMs: number }
  /**
   * The rolling z-score of the newest point in the window: (last - mean) / stddev over the window (sample stddev,
   * the newest point included). Unitless; null with fewer than 2 points or a stddev of 0.
   */
  | { type: 'zscore'; key: string; windowMs: number }
  /**
   * The anomaly score of the newest point: |x - ewma| / ewm stddev, both taken BEFORE x updated them (the
   * exponentially weighted variance, same alpha as `ewma`). Unitless (standard deviations); null until the
   * history before the newest point has a non-zero variance (at least 3 points).
   */
  | { type: 'ewma-anomaly'; key: string; halfLifeMs: number }
  /**
   * The slope of the least-squares line through the window's points, in key units per perMs ms (default 60 000:
   * per minute). Null with fewer than 2 points or when they all share one timestamp.
   */
  | { type: 'rate'; key: string; windowMs: number; perMs?: number }
  /** The window's least-squares line evaluated at now + horizonMs, in the key's units; null as for `rate`. */
  | { type: 'forecast'; key: string; windowMs: number; horizonMs: number }
  /**
   * Milliseconds from now until the window's least-squares line reaches threshold. Null when it never will: the
   * slope is 0 (or undefined, as for `rate`), or the line moves away from threshold (it crossed it before now).
   * 0 when the newest point is already at or past threshold while the line still approaches it. It is a
   * prediction: pair it with a condition on the value itself to catch a value that is already beyond threshold.
   */
  | { type: 'until'; key: string; windowMs: number; threshold: number };

export const analyticTypes: readonly AnalyticSpec['type'][] = ['window', 'ewma', 'zscore', 'ewma-anomaly', 'rate', 'forecast', 'until'];

export const windowFns: readonly Extract<AnalyticSpec, { type: 'window' }>['fn'][] = ['avg', 'min', 'max', 'sum', 'count', 'delta', 'first', 'last', 'stddev'];

export const analyticLimits = {
  /** 1 s to 7 days: under a second, 60 buckets would be finer than the timestamps' ms. */
  minWindowMs: 1000,
  maxWindowMs: 604_800_000,
  minHalfLifeMs: 1000,
  maxHalfLifeMs: 604_800_000,
  maxHorizonMs: 604_800_000,
  maxPerMs: 604_800_000,
  /** The largest telemetry key length the config allows (telemetry.maxKeyLength). */
  maxKeyLength: 1024,
} as const;

/** How many half-lives of history warm an EWMA up: what is older weighs 2^-5, about 3 %. */
export const ewmaWarmupHalfLives = 5;

/** Longest history (ms) an analyser needs to be recomputed from stored telemetry after a restart. */
export function warmupMs(spec: AnalyticSpec): number {
  return spec.type === 'ewma' || spec.type === 'ewma-anomaly' ? ewmaWarmupHalfLives * spec.halfLifeMs : spec.windowMs;
}

type Problem = { path: string; message: string };
type Check = (value: unknown) => string | undefined;

function integer(min: number, max: number): Check {
  return (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? undefined : `must be an integer between ${min} and ${max}`);
}
const finite: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? undefined : 'must be a finite number');
const key: Check = (v) => (typeof v === 'string' ? keyProblem(v, analyticLimits.maxKeyLength) : 'must be a string (a telemetry key)');
const windowMs = integer(analyticLimits.minWindowMs, analyticLimits.maxWindowMs);
const halfLifeMs = integer(analyticLimits.minHalfLifeMs, analyticLimits.maxHalfLifeMs);
const fn: Check = (v) => (typeof v === 'string' && (windowFns as readonly string[]).includes(v) ? undefined : `must be one of ${windowFns.join(', ')}`);

/** The fields of each type, required unless marked optional; a field not listed is refused. */
const fields: Record<AnalyticSpec['type'], Record<string, { check: Check; optional?: true }>> = {
  window: { key: { check: key }, windowMs: { check: windowMs }, fn: { check: fn } },
  ewma: { key: { check: key }, halfLifeMs: { check: halfLifeMs } },
  zscore: { key: { check: key }, windowMs: { check: windowMs } },
  'ewma-anomaly': { key: { check: key }, halfLifeMs: { check: halfLifeMs } },
  rate: { key: { check: key }, windowMs: { check: windowMs }, perMs: { check: integer(1, analyticLimits.maxPerMs), optional: true } },
  forecast: { key: { check: key }, windowMs: { check: windowMs }, horizonMs: { check: integer(0, analyticLimits.maxHorizonMs) } },
  until: { key: { check: key }, windowMs: { check: windowMs }, threshold: { check: finite } },
};

/**
 * Every problem of a spec, each at the JSON pointer of its field under `path` (e.g. `/analytics/score/windowMs`);
 * an empty list when the spec is an AnalyticSpec.
 */
export function validateAnalyticSpec(spec: unknown, path: string): Problem[] {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return [{ path, message: 'must be an object' }];
  const record = spec as Record<string, unknown>;
  const type = record['type'];
  if (typeof type !== 'string' || !(analyticTypes as readonly string[]).includes(type)) {
    return [{ path: `${path}/type`, message: `must be one of ${analyticTypes.join(', ')}` }];
  }
  const known = fields[type as AnalyticSpec['type']];
  const problems: Problem[] = [];
  for (const [name, field] of Object.entries(known)) {
    const value = record[name];
    if (value === undefined) {
      if (field.optional !== true) problems.push({ path: `${path}/${name}`, message: `is required for type ${type}` });
      continue;
    }
    const message = field.check(value);
    if (message !== undefined) problems.push({ path: `${path}/${name}`, message });
  }
  for (const name of Object.keys(record)) {
    if (name !== 'type' && !Object.hasOwn(known, name)) problems.push({ path: `${path}/${name}`, message: `is not a field of type ${type}` });
  }
  return problems;
}

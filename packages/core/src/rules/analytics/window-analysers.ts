import { BucketWindow } from './bucket-window';
import type { MomentField, Moments } from './moments';
import type { AnalyticSpec } from './spec';

type WindowSpec = Extract<AnalyticSpec, { windowMs: number }>;

/**
 * The least-squares line through the window's points: x = mean + slope * (t - tMean). It keeps tMean as
 * origin + mt and measures a time from it as (t - origin) - mt, so ms since the epoch (1.7e12) never meet the
 * small offsets in one rounding.
 */
export interface Line {
  slope: number;
  mean: number;
  /** The window's time origin and the points' mean time from it. */
  origin: number;
  mt: number;
}

/** ms from the line's mean time to t. */
export function sinceMean(line: Line, t: number): number {
  return t - line.origin - line.mt;
}

export function lineOf(m: Moments, origin: number): Line | null {
  if (m.n < 2 || !(m.m2t > 0)) return null;
  return { slope: m.c / m.m2t, mean: m.mx, origin, mt: m.mt };
}

export function sampleStddev(m: Moments): number | null {
  return m.n < 2 || !(m.m2x > 0) ? null : Math.sqrt(m.m2x / (m.n - 1));
}

/** Milliseconds from `now` until `line` reaches `threshold` (see the `until` spec). */
export function untilThreshold(line: Line, now: number, threshold: number, latest: number): number | null {
  if (line.slope === 0) return null;
  const fromNow = (threshold - line.mean) / line.slope - sinceMean(line, now);
  // Crossed before now: the line moves away from threshold and never reaches it again.
  if (!Number.isFinite(fromNow) || fromNow < 0) return null;
  const reached = line.slope > 0 ? latest >= threshold : latest <= threshold;
  return reached ? 0 : fromNow;
}

function windowFn(fn: Extract<AnalyticSpec, { type: 'window' }>['fn'], m: Moments): number | null {
  if (fn === 'count') return m.n;
  if (m.n === 0) return null;
  switch (fn) {
    case 'avg':
      return m.mx;
    case 'min':
      return m.min;
    case 'max':
      return m.max;
    case 'sum':
      return m.sum;
    case 'first':
      return m.first;
    case 'last':
      return m.last;
    case 'delta':
      return m.last - m.first;
    case 'stddev':
      return sampleStddev(m);
  }
}

const fnFields: Record<Extract<AnalyticSpec, { type: 'window' }>['fn'], MomentField[]> = {
  avg: ['n', 'mx'],
  min: ['n', 'min'],
  max: ['n', 'max'],
  sum: ['n', 'sum'],
  count: ['n'],
  delta: ['n', 'first', 'last'],
  first: ['n', 'first'],
  last: ['n', 'last'],
  stddev: ['n', 'mx', 'm2x'],
};

/** The moment fields each window spec reads, so its snapshot holds only those (and what updating them needs). */
export function fieldsOf(spec: WindowSpec): MomentField[] {
  const line: MomentField[] = ['n', 'mx', 'mt', 'm2t', 'c'];
  switch (spec.type) {
    case 'window':
      return fnFields[spec.fn];
    case 'zscore':
      return ['n', 'mx', 'm2x', 'last'];
    case 'rate':
    case 'forecast':
      return line;
    case 'until':
      return [...line, 'last'];
  }
}

/** The output of a window spec from its window's summary at `now`. */
export function windowOutput(spec: WindowSpec, m: Moments, origin: number, now: number): number | null {
  switch (spec.type) {
    case 'window':
      return windowFn(spec.fn, m);
    case 'zscore': {
      const sd = sampleStddev(m);
      return sd === null ? null : (m.last - m.mx) / sd;
    }
    case 'rate': {
      const line = lineOf(m, origin);
      return line === null ? null : line.slope * (spec.perMs ?? 60_000);
    }
    case 'forecast': {
      const line = lineOf(m, origin);
      return line === null ? null : line.mean + line.slope * sinceMean(line, now + spec.horizonMs);
    }
    case 'until': {
      const line = lineOf(m, origin);
      return line === null ? null : untilThreshold(line, now, spec.threshold, m.last);
    }
  }
}

export function createWindowAnalyser(
  spec: WindowSpec,
  state: unknown,
): { update(ts: number, x: number): void; value(now: number): number | null; state(): unknown } {
  const window = new BucketWindow(spec.windowMs);
  const fields = fieldsOf(spec);
  if (state !== undefined) window.restore(state, fields);
  return {
    update: (ts, x) => void window.add(ts, x),
    value: (now) => windowOutput(spec, window.summary(now), window.timeOrigin, now),
    state: () => window.snapshot(fields),
  };
}

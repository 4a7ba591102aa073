import { bucketsPerWindow } from './bucket-window';
import type { AnalyticSpec } from './spec';

/**
 * Test-only references: every output recomputed from all the points kept in a list, with two-pass formulas and
 * closed forms, independent of the streaming code's moments and recurrences.
 */
export interface Point {
  ts: number;
  x: number;
}

/** The points a bucketed window holds at `now`: those in the `bucketsPerWindow` buckets ending with now's. */
export function inWindow(points: readonly Point[], windowMs: number, now: number): Point[] {
  const bucket = (ts: number): number => Math.floor((ts * bucketsPerWindow) / windowMs);
  const kNow = bucket(now);
  return points.filter((p) => bucket(p.ts) <= kNow && bucket(p.ts) > kNow - bucketsPerWindow);
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function stddev(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  const ss = xs.reduce((a, x) => a + (x - m) ** 2, 0);
  return ss > 0 ? Math.sqrt(ss / (xs.length - 1)) : null;
}

/** slope and the line's value at `t`, by the two-pass least-squares formulas. */
function line(ps: readonly Point[]): { slope: number; at(t: number): number } | null {
  if (ps.length < 2) return null;
  const t0 = ps[0]?.ts ?? 0;
  const tm = mean(ps.map((p) => p.ts - t0));
  const xm = mean(ps.map((p) => p.x));
  let stt = 0;
  let stx = 0;
  for (const p of ps) {
    stt += (p.ts - t0 - tm) ** 2;
    stx += (p.ts - t0 - tm) * (p.x - xm);
  }
  if (stt === 0) return null;
  const slope = stx / stt;
  return { slope, at: (t) => xm + slope * (t - t0 - tm) };
}

export function naiveWindowOutput(spec: Extract<AnalyticSpec, { windowMs: number }>, points: readonly Point[], now: number): number | null {
  const ps = inWindow(points, spec.windowMs, now);
  const xs = ps.map((p) => p.x);
  const last = xs[xs.length - 1];
  if (spec.type === 'window' && spec.fn === 'count') return xs.length;
  if (last === undefined) return null;
  switch (spec.type) {
    case 'window': {
      const first = xs[0] ?? 0;
      const fns = {
        avg: () => mean(xs),
        min: () => Math.min(...xs),
        max: () => Math.max(...xs),
        sum: () => xs.reduce((a, b) => a + b, 0),
        count: () => xs.length,
        first: () => first,
        last: () => last,
        delta: () => last - first,
        stddev: () => stddev(xs),
      };
      return fns[spec.fn]();
    }
    case 'zscore': {
      const sd = stddev(xs);
      return sd === null ? null : (last - mean(xs)) / sd;
    }
    case 'rate': {
      const l = line(ps);
      return l === null ? null : l.slope * (spec.perMs ?? 60_000);
    }
    case 'forecast':
      return line(ps)?.at(now + spec.horizonMs) ?? null;
    case 'until': {
      const l = line(ps);
      if (l === null || l.slope === 0) return null;
      const fromNow = (spec.threshold - l.at(now)) / l.slope;
      if (fromNow < 0) return null;
      return (l.slope > 0 ? last >= spec.threshold : last <= spec.threshold) ? 0 : fromNow;
    }
  }
}

/**
 * The EWMA's closed form: with alpha_i = 1 - 2^(-(t_i - t_(i-1)) / h) (alpha_0 = 1), point i weighs
 * alpha_i * 2^(-(t_n - t_i) / h); the weights sum to 1. Mean and (population) variance are the weighted ones.
 */
export function naiveEwm(points: readonly Point[], halfLifeMs: number): { mean: number; variance: number } | null {
  const newest = points[points.length - 1];
  if (newest === undefined) return null;
  let m = 0;
  const weights = points.map((p, i) => {
    const prev = points[i - 1];
    const alpha = prev === undefined ? 1 : 1 - 2 ** (-(p.ts - prev.ts) / halfLifeMs);
    return alpha * 2 ** (-(newest.ts - p.ts) / halfLifeMs);
  });
  points.forEach((p, i) => (m += (weights[i] ?? 0) * p.x));
  let v = 0;
  points.forEach((p, i) => (v += (weights[i] ?? 0) * (p.x - m) ** 2));
  return { mean: m, variance: v };
}

export function naiveEwmaAnomaly(points: readonly Point[], halfLifeMs: number): number | null {
  const newest = points[points.length - 1];
  const before = naiveEwm(points.slice(0, -1), halfLifeMs);
  if (newest === undefined || before === null || !(before.variance > 0)) return null;
  return Math.abs(newest.x - before.mean) / Math.sqrt(before.variance);
}

/** A seeded stream in time order: regular stretches, bursts (several points a ms), and gaps past the window. */
export function stream(rand: () => number, count: number, windowMs: number, start = 1_700_000_000_000): Point[] {
  const out: Point[] = [];
  let ts = start;
  let level = 20;
  while (out.length < count) {
    const mode = rand();
    const run = 1 + Math.floor(rand() * 40);
    for (let i = 0; i < run && out.length < count; i++) {
      if (mode < 0.5) ts += 1 + Math.floor((rand() * windowMs) / 20);
      else if (mode < 0.8) ts += Math.floor(rand() * 2);
      else if (i === 0) ts += windowMs + Math.floor(rand() * windowMs * 2);
      else ts += 1 + Math.floor(rand() * 50);
      level += (rand() - 0.5) * 2;
      out.push({ ts, x: level + (rand() - 0.5) * 3 });
    }
  }
  return out;
}

/**
 * Asserts closeness with a message of its own: node's assert.ok without one re-parses the test's source to
 * describe the call, which takes minutes on the single line tsx compiles a file to.
 */
export function assertClose(actual: number | null, expected: number | null, rel: number, what: string): void {
  if (!close(actual, expected, rel)) throw new Error(`${what}: ${actual} != ${expected} (relative tolerance ${rel})`);
}

export function close(actual: number | null, expected: number | null, rel = 1e-9): boolean {
  if (actual === null || expected === null) return actual === expected;
  return Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(actual), Math.abs(expected));
}

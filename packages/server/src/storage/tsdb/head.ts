import type { Aggregation, TelemetryValue, TimedValue } from '@thingstead/core';

/**
 * A series' points not yet folded into chunks, sorted by ts with one value per ts, and the range of log
 * records they came from (the log segments holding them are kept until the head is flushed).
 */
export interface Head {
  ts: number[];
  values: TelemetryValue[];
  firstLsn: number;
  lastLsn: number;
  /** Some point is at or before the newest flushed ts: flushing merges into chunks, and rollups are not trusted. */
  ooo: boolean;
}

/** The first index whose ts is >= t (arr sorted ascending). */
export function lowerBound(arr: readonly number[], t: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Puts a point in the head; true when it replaced a value of the same ts there. */
export function headInsert(h: Head, ts: number, value: TelemetryValue): boolean {
  const n = h.ts.length;
  if (n === 0 || ts > (h.ts[n - 1] as number)) {
    h.ts.push(ts);
    h.values.push(value);
    return false;
  }
  const i = lowerBound(h.ts, ts);
  if (h.ts[i] === ts) {
    h.values[i] = value;
    return true;
  }
  h.ts.splice(i, 0, ts);
  h.values.splice(i, 0, value);
  return false;
}

/** Merges two sorted runs of points; on equal ts the value of `b` wins (b is newer). */
export function mergeRuns(
  a: { ts: readonly number[]; values: readonly TelemetryValue[] },
  b: { ts: readonly number[]; values: readonly TelemetryValue[] },
): { ts: number[]; values: TelemetryValue[]; replaced: number } {
  const ts: number[] = [];
  const values: TelemetryValue[] = [];
  let i = 0;
  let j = 0;
  let replaced = 0;
  while (i < a.ts.length || j < b.ts.length) {
    const ta = i < a.ts.length ? (a.ts[i] as number) : Infinity;
    const tb = j < b.ts.length ? (b.ts[j] as number) : Infinity;
    if (ta < tb) {
      ts.push(ta);
      values.push(a.values[i++] as TelemetryValue);
    } else {
      if (ta === tb) {
        i++;
        replaced++;
      }
      ts.push(tb);
      values.push(b.values[j++] as TelemetryValue);
    }
  }
  return { ts, values, replaced };
}

/** min/max/sum over numbers, count over every value: an aggregate that merges. */
export interface Partial {
  n: number;
  nn: number;
  sum: number;
  min: number;
  max: number;
}

export const emptyPartial = (): Partial => ({ n: 0, nn: 0, sum: 0, min: Infinity, max: -Infinity });

export function addValue(p: Partial, v: TelemetryValue): void {
  p.n++;
  if (typeof v === 'number') {
    p.nn++;
    p.sum += v;
    if (v < p.min) p.min = v;
    if (v > p.max) p.max = v;
  }
}

export function addPartial(p: Partial, q: { n: number; nn: number; sum: number; min: number | null; max: number | null }): void {
  p.n += q.n;
  p.nn += q.nn;
  p.sum += q.sum;
  if (q.nn > 0) {
    if ((q.min as number) < p.min) p.min = q.min as number;
    if ((q.max as number) > p.max) p.max = q.max as number;
  }
}

/** The per-hour partial aggregates of sorted points ts[i0..i1). */
export function hourPartials(ts: readonly number[], values: readonly TelemetryValue[], i0: number, i1: number, hourMs: number): (Partial & { hour: number })[] {
  const out: (Partial & { hour: number })[] = [];
  let cur: (Partial & { hour: number }) | undefined;
  for (let i = i0; i < i1; i++) {
    const hour = Math.floor((ts[i] as number) / hourMs) * hourMs;
    if (cur?.hour !== hour) {
      cur = { ...emptyPartial(), hour };
      out.push(cur);
    }
    addValue(cur, values[i] as TelemetryValue);
  }
  return out;
}

/** Interval buckets [from + k*interval, from + (k+1)*interval) of partial aggregates. */
export class Buckets {
  private readonly b = new Map<number, Partial>();

  constructor(
    private readonly from: number,
    private readonly intervalMs: number,
  ) {}

  private at(ts: number): Partial {
    const k = Math.floor((ts - this.from) / this.intervalMs);
    let p = this.b.get(k);
    if (!p) this.b.set(k, (p = emptyPartial()));
    return p;
  }

  value(ts: number, v: TelemetryValue): void {
    addValue(this.at(ts), v);
  }

  partial(ts: number, q: { n: number; nn: number; sum: number; min: number | null; max: number | null }): void {
    addPartial(this.at(ts), q);
  }

  /** The first `limit` buckets with data (numbers, except for count), ascending, each at its start. */
  result(agg: Exclude<Aggregation, 'none'>, limit: number): TimedValue[] {
    const out: TimedValue[] = [];
    for (const k of [...this.b.keys()].sort((x, y) => x - y)) {
      if (out.length >= limit) break;
      const p = this.b.get(k) as Partial;
      const ts = this.from + k * this.intervalMs;
      if (agg === 'count') out.push({ ts, value: p.n });
      else if (p.nn > 0) out.push({ ts, value: agg === 'avg' ? p.sum / p.nn : agg === 'sum' ? p.sum : agg === 'min' ? p.min : p.max });
    }
    return out;
  }
}

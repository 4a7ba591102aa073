// Time-range maths for the device charts: what to ask the server for a range (raw values for short ranges, server
// side aggregation into about `targetPoints` buckets for long ones, so a year stays a few hundred points), and the
// columns uPlot draws (one shared, sorted time axis in seconds; a key without a value at a time is a gap).

export const ranges = [
  { id: '15m', label: 'Last 15 min', ms: 15 * 60_000 },
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '6h', label: 'Last 6 h', ms: 6 * 3_600_000 },
  { id: '24h', label: 'Last 24 h', ms: 86_400_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const;
export type RangeId = (typeof ranges)[number]['id'];

/** Ranges up to this are drawn from raw values (at most `rawLimit` per key); longer ones as per-bucket averages. */
export const rawUpToMs = 3_600_000;
export const rawLimit = 10_000;
export const targetPoints = 600;

export interface SeriesQuery {
  from: number;
  to: number;
  agg: 'none' | 'avg';
  interval: number | null;
  limit: number;
}

export function queryFor(rangeMs: number, now: number): SeriesQuery {
  const from = now - rangeMs;
  const to = now + 1;
  if (rangeMs <= rawUpToMs) return { from, to, agg: 'none', interval: null, limit: rawLimit };
  const interval = Math.max(1000, Math.ceil(rangeMs / targetPoints / 1000) * 1000);
  return { from, to, agg: 'avg', interval, limit: Math.ceil(rangeMs / interval) + 1 };
}

export function queryString(deviceId: string, keys: readonly string[], q: SeriesQuery): string {
  const p = new URLSearchParams({ keys: keys.join(','), from: String(q.from), to: String(q.to), limit: String(q.limit), order: 'asc', agg: q.agg });
  if (q.interval !== null) p.set('interval', String(q.interval));
  return `/api/devices/${encodeURIComponent(deviceId)}/telemetry?${p.toString()}`;
}

export type Series = Record<string, { ts: number; value: unknown }[]>;

/** uPlot's aligned columns: [times in s, then each key's numbers or null], times sorted and unique. */
export function toColumns(data: Series, keys: readonly string[]): [number[], ...(number | null)[][]] {
  const times = [...new Set(keys.flatMap((k) => (data[k] ?? []).map((p) => p.ts)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = keys.map((k) => {
    const col: (number | null)[] = new Array<number | null>(times.length).fill(null);
    for (const p of data[k] ?? []) {
      const v = typeof p.value === 'number' ? p.value : typeof p.value === 'boolean' ? Number(p.value) : null;
      const i = index.get(p.ts);
      if (i !== undefined) col[i] = v;
    }
    return col;
  });
  return [times.map((t) => t / 1000), ...columns];
}

/** Appends live values to raw series (newer than the last held), dropping what fell out of the range's start. */
export function appendLive(data: Series, values: Record<string, { ts: number; value: unknown }>, from: number): Series {
  let out = data;
  for (const [k, v] of Object.entries(values)) {
    const held = out[k];
    if (!held) continue;
    const last = held[held.length - 1];
    if (last && last.ts >= v.ts) continue;
    if (out === data) out = { ...data };
    out[k] = [...held.filter((p) => p.ts >= from), v];
  }
  return out;
}

// Small statistics helpers shared by the ingest benchmarks.

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** The q-quantile (0..1) of the first `n` samples; sorts them in place. */
export function quantile(samples: Float64Array, n: number, q: number): number {
  if (n === 0) return Number.NaN;
  const s = samples.subarray(0, n).sort();
  return s[Math.min(n - 1, Math.floor(q * n))]!;
}

/** 1234567.8 -> "1,234,568". */
export const fmtInt = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
/** Milliseconds with 2 decimals below 10, 1 decimal below 100, none above. */
export const fmtMs = (v: number): string => (!Number.isFinite(v) ? 'n/a' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
export const fmtPct = (v: number): string => (Number.isFinite(v) ? `${Math.round(v)}%` : 'n/a');

export function int(name: string, v: string | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
}

/** "a,b,c" -> items, each checked against `allowed` when given. */
export function list(name: string, v: string, allowed?: readonly string[]): string[] {
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new Error(`--${name} must not be empty`);
  if (allowed) for (const s of items) if (!allowed.includes(s)) throw new Error(`--${name}: unknown ${s}; known: ${allowed.join(', ')}`);
  return items;
}

export function intList(name: string, v: string, min = 0): number[] {
  return list(name, v).map((s) => int(name, s, 0, min));
}

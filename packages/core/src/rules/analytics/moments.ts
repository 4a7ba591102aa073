/**
 * The summary of a set of points (t, x) that windows keep per bucket and merge per query. Variances and the
 * t-x co-moment are kept centred (Welford's update for one point, Chan et al.'s formula to merge two sets), not as
 * raw sums of squares: with values around 1e9 and a tiny spread, sum(x^2) - sum(x)^2 / n cancels every significant
 * digit, the centred form keeps them. t is relative to the window's origin so its mean stays small and precise.
 *
 * Windows keep their summaries packed in a Float64Array, `fieldCount` doubles each at an offset (the functions
 * below take the array and the offset): 60 buckets of a window are then one block of memory instead of 660 boxed
 * numbers, which made a query over a window of 1,000 devices several times slower. `Moments` is the unpacked form
 * a query answers with.
 */
export interface Moments {
  n: number;
  sum: number;
  /** Mean of x. */
  mx: number;
  /** Sum of squared deviations of x from mx. */
  m2x: number;
  /** Mean of t. */
  mt: number;
  /** Sum of squared deviations of t from mt. */
  m2t: number;
  /** Sum of (t - mt)(x - mx): the co-moment the least-squares slope is made of. */
  c: number;
  min: number;
  max: number;
  /** x of the earliest point, and of the latest. */
  first: number;
  last: number;
}

/** The fields in their packed order: field i of the summary at offset o is a[o + i]. */
export const momentFields = ['n', 'sum', 'mx', 'm2x', 'mt', 'm2t', 'c', 'min', 'max', 'first', 'last'] as const;
export type MomentField = (typeof momentFields)[number];
export const fieldCount = momentFields.length;
export const fieldIndex = Object.fromEntries(momentFields.map((f, i) => [f, i])) as Record<MomentField, number>;

const N = 0,
  SUM = 1,
  MX = 2,
  M2X = 3,
  MT = 4,
  M2T = 5,
  C = 6,
  MIN = 7,
  MAX = 8,
  FIRST = 9,
  LAST = 10;

export function emptyMoments(): Moments {
  return { n: 0, sum: 0, mx: 0, m2x: 0, mt: 0, m2t: 0, c: 0, min: Infinity, max: -Infinity, first: 0, last: 0 };
}

/** Packed summaries for `count` sets, each empty. */
export function packedMoments(count: number): Float64Array {
  const a = new Float64Array(count * fieldCount);
  for (let i = 0; i < count; i++) reset(a, i * fieldCount);
  return a;
}

/** Empties the summary at `o`. */
export function reset(a: Float64Array, o: number): void {
  a.fill(0, o, o + fieldCount);
  a[o + MIN] = Infinity;
  a[o + MAX] = -Infinity;
}

/** Adds one point, later than every point already in the summary at `o`. */
export function addPoint(a: Float64Array, o: number, t: number, x: number): void {
  const n = (a[o + N] as number) + 1;
  a[o + N] = n;
  const mx = a[o + MX] as number;
  const mt = a[o + MT] as number;
  const dx = x - mx;
  const dt = t - mt;
  const mxAfter = mx + dx / n;
  const mtAfter = mt + dt / n;
  a[o + MX] = mxAfter;
  a[o + MT] = mtAfter;
  const dxAfter = x - mxAfter;
  a[o + M2X] = (a[o + M2X] as number) + dx * dxAfter;
  a[o + M2T] = (a[o + M2T] as number) + dt * (t - mtAfter);
  a[o + C] = (a[o + C] as number) + dt * dxAfter;
  a[o + SUM] = (a[o + SUM] as number) + x;
  if (x < (a[o + MIN] as number)) a[o + MIN] = x;
  if (x > (a[o + MAX] as number)) a[o + MAX] = x;
  if (n === 1) a[o + FIRST] = x;
  a[o + LAST] = x;
}

/** Copies the summary at b[bo] over a[ao]. */
export function copy(a: Float64Array, ao: number, b: Float64Array, bo: number): void {
  for (let i = 0; i < fieldCount; i++) a[ao + i] = b[bo + i] as number;
}

/** Merges the summary at b[bo] into a[ao]; every point of b is later than every point of a. */
export function merge(a: Float64Array, ao: number, b: Float64Array, bo: number): void {
  const bn = b[bo + N] as number;
  if (bn === 0) return;
  const an = a[ao + N] as number;
  if (an === 0) {
    copy(a, ao, b, bo);
    return;
  }
  const n = an + bn;
  const dx = (b[bo + MX] as number) - (a[ao + MX] as number);
  const dt = (b[bo + MT] as number) - (a[ao + MT] as number);
  const w = (an * bn) / n;
  a[ao + M2X] = (a[ao + M2X] as number) + (b[bo + M2X] as number) + dx * dx * w;
  a[ao + M2T] = (a[ao + M2T] as number) + (b[bo + M2T] as number) + dt * dt * w;
  a[ao + C] = (a[ao + C] as number) + (b[bo + C] as number) + dt * dx * w;
  a[ao + MX] = (a[ao + MX] as number) + (dx * bn) / n;
  a[ao + MT] = (a[ao + MT] as number) + (dt * bn) / n;
  a[ao + N] = n;
  a[ao + SUM] = (a[ao + SUM] as number) + (b[bo + SUM] as number);
  a[ao + MIN] = Math.min(a[ao + MIN] as number, b[bo + MIN] as number);
  a[ao + MAX] = Math.max(a[ao + MAX] as number, b[bo + MAX] as number);
  a[ao + LAST] = b[bo + LAST] as number;
}

/** Unpacks the summary at a[o] into `m`. */
export function unpack(a: Float64Array, o: number, m: Moments): Moments {
  m.n = a[o + N] as number;
  m.sum = a[o + SUM] as number;
  m.mx = a[o + MX] as number;
  m.m2x = a[o + M2X] as number;
  m.mt = a[o + MT] as number;
  m.m2t = a[o + M2T] as number;
  m.c = a[o + C] as number;
  m.min = a[o + MIN] as number;
  m.max = a[o + MAX] as number;
  m.first = a[o + FIRST] as number;
  m.last = a[o + LAST] as number;
  return m;
}

/** Shifts the time origin of the summary at a[o] by `shift` ms (t' = t - shift): only the mean moves. */
export function shiftTime(a: Float64Array, o: number, shift: number): void {
  if ((a[o + N] as number) > 0) a[o + MT] = (a[o + MT] as number) - shift;
}

/**
 * The summary of a set of points (t, x) that windows keep per bucket and merge per query. Variances and the
 * t-x co-moment are kept centred (Welford's update for one point, Chan et al.'s formula to merge two sets), not as
 * raw sums of squares: with values around 1e9 and a tiny spread, sum(x^2) - sum(x)^2 / n cancels every significant
 * digit, the centred form keeps them. t is relative to the window's origin so its mean stays small and precise.
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

export const momentFields = ['n', 'sum', 'mx', 'm2x', 'mt', 'm2t', 'c', 'min', 'max', 'first', 'last'] as const;
export type MomentField = (typeof momentFields)[number];

export function emptyMoments(): Moments {
  return { n: 0, sum: 0, mx: 0, m2x: 0, mt: 0, m2t: 0, c: 0, min: Infinity, max: -Infinity, first: 0, last: 0 };
}

export function resetMoments(m: Moments): void {
  m.n = 0;
  m.sum = 0;
  m.mx = 0;
  m.m2x = 0;
  m.mt = 0;
  m.m2t = 0;
  m.c = 0;
  m.min = Infinity;
  m.max = -Infinity;
  m.first = 0;
  m.last = 0;
}

/** Adds one point, later than every point already in `m`. */
export function addPoint(m: Moments, t: number, x: number): void {
  m.n += 1;
  const dx = x - m.mx;
  const dt = t - m.mt;
  m.mx += dx / m.n;
  m.mt += dt / m.n;
  const dxAfter = x - m.mx;
  m.m2x += dx * dxAfter;
  m.m2t += dt * (t - m.mt);
  m.c += dt * dxAfter;
  m.sum += x;
  if (x < m.min) m.min = x;
  if (x > m.max) m.max = x;
  if (m.n === 1) m.first = x;
  m.last = x;
}

/** Merges `b` into `a`; every point of `b` is later than every point of `a`. */
export function mergeInto(a: Moments, b: Moments): void {
  if (b.n === 0) return;
  if (a.n === 0) {
    Object.assign(a, b);
    return;
  }
  const n = a.n + b.n;
  const dx = b.mx - a.mx;
  const dt = b.mt - a.mt;
  const w = (a.n * b.n) / n;
  a.m2x += b.m2x + dx * dx * w;
  a.m2t += b.m2t + dt * dt * w;
  a.c += b.c + dt * dx * w;
  a.mx += (dx * b.n) / n;
  a.mt += (dt * b.n) / n;
  a.n = n;
  a.sum += b.sum;
  a.min = Math.min(a.min, b.min);
  a.max = Math.max(a.max, b.max);
  a.last = b.last;
}

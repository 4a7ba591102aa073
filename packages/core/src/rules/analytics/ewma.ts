import type { AnalyticSpec } from './spec';

type EwmaSpec = Extract<AnalyticSpec, { halfLifeMs: number }>;

interface EwmaState {
  halfLifeMs: number;
  n: number;
  /** Time of the newest point (0 while n = 0). */
  lastTs: number;
  mean: number;
  /** The exponentially weighted (population) variance. */
  variance: number;
  /** The anomaly score of the newest point, null while undefined. */
  score: number | null;
}

function isState(s: unknown, halfLifeMs: number): s is EwmaState {
  if (typeof s !== 'object' || s === null) return false;
  const r = s as Record<string, unknown>;
  const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
  return (
    r['halfLifeMs'] === halfLifeMs &&
    typeof r['n'] === 'number' &&
    Number.isInteger(r['n']) &&
    r['n'] >= 0 &&
    finite(r['lastTs']) &&
    finite(r['mean']) &&
    finite(r['variance']) &&
    (r['variance'] as number) >= 0 &&
    (r['score'] === null || finite(r['score']))
  );
}

/**
 * The time-aware EWMA and its variance (West 1979; Finch, "Incremental calculation of weighted mean and variance",
 * 2009, eq. 143): with d = x - mean, mean += alpha d and variance = (1 - alpha)(variance + alpha d^2). Both are
 * centred updates, so values around 1e9 with a tiny spread keep their digits. The ewma-anomaly score of x is taken
 * from mean and variance before x updated them.
 */
export function createEwmaAnalyser(
  spec: EwmaSpec,
  state: unknown,
): { update(ts: number, x: number): void; value(now: number): number | null; state(): unknown } {
  const s: EwmaState = isState(state, spec.halfLifeMs) ? { ...state } : { halfLifeMs: spec.halfLifeMs, n: 0, lastTs: 0, mean: 0, variance: 0, score: null };
  return {
    update(ts, x) {
      if (!Number.isFinite(ts) || !Number.isFinite(x) || (s.n > 0 && ts < s.lastTs)) return;
      if (s.n === 0) {
        Object.assign(s, { n: 1, lastTs: ts, mean: x, variance: 0, score: null });
        return;
      }
      const d = x - s.mean;
      s.score = s.variance > 0 ? Math.abs(d) / Math.sqrt(s.variance) : null;
      const alpha = 1 - 2 ** (-(ts - s.lastTs) / spec.halfLifeMs);
      s.mean += alpha * d;
      s.variance = (1 - alpha) * (s.variance + alpha * d * d);
      s.n += 1;
      s.lastTs = ts;
    },
    value() {
      if (s.n === 0) return null;
      return spec.type === 'ewma' ? s.mean : s.score;
    },
    state: () => ({ ...s }),
  };
}

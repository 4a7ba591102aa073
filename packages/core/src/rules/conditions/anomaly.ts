import { analysedNode, maxWindowMs } from './analysed';
import type { ConditionDef } from './types';

type Spec = { type: 'anomaly'; key: string; method: 'zscore' | 'ewma'; windowMs?: number; halfLifeMs?: number; threshold: number };

/** The key's anomaly score (|rolling z-score| over windowMs, or the EWMA-based score over halfLifeMs) is at least threshold. */
export const anomalyCondition: ConditionDef<Spec> = {
  type: 'anomaly',
  validate(o, path, c) {
    c.string(o.key, `${path}/key`);
    const m = c.oneOf(o.method, `${path}/method`, ['zscore', 'ewma'] as const);
    if (m === 'zscore') {
      if (o.windowMs === undefined) c.add(`${path}/windowMs`, 'is required for method zscore');
      c.integer(o.windowMs, `${path}/windowMs`, 1000, maxWindowMs, ' ms');
    }
    if (m === 'ewma') {
      if (o.halfLifeMs === undefined) c.add(`${path}/halfLifeMs`, 'is required for method ewma');
      c.integer(o.halfLifeMs, `${path}/halfLifeMs`, 1000, maxWindowMs, ' ms');
    }
    const t = c.number(o.threshold, `${path}/threshold`);
    if (t !== undefined && t <= 0) c.add(`${path}/threshold`, 'must be above 0');
  },
  build: (s) => () =>
    analysedNode(
      s.method === 'zscore'
        ? { type: 'zscore', key: s.key, windowMs: s.windowMs ?? 3_600_000 }
        : { type: 'ewma-anomaly', key: s.key, halfLifeMs: s.halfLifeMs ?? 3_600_000 },
      (v) => Math.abs(v) >= s.threshold,
    ),
  keys: (s) => [s.key],
  warmupMs: (s) => (s.method === 'zscore' ? (s.windowMs ?? 0) : 5 * (s.halfLifeMs ?? 0)),
};

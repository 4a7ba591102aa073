import { comparisons, type Comparison } from '../model';
import { analysedNode, comparing, maxWindowMs } from './analysed';
import type { ConditionDef } from './types';

type Spec = { type: 'forecast'; key: string; windowMs: number; horizonMs: number; op: Comparison; value: number };

/** The least-squares line of the key over windowMs, extended horizonMs ahead, compared with value ("above 80 within 30 min"). */
export const forecastCondition: ConditionDef<Spec> = {
  type: 'forecast',
  validate(o, path, c) {
    c.string(o.key, `${path}/key`);
    c.integer(o.windowMs, `${path}/windowMs`, 1000, maxWindowMs, ' ms');
    c.integer(o.horizonMs, `${path}/horizonMs`, 1, maxWindowMs, ' ms');
    c.oneOf(o.op, `${path}/op`, comparisons);
    c.number(o.value, `${path}/value`);
  },
  build: (s) => () => analysedNode({ type: 'forecast', key: s.key, windowMs: s.windowMs, horizonMs: s.horizonMs }, comparing(s.op, s.value)),
  keys: (s) => [s.key],
  warmupMs: (s) => s.windowMs,
};

import { comparisons, type Comparison } from '../model';
import { analysedNode, comparing, maxWindowMs } from './analysed';
import type { ConditionDef } from './types';

const fns = ['avg', 'min', 'max', 'sum', 'count', 'delta', 'stddev'] as const;
type Spec = { type: 'window'; key: string; fn: (typeof fns)[number]; windowMs: number; op: Comparison; value: number };

/** A window aggregate (avg, min, max, sum, count, delta = last - first, stddev) over the last windowMs, compared with value. */
export const windowCondition: ConditionDef<Spec> = {
  type: 'window',
  validate(o, path, c) {
    c.string(o.key, `${path}/key`);
    c.oneOf(o.fn, `${path}/fn`, fns);
    c.integer(o.windowMs, `${path}/windowMs`, 1000, maxWindowMs, ' ms');
    c.oneOf(o.op, `${path}/op`, comparisons);
    c.number(o.value, `${path}/value`);
  },
  build: (s) => () => analysedNode({ type: 'window', key: s.key, fn: s.fn, windowMs: s.windowMs }, comparing(s.op, s.value)),
  keys: (s) => [s.key],
  warmupMs: (s) => s.windowMs,
};

import { createAnalyser, type AnalyticSpec } from '../analytics';
import type { Comparison } from '../model';
import { compare } from './threshold';
import { numeric, type ConditionNode } from './types';

/**
 * A node over one analyser: each message carrying a numeric `key` feeds it (at the message's time), then the
 * analyser's value at the evaluation's time is tested. No value yet (too few points) is false.
 */
export function analysedNode(spec: AnalyticSpec, test: (v: number) => boolean): ConditionNode {
  const a = createAnalyser(spec);
  return {
    evaluate(x) {
      const v = numeric(x.message[spec.key]);
      if (v !== undefined) a.update(x.now, v);
      const out = a.value(x.now);
      return out !== null && test(out);
    },
  };
}

export function comparing(op: Comparison, value: number): (v: number) => boolean {
  return (v) => compare(v, op, value);
}

export const maxWindowMs = 30 * 86_400_000;

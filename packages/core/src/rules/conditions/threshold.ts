import { comparisons, type Comparison } from '../model';
import { numeric, type ConditionDef, type EvalContext } from './types';

type Spec = { type: 'threshold'; key: string; op: Comparison; value?: number; valueFrom?: string; hysteresis?: number };

export function compare(a: number, op: Comparison, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

/** A dotted path into the evaluation's context: "shared.moistureMin", "server.limits.max", "values.setpoint". */
export function lookup(x: EvalContext, path: string): unknown {
  const [head, ...rest] = path.split('.');
  let v: unknown = head === 'values' ? x.values : x.bindings[head ?? ''];
  for (const k of rest) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/**
 * key <op> threshold with hysteresis: once true, the condition holds until the value is `hysteresis` back on the
 * other side, so a value hovering at the threshold does not flap. A message without the key keeps the state.
 */
export const thresholdCondition: ConditionDef<Spec> = {
  type: 'threshold',
  validate(o, path, c) {
    c.string(o.key, `${path}/key`);
    c.oneOf(o.op, `${path}/op`, comparisons);
    c.number(o.value, `${path}/value`);
    c.string(o.valueFrom, `${path}/valueFrom`, 3, 256);
    if (typeof o.valueFrom === 'string' && !/^(shared|server|client|values)\.[^.]+(\.[^.]+)*$/.test(o.valueFrom)) {
      c.add(`${path}/valueFrom`, 'must be a path starting with shared., server., client. or values. (e.g. shared.moistureMin)');
    }
    if (o.value === undefined && o.valueFrom === undefined) c.add(`${path}/value`, 'is required (or valueFrom)');
    const h = c.number(o.hysteresis, `${path}/hysteresis`);
    if (h !== undefined && h < 0) c.add(`${path}/hysteresis`, 'must not be negative');
  },
  build(spec) {
    const h = spec.hysteresis ?? 0;
    return () => {
      let state = false;
      return {
        evaluate(x) {
          const v = numeric(x.values[spec.key]);
          const from = spec.valueFrom === undefined ? undefined : lookup(x, spec.valueFrom);
          const limit = typeof from === 'number' && Number.isFinite(from) ? from : spec.value;
          if (v === undefined || limit === undefined) return state;
          if (!state || h === 0) state = compare(v, spec.op, limit);
          else if (spec.op === '>' || spec.op === '>=') state = v > limit - h;
          else if (spec.op === '<' || spec.op === '<=') state = v < limit + h;
          else state = compare(v, spec.op, limit);
          return state;
        },
      };
    };
  },
  keys: (s) => [s.key],
  warmupMs: () => 0,
};

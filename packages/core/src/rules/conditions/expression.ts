import { notFast, truthy } from '../expressions';
import type { ConditionDef } from './types';

/** { type: 'expression', expression }: a JSONata expression over the values, with $device, $shared, $analytics ... */
export const expressionCondition: ConditionDef<{ type: 'expression'; expression: string }> = {
  type: 'expression',
  validate(o, path, c) {
    c.expression(o.expression, `${path}/expression`);
  },
  build(spec, env) {
    const expr = env.expression(spec.expression);
    return () => ({
      evaluate: (x) => {
        const v = expr.tryFast(x.values, x.bindings);
        return v === notFast ? expr.evaluate(x.values, x.bindings, x.now).then(truthy) : truthy(v);
      },
    });
  },
  keys: () => null,
  warmupMs: () => 0,
};

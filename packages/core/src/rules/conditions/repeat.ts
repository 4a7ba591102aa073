import type { ConditionSpec } from '../model';
import type { ConditionDef } from './types';

/** True when the inner condition was true on at least `count` evaluations within the last withinMs; keeps `count` times. */
export const repeatCondition: ConditionDef<{ type: 'repeat'; count: number; withinMs: number; condition: ConditionSpec }> = {
  type: 'repeat',
  validate(o, path, c, child) {
    c.integer(o.count, `${path}/count`, 1, 1000);
    c.integer(o.withinMs, `${path}/withinMs`, 1, 30 * 86_400_000, ' ms');
    child(o.condition, `${path}/condition`);
  },
  build(spec, env) {
    const inner = env.child(spec.condition);
    return () => {
      const node = inner();
      const times: number[] = [];
      return {
        async evaluate(x) {
          if (await node.evaluate(x)) {
            times.push(x.now);
            if (times.length > spec.count) times.shift();
          }
          while (times.length > 0 && x.now - (times[0] ?? 0) >= spec.withinMs) times.shift();
          return times.length >= spec.count;
        },
      };
    };
  },
  keys: (s, child) => child(s.condition),
  warmupMs: (s, child) => s.withinMs + child(s.condition),
};

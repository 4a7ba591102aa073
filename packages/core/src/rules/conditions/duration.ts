import type { ConditionSpec } from '../model';
import type { ConditionDef } from './types';

const maxMs = 30 * 86_400_000;

/** True once the inner condition has held for forMs; a timer fires the moment it elapses, so no message is needed then. */
export const durationCondition: ConditionDef<{ type: 'duration'; forMs: number; condition: ConditionSpec }> = {
  type: 'duration',
  validate(o, path, c, child) {
    c.integer(o.forMs, `${path}/forMs`, 1, maxMs, ' ms');
    child(o.condition, `${path}/condition`);
  },
  build(spec, env) {
    const inner = env.child(spec.condition);
    return () => {
      const node = inner();
      let since: number | null = null;
      return {
        async evaluate(x) {
          if (!(await node.evaluate(x))) {
            since = null;
            return false;
          }
          since ??= x.now;
          if (x.now - since >= spec.forMs) return true;
          x.wake(since + spec.forMs);
          return false;
        },
      };
    };
  },
  keys: (s, child) => child(s.condition),
  warmupMs: (s, child) => s.forMs + child(s.condition),
};

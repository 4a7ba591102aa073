import type { ConditionDef } from './types';

/**
 * True when no value of `key` (of any key, when absent) arrived for forMs. It learns the last arrival from the
 * device's latest values, so it also holds for a device that went silent before a restart; a timer fires it.
 */
export const nodataCondition: ConditionDef<{ type: 'nodata'; key?: string; forMs: number }> = {
  type: 'nodata',
  validate(o, path, c) {
    c.string(o.key, `${path}/key`);
    c.integer(o.forMs, `${path}/forMs`, 1000, 30 * 86_400_000, ' ms');
  },
  build(spec) {
    return () => {
      let last: number | null = null;
      return {
        evaluate(x) {
          const carried = spec.key === undefined ? Object.keys(x.message).length > 0 : Object.hasOwn(x.message, spec.key);
          if (carried) last = x.now;
          else if (last === null) {
            const ts = spec.key === undefined ? Math.max(-Infinity, ...Object.values(x.latestTs)) : x.latestTs[spec.key];
            if (ts !== undefined && Number.isFinite(ts)) last = ts;
          }
          if (last === null) return false;
          if (x.now - last >= spec.forMs) return true;
          x.wake(last + spec.forMs);
          return false;
        },
      };
    };
  },
  keys: (s) => (s.key === undefined ? null : [s.key]),
  warmupMs: () => 0,
};

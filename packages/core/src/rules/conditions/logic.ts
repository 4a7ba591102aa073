import type { ConditionSpec } from '../model';
import type { ConditionDef, ConditionNode } from './types';

function validateList(o: Record<string, unknown>, path: string, c: Parameters<ConditionDef['validate']>[2], child: (s: unknown, p: string) => void) {
  const list = c.array(o.conditions, `${path}/conditions`, 1, 32);
  list?.forEach((s, i) => {
    child(s, `${path}/conditions/${i}`);
  });
}

/** Every child is evaluated every time (no short-circuit), so stateful children (windows, durations) see every value. */
async function all(nodes: ConditionNode[], x: Parameters<ConditionNode['evaluate']>[0]): Promise<boolean[]> {
  const out: boolean[] = [];
  for (const n of nodes) out.push(await n.evaluate(x));
  return out;
}

function unionKeys(specs: ConditionSpec[], child: (s: ConditionSpec) => string[] | null): string[] | null {
  const keys = new Set<string>();
  for (const s of specs) {
    const k = child(s);
    if (k === null) return null;
    for (const key of k) keys.add(key);
  }
  return [...keys];
}

type ListSpec<T extends 'all' | 'any'> = { type: T; conditions: ConditionSpec[] };

export const allCondition: ConditionDef<ListSpec<'all'>> = {
  type: 'all',
  validate: validateList,
  build(spec, env) {
    const kids = spec.conditions.map((s) => env.child(s));
    return () => {
      const nodes = kids.map((k) => k());
      return { evaluate: async (x) => (await all(nodes, x)).every(Boolean) };
    };
  },
  keys: (s, child) => unionKeys(s.conditions, child),
  warmupMs: (s, child) => Math.max(0, ...s.conditions.map(child)),
};

export const anyCondition: ConditionDef<ListSpec<'any'>> = {
  type: 'any',
  validate: validateList,
  build(spec, env) {
    const kids = spec.conditions.map((s) => env.child(s));
    return () => {
      const nodes = kids.map((k) => k());
      return { evaluate: async (x) => (await all(nodes, x)).some(Boolean) };
    };
  },
  keys: (s, child) => unionKeys(s.conditions, child),
  warmupMs: (s, child) => Math.max(0, ...s.conditions.map(child)),
};

export const notCondition: ConditionDef<{ type: 'not'; condition: ConditionSpec }> = {
  type: 'not',
  validate(o, path, _c, child) {
    child(o.condition, `${path}/condition`);
  },
  build(spec, env) {
    const inner = env.child(spec.condition);
    return () => {
      const node = inner();
      return { evaluate: async (x) => !(await node.evaluate(x)) };
    };
  },
  keys: (s, child) => child(s.condition),
  warmupMs: (s, child) => child(s.condition),
};

import type { AttributeMap, AttributeState } from './model';

/**
 * The twin of a device in the style of AWS IoT shadows and Azure device twins: the desired state (shared
 * attributes), the reported state (client attributes), and the delta: each desired key whose reported value is
 * missing or differs. One version covers the whole device, so a report by the device also moves it.
 */
export interface Twin {
  version: number;
  desired: AttributeMap;
  reported: AttributeMap;
  delta: AttributeMap;
}

export function twinOf(state: AttributeState): Twin {
  const delta = Object.entries(state.shared).filter(([key, desired]) => {
    const reported = state.client[key];
    return reported === undefined || !sameJson(desired.value, reported.value);
  });
  // fromEntries: a key such as "__proto__" stays an own key.
  return { version: state.version, desired: state.shared, reported: state.client, delta: Object.fromEntries(delta) };
}

/** Equality of JSON values: objects by their keys whatever the order, arrays element by element. Depth is bounded by json.ts. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => Object.hasOwn(y, k) && sameJson(x[k], y[k]));
}

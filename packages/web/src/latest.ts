/** A device's latest values as the console holds them: each key's newest value and its ts. */
export type Latest = Record<string, { ts: number; value: unknown }>;

/**
 * Folds a live telemetry message into the latest values: a key's value at a ts not older than the one held replaces
 * it, an older one (a late message, a device replaying what it buffered) is ignored. Unchanged input, same object.
 */
export function foldLatest(latest: Latest, values: Latest): Latest {
  let out = latest;
  for (const [k, v] of Object.entries(values)) {
    const held = out[k];
    if (held && held.ts > v.ts) continue;
    if (out === latest) out = { ...latest };
    out[k] = v;
  }
  return out;
}

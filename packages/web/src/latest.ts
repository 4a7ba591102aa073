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

export type AttributeScope = 'client' | 'server' | 'shared';
export type Attributes = Record<AttributeScope, Record<string, { value: unknown; updatedAt: number }>>;
export const emptyAttributes: Attributes = { client: {}, server: {}, shared: {} };

/** Folds a live `attributes` message (a scope's current values, then each change) into the attributes held. */
export function foldAttributes(
  held: Attributes,
  m: { scope: AttributeScope; updated: Record<string, { value: unknown; updatedAt: number }>; deleted: readonly string[] },
): Attributes {
  const gone = new Set(m.deleted);
  const scope = Object.fromEntries(Object.entries({ ...held[m.scope], ...m.updated }).filter(([k]) => !gone.has(k)));
  return { ...held, [m.scope]: scope };
}

/**
 * What a person typed as an attribute value: JSON when it parses (21, true, "text", {"a":1}), otherwise the text
 * itself, so `on` needs no quotes. null is refused by the server like any value it does not store.
 */
export function parseValue(text: string): unknown {
  const t = text.trim();
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return t;
  }
}

import {
  attributeBytes,
  attributeScopes,
  type AttributeMap,
  type AttributeRepo,
  type AttributeScope,
  type AttributeState,
  type AttributeWrite,
  type AttributeWriteResult,
} from '../attributes/model';

interface Row {
  /** Kept as JSON text, as a database would: values are copied, and sizes counted as the SQLite adapter counts them. */
  json: string;
  updatedAt: number;
}

/** The memory store's attributes (see memory-store.ts); it asks the store which devices exist. */
export function createMemoryAttributes(o: { deviceExists: (id: string) => boolean; live: () => void }): AttributeRepo & { forget(deviceId: string): void } {
  /** device id -> scope -> key -> row. */
  const rows = new Map<string, Map<AttributeScope, Map<string, Row>>>();
  const versions = new Map<string, number>();

  const scopeOf = (deviceId: string, scope: AttributeScope): Map<string, Row> => {
    const byScope = rows.get(deviceId) ?? new Map<AttributeScope, Map<string, Row>>();
    rows.set(deviceId, byScope);
    const keys = byScope.get(scope) ?? new Map<string, Row>();
    byScope.set(scope, keys);
    return keys;
  };
  const toMap = (keys: Map<string, Row> | undefined): AttributeMap =>
    Object.fromEntries([...(keys ?? [])].map(([k, r]) => [k, { value: JSON.parse(r.json) as AttributeMap[string]['value'], updatedAt: r.updatedAt }]));

  /** Computes the scope as it would be after the write, and commits it only when every check passes (one step: nothing awaits). */
  const write = (w: AttributeWrite): AttributeWriteResult => {
    if (!o.deviceExists(w.deviceId)) return { status: 'unknown-device' };
    const version = versions.get(w.deviceId) ?? 0;
    if (w.expectedVersion !== undefined && w.expectedVersion !== version) return { status: 'version-mismatch', version };
    const current = scopeOf(w.deviceId, w.scope);
    const next = new Map(current);
    const deleted = w.delete.filter((k) => next.delete(k));
    for (const [k, v] of Object.entries(w.set)) next.set(k, { json: JSON.stringify(v), updatedAt: w.at });
    const changed = deleted.length > 0 || Object.keys(w.set).length > 0;
    if (!changed) return { status: 'written', version, changed, deleted };
    let keys = next.size;
    for (const s of attributeScopes) if (s !== w.scope) keys += scopeOf(w.deviceId, s).size;
    if (keys > w.limits.maxKeysPerDevice) return { status: 'too-many-keys', keys };
    let bytes = 0;
    for (const [k, r] of next) bytes += attributeBytes(k, r.json);
    if (bytes > w.limits.maxScopeBytes) return { status: 'too-large', bytes };
    rows.get(w.deviceId)?.set(w.scope, next);
    versions.set(w.deviceId, version + 1);
    return { status: 'written', version: version + 1, changed, deleted };
  };

  return {
    read: async (deviceId): Promise<AttributeState> => {
      o.live();
      const byScope = o.deviceExists(deviceId) ? rows.get(deviceId) : undefined;
      return {
        version: o.deviceExists(deviceId) ? (versions.get(deviceId) ?? 0) : 0,
        client: toMap(byScope?.get('client')),
        server: toMap(byScope?.get('server')),
        shared: toMap(byScope?.get('shared')),
      };
    },
    write: async (w) => {
      o.live();
      return write(w);
    },
    forget: (deviceId) => {
      rows.delete(deviceId);
      versions.delete(deviceId);
    },
  };
}

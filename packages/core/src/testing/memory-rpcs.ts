import { openRpcStatuses, rpcDueAt, type RpcRepo, type StoredRpc } from '../rpc/model';

/** The memory store's persistent RPCs (see memory-store.ts). */
export function createMemoryRpcs(o: { live: () => void; deviceExists: (id: string) => boolean }): RpcRepo & { forget(deviceId: string): void } {
  const rows = new Map<string, StoredRpc>();
  const copy = (r: StoredRpc): StoredRpc => structuredClone(r);
  const isOpen = (r: StoredRpc) => openRpcStatuses.includes(r.status);
  // Ties in creation time keep the insertion order (Map order, stable sort), as SQLite's rowid does.
  const byCreated = (a: StoredRpc, b: StoredRpc) => a.createdAt - b.createdAt;
  return {
    insert: async (r) => {
      o.live();
      // As SQL's INSERT ... SELECT FROM devices: a call for a device that is gone is not stored.
      if (o.deviceExists(r.deviceId)) rows.set(r.id, copy(r));
    },
    get: async (id) => {
      o.live();
      const r = rows.get(id);
      return r && copy(r);
    },
    findOpen: async (deviceId, rpcId) => {
      o.live();
      const r = [...rows.values()].find((x) => x.deviceId === deviceId && x.rpcId === rpcId && isOpen(x));
      return r && copy(r);
    },
    list: async (q) => {
      o.live();
      const all = [...rows.values()]
        .filter((r) => r.deviceId === q.deviceId && (q.status === undefined || r.status === q.status))
        .reverse()
        .sort((a, b) => byCreated(b, a));
      return { items: all.slice(q.offset, q.offset + q.limit).map(copy), total: all.length };
    },
    countOpen: async (deviceId) => {
      o.live();
      return [...rows.values()].filter((r) => r.deviceId === deviceId && isOpen(r)).length;
    },
    open: async (deviceId) => {
      o.live();
      return [...rows.values()]
        .filter((r) => r.deviceId === deviceId && isOpen(r))
        .sort(byCreated)
        .map(copy);
    },
    due: async (now, limit) => {
      o.live();
      return [...rows.values()]
        .map((r) => ({ r, at: rpcDueAt(r) }))
        .filter((x): x is { r: StoredRpc; at: number } => x.at !== null && x.at <= now)
        .sort((a, b) => a.at - b.at)
        .slice(0, limit)
        .map((x) => copy(x.r));
    },
    transition: async (id, from, patch) => {
      o.live();
      const r = rows.get(id);
      if (!r || !from.includes(r.status)) return false;
      rows.set(id, { ...r, ...structuredClone(patch) });
      return true;
    },
    delete: async (id) => {
      o.live();
      return rows.delete(id);
    },
    forget: (deviceId) => {
      for (const [id, r] of rows) if (r.deviceId === deviceId) rows.delete(id);
    },
  };
}

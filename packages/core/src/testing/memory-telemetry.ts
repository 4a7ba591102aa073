import type { TelemetryPoint, TelemetryStore, TimedValue } from '../telemetry/model';

/** The memory store's time series (see memory-store.ts); it asks the store which devices exist. */
export function createMemoryTelemetry(o: {
  deviceExists: (id: string) => boolean;
  tenantOf: (id: string) => string | undefined;
  live: () => void;
}): TelemetryStore & { forget(deviceId: string): void } {
  const { live } = o;
  const copy = <T>(v: T): T => structuredClone(v);
  /** device id -> key -> ts -> value; latest is kept per series like SQLite's `latest` table. */
  const series = new Map<string, Map<string, Map<number, TimedValue>>>();
  const latest = new Map<string, Map<string, TimedValue>>();
  /** The series (device id, NUL, key) where the next retention step starts; undefined: a new pass. */
  let retentionCursor: string | undefined;

  return {
    append: async (points: readonly TelemetryPoint[]) => {
      live();
      const unknownDevices = new Set<string>();
      let replaced = 0;
      for (const p of points) {
        if (!o.deviceExists(p.deviceId)) {
          unknownDevices.add(p.deviceId);
          continue;
        }
        const byKey = series.get(p.deviceId) ?? new Map<string, Map<number, TimedValue>>();
        series.set(p.deviceId, byKey);
        const points = byKey.get(p.key) ?? new Map<number, TimedValue>();
        byKey.set(p.key, points);
        const v = { ts: p.ts, value: copy(p.value) };
        if (points.has(p.ts)) replaced++;
        points.set(p.ts, v);
        const newest = latest.get(p.deviceId) ?? new Map<string, TimedValue>();
        latest.set(p.deviceId, newest);
        const seen = newest.get(p.key);
        if (seen === undefined || p.ts >= seen.ts) newest.set(p.key, v);
      }
      return { unknownDevices, replaced };
    },
    query: async (q) => {
      live();
      const out: Record<string, TimedValue[]> = {};
      const byKey = series.get(q.deviceId);
      for (const k of q.keys) {
        const points = byKey?.get(k);
        if (points === undefined) continue;
        const inRange = [...points.values()].filter((p) => p.ts >= q.from && p.ts < q.to).sort((a, b) => (q.order === 'asc' ? a.ts - b.ts : b.ts - a.ts));
        out[k] = inRange.slice(0, q.limit).map(copy);
      }
      return out;
    },
    aggregate: async (q) => {
      live();
      const out: Record<string, TimedValue[]> = {};
      const byKey = series.get(q.deviceId);
      for (const k of q.keys) {
        const points = byKey?.get(k);
        if (points === undefined) continue;
        const buckets = new Map<number, number[]>();
        let counts = new Map<number, number>();
        for (const p of points.values()) {
          if (p.ts < q.from || p.ts >= q.to) continue;
          const b = Math.floor((p.ts - q.from) / q.intervalMs);
          counts.set(b, (counts.get(b) ?? 0) + 1);
          if (typeof p.value === 'number') buckets.set(b, [...(buckets.get(b) ?? []), p.value]);
        }
        if (q.agg !== 'count') counts = new Map([...buckets.keys()].map((b) => [b, 0]));
        const reduce = (b: number): number => {
          const xs = buckets.get(b) ?? [];
          const sum = xs.reduce((s, x) => s + x, 0);
          switch (q.agg) {
            case 'min':
              return Math.min(...xs);
            case 'max':
              return Math.max(...xs);
            case 'avg':
              return sum / xs.length;
            case 'sum':
              return sum;
            case 'count':
              return counts.get(b) ?? 0;
          }
        };
        out[k] = [...counts.keys()]
          .sort((a, b) => a - b)
          .slice(0, q.limit)
          .map((b) => ({ ts: q.from + b * q.intervalMs, value: reduce(b) }));
      }
      return out;
    },
    latest: async (deviceId, keys) => {
      live();
      const out: Record<string, TimedValue> = {};
      const wanted = keys && new Set(keys);
      for (const [k, v] of [...(latest.get(deviceId) ?? [])].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (!wanted || wanted.has(k)) out[k] = copy(v);
      }
      return out;
    },
    keys: async (deviceId) => {
      live();
      return [...(latest.get(deviceId)?.keys() ?? [])].sort();
    },
    tenantKeys: async (tenantId) => {
      live();
      const keys = new Set<string>();
      for (const [deviceId, newest] of latest) if (o.tenantOf(deviceId) === tenantId) for (const k of newest.keys()) keys.add(k);
      return [...keys];
    },
    deleteExpired: async (before, rawBudget) => {
      live();
      const budget = Math.max(1, rawBudget);
      // The series in (device, key) order; the cursor names the next one to visit, as in the SQLite adapter,
      // so series added or deleted between steps do not shift it (a series is revisited when the budget ran
      // out inside it).
      const name = (deviceId: string, key: string) => `${deviceId}\u0000${key}`;
      const all = [...series]
        .flatMap(([deviceId, byKey]) => [...byKey.keys()].map((k) => ({ deviceId, key: k, name: name(deviceId, k) })))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      let deleted = 0;
      let visited = 0;
      let i = retentionCursor === undefined ? 0 : all.findIndex((s) => s.name >= (retentionCursor ?? ''));
      while (visited < budget) {
        const s = i < 0 ? undefined : all[i];
        if (s === undefined) {
          retentionCursor = undefined;
          return { deleted, done: true };
        }
        visited++;
        const points = series.get(s.deviceId)?.get(s.key);
        const expired = [...(points?.keys() ?? [])]
          .filter((ts) => ts < before)
          .sort((a, b) => a - b)
          .slice(0, budget - deleted);
        for (const ts of expired) points?.delete(ts);
        deleted += expired.length;
        retentionCursor = s.name;
        if (deleted >= budget) return { deleted, done: false };
        i++;
        retentionCursor = all[i]?.name ?? `${s.name}\u0000`;
      }
      return { deleted, done: false };
    },
    deleteDevice: async (deviceId) => {
      live();
      series.delete(deviceId);
      latest.delete(deviceId);
    },
    /** The device was deleted: its series go with it (synchronously, inside the store's delete). */
    forget: (deviceId) => {
      series.delete(deviceId);
      latest.delete(deviceId);
    },
  };
}

import type { TelemetryPoint, TelemetryStore, TelemetryValue, TimedValue } from '@thingstead/core';
import type { Db } from './database';

interface ValueRow {
  ts: number;
  num: number | null;
  str: string | null;
  bool: number | null;
  json: string | null;
}

function decode(r: ValueRow): TelemetryValue {
  if (r.num !== null) return r.num;
  if (r.str !== null) return r.str;
  if (r.bool !== null) return r.bool === 1;
  return JSON.parse(r.json ?? 'null') as TelemetryValue;
}

function columns(v: TelemetryValue): [number | null, string | null, number | null, string | null] {
  switch (typeof v) {
    case 'number':
      return [v, null, null, null];
    case 'string':
      return [null, v, null, null];
    case 'boolean':
      return [null, null, v ? 1 : 0, null];
    default:
      return [null, null, null, JSON.stringify(v)];
  }
}

const aggSql = { min: 'MIN(num)', max: 'MAX(num)', avg: 'AVG(num)', sum: 'SUM(num)', count: 'COUNT(*)' } as const;
/** Bounds the id caches; a hostile device inventing keys cannot grow them without limit. */
const maxCached = 200_000;

/**
 * Deletes a device's (or, without one, every device's) telemetry and then the dictionary keys no series uses
 * any more, so the dictionary, shared by all tenants, holds only keys of devices that exist. Call inside a
 * transaction, then call the store's forget(), which clears the key id cache.
 */
export function deleteSeries(db: Db, where: { deviceSeq: number } | { tenantId: string }): void {
  if ('deviceSeq' in where) {
    const keys = (db.prepare('SELECT key FROM latest WHERE device = ?').all(where.deviceSeq) as { key: number }[]).map((r) => r.key);
    db.prepare('DELETE FROM telemetry WHERE device = ?').run(where.deviceSeq);
    db.prepare('DELETE FROM latest WHERE device = ?').run(where.deviceSeq);
    const unused = db.prepare('DELETE FROM ts_keys WHERE id = ? AND NOT EXISTS (SELECT 1 FROM latest WHERE latest.key = ?)');
    for (const k of keys) unused.run(k, k);
    return;
  }
  db.prepare('DELETE FROM telemetry WHERE device IN (SELECT seq FROM devices WHERE tenant_id = ?)').run(where.tenantId);
  db.prepare('DELETE FROM latest WHERE device IN (SELECT seq FROM devices WHERE tenant_id = ?)').run(where.tenantId);
  db.prepare('DELETE FROM ts_keys WHERE NOT EXISTS (SELECT 1 FROM latest WHERE latest.key = ts_keys.id)').run();
}

export function telemetryStore(db: Db): TelemetryStore & { forget(deviceId?: string): void } {
  const deviceSeq = new Map<string, number>();
  const keyIds = new Map<string, number>();
  const selectDevice = db.prepare('SELECT seq FROM devices WHERE id = ?');
  const selectKey = db.prepare('SELECT id FROM ts_keys WHERE key = ?');
  const insertKey = db.prepare('INSERT INTO ts_keys (key) VALUES (?)');
  // Insert, and only when a value with this (device, key, ts) is there, replace it: as fast as INSERT OR REPLACE
  // when nothing collides, and a replacement is counted.
  const insertPoint = db.prepare('INSERT OR IGNORE INTO telemetry (device, key, ts, num, str, bool, json) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const replacePoint = db.prepare('UPDATE telemetry SET num = ?, str = ?, bool = ?, json = ? WHERE device = ? AND key = ? AND ts = ?');
  const upsertLatest = db.prepare(`INSERT INTO latest (device, key, ts, num, str, bool, json) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (device, key) DO UPDATE SET ts = excluded.ts, num = excluded.num, str = excluded.str, bool = excluded.bool, json = excluded.json
    WHERE excluded.ts >= latest.ts`);
  const rawAsc = db.prepare('SELECT ts, num, str, bool, json FROM telemetry WHERE device = ? AND key = ? AND ts >= ? AND ts < ? ORDER BY ts ASC LIMIT ?');
  const rawDesc = db.prepare('SELECT ts, num, str, bool, json FROM telemetry WHERE device = ? AND key = ? AND ts >= ? AND ts < ? ORDER BY ts DESC LIMIT ?');
  const aggregates = Object.fromEntries(
    Object.entries(aggSql).map(([name, expr]) => [
      name,
      db.prepare(`SELECT CAST((ts - @from) / @interval AS INTEGER) AS bucket, ${expr} AS value FROM telemetry
        WHERE device = @device AND key = @key AND ts >= @from AND ts < @to ${name === 'count' ? '' : 'AND num IS NOT NULL'}
        GROUP BY bucket ORDER BY bucket LIMIT @limit`),
    ]),
  ) as Record<keyof typeof aggSql, ReturnType<Db['prepare']>>;
  const latestAll = db.prepare(
    'SELECT k.key AS key, l.ts, l.num, l.str, l.bool, l.json FROM latest l JOIN ts_keys k ON k.id = l.key WHERE l.device = ? ORDER BY k.key',
  );
  const keysOf = db.prepare('SELECT k.key AS key FROM latest l JOIN ts_keys k ON k.id = l.key WHERE l.device = ? ORDER BY k.key');
  const keysOfTenant = db.prepare(`SELECT DISTINCT k.key AS key FROM devices d JOIN latest l ON l.device = d.seq JOIN ts_keys k ON k.id = l.key
    WHERE d.tenant_id = ?`);
  // Retention walks the series (every series has a row in `latest`) and deletes through the primary key, so
  // telemetry needs no index on ts alone (which cost 13-15% of insert speed and 57% more space; ADR 0002).
  const seriesFrom = db.prepare('SELECT device, key FROM latest WHERE (device, key) >= (?, ?) ORDER BY device, key LIMIT ?');
  const deleteInSeries = db.prepare(`DELETE FROM telemetry WHERE (device, key, ts) IN
    (SELECT device, key, ts FROM telemetry WHERE device = ? AND key = ? AND ts < ? ORDER BY ts LIMIT ?)`);
  /** The next series to visit (inclusive): where the previous retention step stopped. */
  let retentionCursor: [number, number] = [0, 0];
  const retentionStep = db.transaction((before: number, budget: number) => {
    let deleted = 0;
    let visited = 0;
    while (visited < budget) {
      const page = seriesFrom.all(retentionCursor[0], retentionCursor[1], Math.min(256, budget - visited)) as { device: number; key: number }[];
      if (page.length === 0) {
        retentionCursor = [0, 0];
        return { deleted, done: true };
      }
      for (const s of page) {
        visited++;
        const n = deleteInSeries.run(s.device, s.key, before, budget - deleted).changes;
        deleted += n;
        if (deleted >= budget) {
          // This series may hold more: start the next step on it again.
          retentionCursor = [s.device, s.key];
          return { deleted, done: false };
        }
        retentionCursor = [s.device, s.key + 1];
      }
    }
    return { deleted, done: false };
  });

  const seqOf = (deviceId: string): number | undefined => {
    let seq = deviceSeq.get(deviceId);
    if (seq === undefined) {
      seq = (selectDevice.get(deviceId) as { seq: number } | undefined)?.seq;
      if (seq === undefined) return undefined;
      if (deviceSeq.size >= maxCached) deviceSeq.clear();
      deviceSeq.set(deviceId, seq);
    }
    return seq;
  };
  const keyIdOf = (key: string, create: boolean): number | undefined => {
    let id = keyIds.get(key);
    if (id === undefined) {
      id = (selectKey.get(key) as { id: number } | undefined)?.id;
      if (id === undefined) {
        if (!create) return undefined;
        id = Number(insertKey.run(key).lastInsertRowid);
      }
      if (keyIds.size >= maxCached) keyIds.clear();
      keyIds.set(key, id);
    }
    return id;
  };

  const append = db.transaction((points: readonly TelemetryPoint[]): { unknownDevices: Set<string>; replaced: number } => {
    // The newest point of each series in this batch: `latest` is written once per series, not per point.
    const newest = new Map<string, [number, number, number, ReturnType<typeof columns>]>();
    const unknown = new Set<string>();
    let replaced = 0;
    for (const p of points) {
      // A device deleted while its data waited for the commit: nothing to store it under (reported, not acked).
      const seq = seqOf(p.deviceId);
      if (seq === undefined) {
        unknown.add(p.deviceId);
        continue;
      }
      const key = keyIdOf(p.key, true) ?? 0;
      const cols = columns(p.value);
      if (insertPoint.run(seq, key, p.ts, ...cols).changes === 0) {
        replacePoint.run(...cols, seq, key, p.ts);
        replaced++;
      }
      const series = `${seq}:${key}`;
      const seen = newest.get(series);
      // Later points win ties, as INSERT OR REPLACE does for the series itself.
      if (seen === undefined || p.ts >= seen[2]) newest.set(series, [seq, key, p.ts, cols]);
    }
    for (const [seq, key, ts, cols] of newest.values()) upsertLatest.run(seq, key, ts, ...cols);
    return { unknownDevices: unknown, replaced };
  });

  const perKey = <T>(deviceId: string, keys: readonly string[], f: (seq: number, keyId: number) => T): Record<string, T> => {
    const out: Record<string, T> = {};
    const seq = seqOf(deviceId);
    if (seq === undefined) return out;
    for (const k of keys) {
      const id = keyIdOf(k, false);
      if (id !== undefined) out[k] = f(seq, id);
    }
    return out;
  };

  return {
    append: async (points) => append(points),
    query: async (q) =>
      perKey(q.deviceId, q.keys, (seq, key) =>
        ((q.order === 'asc' ? rawAsc : rawDesc).all(seq, key, q.from, q.to, q.limit) as ValueRow[]).map((r) => ({ ts: r.ts, value: decode(r) })),
      ),
    aggregate: async (q) =>
      perKey(q.deviceId, q.keys, (seq, key) =>
        (
          aggregates[q.agg].all({ device: seq, key, from: q.from, to: q.to, interval: q.intervalMs, limit: q.limit }) as { bucket: number; value: number }[]
        ).map((r) => ({ ts: q.from + r.bucket * q.intervalMs, value: r.value })),
      ),
    latest: async (deviceId, keys) => {
      const seq = seqOf(deviceId);
      const out: Record<string, TimedValue> = {};
      if (seq === undefined) return out;
      const wanted = keys && new Set(keys);
      for (const r of latestAll.all(seq) as (ValueRow & { key: string })[]) {
        if (!wanted || wanted.has(r.key)) out[r.key] = { ts: r.ts, value: decode(r) };
      }
      return out;
    },
    keys: async (deviceId) => {
      const seq = seqOf(deviceId);
      return seq === undefined ? [] : (keysOf.all(seq) as { key: string }[]).map((r) => r.key);
    },
    tenantKeys: async (tenantId) => (keysOfTenant.all(tenantId) as { key: string }[]).map((r) => r.key),
    deleteExpired: async (before, budget) => retentionStep(before, Math.max(1, budget)),
    deleteDevice: async (deviceId) => {
      const seq = seqOf(deviceId);
      if (seq === undefined) return;
      db.transaction(() => {
        deleteSeries(db, { deviceSeq: seq });
      })();
      keyIds.clear();
    },
    forget: (deviceId) => {
      if (deviceId === undefined) deviceSeq.clear();
      else deviceSeq.delete(deviceId);
      // Deleting devices may have deleted dictionary keys (deleteUnusedKeys); ids must not be reused from the cache.
      keyIds.clear();
    },
  };
}

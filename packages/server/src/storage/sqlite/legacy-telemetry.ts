import type { TelemetryValue } from '@thingstead/core';
import { hourPartials } from '../tsdb/head';
import type { Db } from './database';
import { dayOf, hourMs, type Partitions } from './partitions';
import { stmt } from './sql';

interface LegacyRow {
  device: number;
  key: number;
  ts: number;
  num: number | null;
  str: string | null;
  bool: number | null;
  json: string | null;
}

const value = (r: LegacyRow): TelemetryValue =>
  r.num !== null ? r.num : r.str !== null ? r.str : r.bool !== null ? r.bool === 1 : (JSON.parse(r.json ?? 'null') as TelemetryValue);

/**
 * Moves the rows of the layout before the time-series engine (one row per point in `telemetry`, ADR 0002) into
 * chunks and rollups, once, in one transaction, and drops the old table. Returns whether there was one.
 */
export function convertLegacyRows(db: Db, parts: Partitions, chunkPoints: number): boolean {
  if (stmt(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'telemetry'").get() === undefined) return false;
  const page = db.prepare(
    'SELECT device, key, ts, num, str, bool, json FROM telemetry WHERE (device, key, ts) > (?, ?, ?) ORDER BY device, key, ts LIMIT 20000',
  );
  const ensureSeries = db.prepare('INSERT OR IGNORE INTO ts_series (device, key) VALUES (?, ?)');
  const seriesId = db.prepare('SELECT id FROM ts_series WHERE device = ? AND key = ?');
  const setMax = db.prepare('UPDATE ts_series SET max_ts = ? WHERE id = ?');
  let run: { device: number; key: number; day: number; ts: number[]; values: TelemetryValue[] } | undefined;
  const idOf = (device: number, key: number): number => {
    ensureSeries.run(device, key);
    return (seriesId.get(device, key) as { id: number }).id;
  };
  const write = (): void => {
    if (!run || run.ts.length === 0) return;
    const id = idOf(run.device, run.key);
    parts.insertRun(id, run.day, run.ts, run.values, chunkPoints);
    for (const p of hourPartials(run.ts, run.values, 0, run.ts.length, hourMs)) parts.addRollup(id, p);
    parts.addPoints(run.day, run.ts.length);
    setMax.run(run.ts[run.ts.length - 1], id);
  };
  db.transaction(() => {
    let cursor: [number, number, number] = [-Infinity, -Infinity, -Infinity];
    for (;;) {
      const rows = page.all(...cursor) as LegacyRow[];
      if (rows.length === 0) break;
      for (const r of rows) {
        const day = dayOf(r.ts);
        if (!run || run.device !== r.device || run.key !== r.key || run.day !== day) {
          write();
          run = { device: r.device, key: r.key, day, ts: [], values: [] };
        }
        run.ts.push(r.ts);
        run.values.push(value(r));
      }
      const last = rows[rows.length - 1] as LegacyRow;
      cursor = [last.device, last.key, last.ts];
    }
    write();
    db.exec('DROP TABLE telemetry');
  })();
  return true;
}

import type { Statement } from 'better-sqlite3';
import type { Db } from './database';

export const dayMs = 86_400_000;
export const hourMs = 3_600_000;
export const dayOf = (ts: number): number => Math.floor(ts / dayMs);
const suffix = (day: number): string => (day < 0 ? `m${-day}` : String(day));
const chunkTable = (day: number): string => `tsc_${suffix(day)}`;
const rollupTable = (day: number): string => `tsh_${suffix(day)}`;

/** A compressed run of one series' points inside one day, start <= every ts <= end. */
export interface ChunkRow {
  start: number;
  end: number;
  n: number;
  data: Uint8Array;
}

/** Per series and UTC hour: how many values, how many numbers, and their sum, min and max. */
export interface Rollup {
  hour: number;
  n: number;
  nn: number;
  sum: number;
  min: number;
  max: number;
}

type Stmt = Statement;

interface Tables {
  insertChunk: Stmt;
  deleteChunk: Stmt;
  chunkAtOrBefore: Stmt;
  chunkAfter: Stmt;
  lastChunk: Stmt;
  rangeAsc: Stmt;
  rangeDesc: Stmt;
  addRollup: Stmt;
  setRollup: Stmt;
  deleteRollup: Stmt;
  rollups: Stmt;
}

/**
 * Time partitions of the telemetry chunks: one pair of tables per UTC day, `tsc_<day>` with the compressed
 * chunks (key series, start) and `tsh_<day>` with the hourly rollups (key series, hour). Inserts touch one small
 * hot pair; retention drops a whole day's tables instead of deleting rows (docs/adr/0007).
 */
export class Partitions {
  private readonly tables = new Map<number, Tables>();
  /** Every day that has tables (loaded once; this class is the only one creating or dropping them). */
  private readonly known: Set<number>;
  private readonly insertPartition: Stmt;
  private readonly addPointsStmt: Stmt;

  constructor(private readonly db: Db) {
    this.insertPartition = db.prepare('INSERT OR IGNORE INTO ts_partitions (day, points) VALUES (?, 0)');
    this.addPointsStmt = db.prepare('UPDATE ts_partitions SET points = points + ? WHERE day = ?');
    this.known = new Set((db.prepare('SELECT day FROM ts_partitions').all() as { day: number }[]).map((r) => r.day));
  }

  /** The days that have tables, ascending. */
  days(): number[] {
    return [...this.known].sort((a, b) => a - b);
  }

  /** Re-reads which days exist (after a rolled-back transaction that may have created tables). */
  reload(): void {
    this.tables.clear();
    this.known.clear();
    for (const r of this.db.prepare('SELECT day FROM ts_partitions').all() as { day: number }[]) this.known.add(r.day);
  }

  chunkAtOrBefore(series: number, day: number, ts: number): ChunkRow | undefined {
    return this.get(day)?.chunkAtOrBefore.get(series, ts) as ChunkRow | undefined;
  }

  chunkAfter(series: number, day: number, ts: number): ChunkRow | undefined {
    return this.get(day)?.chunkAfter.get(series, ts) as ChunkRow | undefined;
  }

  lastChunk(series: number, day: number): ChunkRow | undefined {
    return this.get(day)?.lastChunk.get(series) as ChunkRow | undefined;
  }

  /** The chunks of a series holding points with from <= ts < to, in start order (or reverse). */
  *range(series: number, day: number, from: number, to: number, desc = false): Generator<ChunkRow> {
    const t = this.get(day);
    if (!t) return;
    yield* (desc ? t.rangeDesc : t.rangeAsc).iterate({ series, from, to }) as IterableIterator<ChunkRow>;
  }

  insertChunk(series: number, day: number, c: ChunkRow): void {
    this.ensure(day).insertChunk.run(series, c.start, c.end, c.n, c.data);
  }

  deleteChunk(series: number, day: number, start: number): void {
    this.get(day)?.deleteChunk.run(series, start);
  }

  addPoints(day: number, n: number): void {
    if (n !== 0) this.addPointsStmt.run(n, day);
  }

  /** Merges a partial aggregate of new points into the hour's rollup. */
  addRollup(series: number, day: number, r: Rollup): void {
    this.ensure(day).addRollup.run(series, r.hour, r.n, r.nn, r.sum, r.min, r.max);
  }

  /** Replaces the hour's rollup (undefined: the hour has no points any more). */
  setRollup(series: number, day: number, hour: number, r: Rollup | undefined): void {
    const t = this.ensure(day);
    if (r) t.setRollup.run(series, hour, r.n, r.nn, r.sum, r.min, r.max);
    else t.deleteRollup.run(series, hour);
  }

  rollups(series: number, day: number, from: number, to: number): Rollup[] {
    return (this.get(day)?.rollups.all(series, from, to) ?? []) as Rollup[];
  }

  /** Drops a day's tables; returns how many points they held. */
  drop(day: number): number {
    const points = (this.db.prepare('SELECT points FROM ts_partitions WHERE day = ?').get(day) as { points: number } | undefined)?.points ?? 0;
    this.db.transaction(() => {
      this.db.exec(`DROP TABLE IF EXISTS ${chunkTable(day)}; DROP TABLE IF EXISTS ${rollupTable(day)}`);
      this.db.prepare('DELETE FROM ts_partitions WHERE day = ?').run(day);
    })();
    this.tables.delete(day);
    this.known.delete(day);
    return points;
  }

  private get(day: number): Tables | undefined {
    const t = this.tables.get(day);
    if (t) return t;
    return this.known.has(day) ? this.ensure(day) : undefined;
  }

  private ensure(day: number): Tables {
    let t = this.tables.get(day);
    if (t) return t;
    const c = chunkTable(day);
    const h = rollupTable(day);
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${c} (
        series INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (series, start)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ${h} (
        series INTEGER NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL, nn INTEGER NOT NULL, sum REAL NOT NULL, min REAL, max REAL,
        PRIMARY KEY (series, hour)) WITHOUT ROWID;`);
    this.insertPartition.run(day);
    this.known.add(day);
    const cols = 'start, end, n, data';
    // Chunks of a series never overlap, so the one holding `from` is the last that starts at or before it.
    const first = `COALESCE((SELECT start FROM ${c} WHERE series = @series AND start <= @from ORDER BY start DESC LIMIT 1), @from)`;
    t = {
      insertChunk: this.db.prepare(`INSERT INTO ${c} (series, start, end, n, data) VALUES (?, ?, ?, ?, ?)`),
      deleteChunk: this.db.prepare(`DELETE FROM ${c} WHERE series = ? AND start = ?`),
      chunkAtOrBefore: this.db.prepare(`SELECT ${cols} FROM ${c} WHERE series = ? AND start <= ? ORDER BY start DESC LIMIT 1`),
      chunkAfter: this.db.prepare(`SELECT ${cols} FROM ${c} WHERE series = ? AND start > ? ORDER BY start LIMIT 1`),
      lastChunk: this.db.prepare(`SELECT ${cols} FROM ${c} WHERE series = ? ORDER BY start DESC LIMIT 1`),
      rangeAsc: this.db.prepare(`SELECT ${cols} FROM ${c} WHERE series = @series AND start >= ${first} AND start < @to ORDER BY start`),
      rangeDesc: this.db.prepare(`SELECT ${cols} FROM ${c} WHERE series = @series AND start >= ${first} AND start < @to ORDER BY start DESC`),
      addRollup: this.db.prepare(`INSERT INTO ${h} (series, hour, n, nn, sum, min, max) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (series, hour) DO UPDATE SET n = n + excluded.n, nn = nn + excluded.nn, sum = sum + excluded.sum,
          min = CASE WHEN min IS NULL OR excluded.min < min THEN excluded.min ELSE min END,
          max = CASE WHEN max IS NULL OR excluded.max > max THEN excluded.max ELSE max END`),
      setRollup: this.db.prepare(`INSERT OR REPLACE INTO ${h} (series, hour, n, nn, sum, min, max) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      deleteRollup: this.db.prepare(`DELETE FROM ${h} WHERE series = ? AND hour = ?`),
      rollups: this.db.prepare(`SELECT hour, n, nn, sum, min, max FROM ${h} WHERE series = ? AND hour >= ? AND hour < ? ORDER BY hour`),
    };
    this.tables.set(day, t);
    return t;
  }
}

/**
 * Deletes the given series everywhere: their chunks and rollups in every partition (keeping the partitions'
 * point counts true) and their rows. Call inside a transaction.
 */
export function deletePartitionedSeries(db: Db, ids: readonly number[]): void {
  if (ids.length === 0) return;
  const list = JSON.stringify(ids);
  for (const { day } of db.prepare('SELECT day FROM ts_partitions').all() as { day: number }[]) {
    const c = chunkTable(day);
    db.prepare(
      `UPDATE ts_partitions SET points = points - (SELECT COALESCE(SUM(n), 0) FROM ${c} WHERE series IN (SELECT value FROM json_each(?))) WHERE day = ?`,
    ).run(list, day);
    db.prepare(`DELETE FROM ${c} WHERE series IN (SELECT value FROM json_each(?))`).run(list);
    db.prepare(`DELETE FROM ${rollupTable(day)} WHERE series IN (SELECT value FROM json_each(?))`).run(list);
  }
  db.prepare('DELETE FROM ts_series WHERE id IN (SELECT value FROM json_each(?))').run(list);
}

import type { Statement } from 'better-sqlite3';
import type { TelemetryValue } from '@thingstead/core';
import { encodeChunk } from '../tsdb/chunk-codec';
import type { Db } from './database';

export const dayMs = 86_400_000;
export const hourMs = 3_600_000;
export const dayOf = (ts: number): number => Math.floor(ts / dayMs);
/** Rollups are kept in blocks of this many days: a year's hourly aggregate reads 12 tables, not 366. */
export const rollupBlockDays = 32;
const blockOf = (ts: number): number => Math.floor(ts / (rollupBlockDays * dayMs));
const suffix = (n: number): string => (n < 0 ? `m${-n}` : String(n));
const chunkTable = (day: number): string => `tsc_${suffix(day)}`;
const rollupTable = (block: number): string => `tsr_${suffix(block)}`;

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
}

interface RollupTables {
  add: Stmt;
  set: Stmt;
  delete: Stmt;
  range: Stmt;
}

/**
 * Time partitions of the telemetry: `tsc_<day>` per UTC day holds the compressed chunks (key series, start);
 * `tsr_<block>` per block of 32 days the hourly rollups (key series, hour). Inserts touch one small hot table;
 * retention drops a whole day's chunk table instead of deleting rows, moves the `retainedFrom` watermark (rollups
 * before it are not read) and drops a rollup block once all of it is before the watermark (docs/adr/0007).
 */
export class Partitions {
  private readonly tables = new Map<number, Tables>();
  private readonly rollupTables = new Map<number, RollupTables>();
  /** Every day and block that has tables (loaded once; this class is the only one creating or dropping them). */
  private readonly known = new Set<number>();
  private readonly knownBlocks = new Set<number>();
  private readonly insertPartition: Stmt;
  private readonly insertBlock: Stmt;
  private readonly addPointsStmt: Stmt;
  private retained = -Infinity;

  constructor(private readonly db: Db) {
    this.insertPartition = db.prepare('INSERT OR IGNORE INTO ts_partitions (day, points) VALUES (?, 0)');
    this.insertBlock = db.prepare('INSERT OR IGNORE INTO ts_rollup_blocks (block) VALUES (?)');
    this.addPointsStmt = db.prepare('UPDATE ts_partitions SET points = points + ? WHERE day = ?');
    this.reload();
  }

  /** The days that have chunk tables, ascending. */
  days(): number[] {
    return [...this.known].sort((a, b) => a - b);
  }

  /** Points before this were deleted by retention; their rollups are not read. */
  get retainedFrom(): number {
    return this.retained;
  }

  /** Re-reads which tables exist (also after a rolled-back transaction that may have created some). */
  reload(): void {
    this.tables.clear();
    this.rollupTables.clear();
    this.known.clear();
    this.knownBlocks.clear();
    for (const r of this.db.prepare('SELECT day FROM ts_partitions').all() as { day: number }[]) this.known.add(r.day);
    for (const r of this.db.prepare('SELECT block FROM ts_rollup_blocks').all() as { block: number }[]) this.knownBlocks.add(r.block);
    const w = this.db.prepare("SELECT value FROM ts_meta WHERE name = 'retained_from'").get() as { value: number } | undefined;
    this.retained = w?.value ?? -Infinity;
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

  /** Stores sorted points of one day as chunks of at most chunkPoints points. */
  insertRun(series: number, day: number, ts: readonly number[], values: readonly TelemetryValue[], chunkPoints: number): void {
    for (let i = 0; i < ts.length; i += chunkPoints) {
      const t = ts.slice(i, i + chunkPoints);
      this.insertChunk(series, day, {
        start: t[0] as number,
        end: t[t.length - 1] as number,
        n: t.length,
        data: encodeChunk(t, values.slice(i, i + chunkPoints)),
      });
    }
  }

  deleteChunk(series: number, day: number, start: number): void {
    this.get(day)?.deleteChunk.run(series, start);
  }

  addPoints(day: number, n: number): void {
    this.ensure(day);
    if (n !== 0) this.addPointsStmt.run(n, day);
  }

  /** Merges a partial aggregate of new points into the hour's rollup. */
  addRollup(series: number, r: Rollup): void {
    this.ensureBlock(blockOf(r.hour)).add.run(series, r.hour, r.n, r.nn, r.sum, r.min, r.max);
  }

  /** Replaces the hour's rollup (undefined: the hour has no points any more). */
  setRollup(series: number, hour: number, r: Rollup | undefined): void {
    const t = this.ensureBlock(blockOf(hour));
    if (r) t.set.run(series, hour, r.n, r.nn, r.sum, r.min, r.max);
    else t.delete.run(series, hour);
  }

  /** The rollups of the hours in [from, to), not before retainedFrom, ascending. */
  rollups(series: number, from: number, to: number): Rollup[] {
    const lo = Math.max(from, this.retained);
    const out: Rollup[] = [];
    if (lo >= to) return out;
    for (let b = blockOf(lo); b <= blockOf(to - 1); b++) {
      const t = this.getBlock(b);
      // Rows as arrays: a year is 8,760 rows, and objects per row cost more than the read.
      if (t) for (const [hour, n, nn, sum, min, max] of t.range.all(series, lo, to) as number[][]) out.push({ hour, n, nn, sum, min, max } as Rollup);
    }
    return out;
  }

  /** Drops a day's chunk table and moves the watermark past it; returns how many points it held. */
  drop(day: number): number {
    const points = (this.db.prepare('SELECT points FROM ts_partitions WHERE day = ?').get(day) as { points: number } | undefined)?.points ?? 0;
    const retained = Math.max(this.retained, (day + 1) * dayMs);
    const blocks = [...this.knownBlocks].filter((b) => (b + 1) * rollupBlockDays * dayMs <= retained);
    this.db.transaction(() => {
      this.db.exec(`DROP TABLE IF EXISTS ${chunkTable(day)}`);
      this.db.prepare('DELETE FROM ts_partitions WHERE day = ?').run(day);
      this.db.prepare("INSERT OR REPLACE INTO ts_meta (name, value) VALUES ('retained_from', ?)").run(retained);
      for (const b of blocks) {
        this.db.exec(`DROP TABLE IF EXISTS ${rollupTable(b)}`);
        this.db.prepare('DELETE FROM ts_rollup_blocks WHERE block = ?').run(b);
      }
    })();
    this.tables.delete(day);
    this.known.delete(day);
    for (const b of blocks) {
      this.rollupTables.delete(b);
      this.knownBlocks.delete(b);
    }
    this.retained = retained;
    return points;
  }

  private get(day: number): Tables | undefined {
    const t = this.tables.get(day);
    if (t) return t;
    return this.known.has(day) ? this.ensure(day) : undefined;
  }

  private getBlock(block: number): RollupTables | undefined {
    const t = this.rollupTables.get(block);
    if (t) return t;
    return this.knownBlocks.has(block) ? this.ensureBlock(block) : undefined;
  }

  private ensure(day: number): Tables {
    let t = this.tables.get(day);
    if (t) return t;
    const c = chunkTable(day);
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${c} (
        series INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (series, start)) WITHOUT ROWID`);
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
    };
    this.tables.set(day, t);
    return t;
  }

  private ensureBlock(block: number): RollupTables {
    let t = this.rollupTables.get(block);
    if (t) return t;
    const h = rollupTable(block);
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${h} (
        series INTEGER NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL, nn INTEGER NOT NULL, sum REAL NOT NULL, min REAL, max REAL,
        PRIMARY KEY (series, hour)) WITHOUT ROWID`);
    this.insertBlock.run(block);
    this.knownBlocks.add(block);
    t = {
      add: this.db.prepare(`INSERT INTO ${h} (series, hour, n, nn, sum, min, max) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (series, hour) DO UPDATE SET n = n + excluded.n, nn = nn + excluded.nn, sum = sum + excluded.sum,
          min = CASE WHEN min IS NULL OR excluded.min < min THEN excluded.min ELSE min END,
          max = CASE WHEN max IS NULL OR excluded.max > max THEN excluded.max ELSE max END`),
      set: this.db.prepare(`INSERT OR REPLACE INTO ${h} (series, hour, n, nn, sum, min, max) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      delete: this.db.prepare(`DELETE FROM ${h} WHERE series = ? AND hour = ?`),
      range: this.db.prepare(`SELECT hour, n, nn, sum, min, max FROM ${h} WHERE series = ? AND hour >= ? AND hour < ? ORDER BY hour`).raw(true),
    };
    this.rollupTables.set(block, t);
    return t;
  }
}

/**
 * Deletes the given series everywhere: their chunks and rollups in every partition and block (keeping the partitions'
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
  }
  for (const { block } of db.prepare('SELECT block FROM ts_rollup_blocks').all() as { block: number }[]) {
    db.prepare(`DELETE FROM ${rollupTable(block)} WHERE series IN (SELECT value FROM json_each(?))`).run(list);
  }
  db.prepare('DELETE FROM ts_series WHERE id IN (SELECT value FROM json_each(?))').run(list);
}

import type { TelemetryPoint, TelemetryStore, TelemetryValue, TimedValue } from '@thingstead/core';
import { decodeChunk } from '../tsdb/chunk-codec';
import { addValue, Buckets, emptyPartial, type Head, headInsert, hourPartials, lowerBound, mergeRuns } from '../tsdb/head';
import { type WalPoint, WriteAheadLog } from '../tsdb/wal';
import type { Db } from './database';
import { convertLegacyRows } from './legacy-telemetry';
import { type ChunkRow, dayMs, dayOf, deletePartitionedSeries, hourMs, Partitions } from './partitions';
import { stmt } from './sql';

interface ValueRow {
  num: number | null;
  str: string | null;
  bool: number | null;
  json: string | null;
}

function decodeValue(r: ValueRow): TelemetryValue {
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

/** One time series (device, key) as the engine keeps it in memory. */
interface Series {
  id: number;
  device: number;
  key: number;
  /** Log records up to this lsn are in chunks (replay skips them). */
  flushedLsn: number;
  /** The newest ts in chunks (-Infinity: none); a point at or before it may replace a stored one. */
  maxTs: number;
  latest: TimedValue | undefined;
  head: Head | undefined;
}

export interface TsdbOptions {
  /** The write-ahead log's directory; without one (':memory:' databases) nothing survives the process. */
  walDir: string | undefined;
  /** Sync each log record before the batch is acknowledged. */
  sync: boolean;
  /** Points per chunk (a head is flushed when it holds this many). */
  chunkPoints?: number;
  /** A log segment is closed at this size ... */
  walSegmentBytes?: number;
  /** ... or this age. */
  walSegmentMaxAgeMs?: number;
  /** Closed segments kept before the heads still holding their points are flushed, partly filled or not. */
  walSegments?: number;
  /** All heads are flushed when they hold more points than this (bounds memory). */
  maxHeadPoints?: number;
  /** Called with an error the engine recovered from (a failed background flush, retried later). */
  onError?: ((e: unknown) => void) | undefined;
}

/** Series flushed per event-loop turn. */
const flushSlice = 256;
const defaults = {
  chunkPoints: 240,
  walSegmentBytes: 64 * 1024 * 1024,
  walSegmentMaxAgeMs: 5 * 60_000,
  walSegments: 3,
  maxHeadPoints: 2_000_000,
};

export type SqliteTelemetry = TelemetryStore & {
  /** Drops a deleted device (or, without one, whatever a tenant deletion removed) from memory. */
  forget(deviceId?: string): void;
  /** Flushes every head and closes the log (its segments are then deleted). */
  close(): Promise<void>;
  /** Why telemetry cannot be stored right now (the log refuses writes, the last flush failed); undefined when it can. */
  problem(): string | undefined;
};

/**
 * Deletes a device's (or a tenant's devices') telemetry: chunks and rollups in every partition, series rows, and
 * then the dictionary keys no series uses any more (the dictionary is shared by all tenants). Call inside a
 * transaction, then call the store's forget().
 */
export function deleteSeries(db: Db, where: { deviceSeq: number } | { tenantId: string }): void {
  const ids = (
    'deviceSeq' in where
      ? stmt(db, 'SELECT id FROM ts_series WHERE device = ?').all(where.deviceSeq)
      : stmt(db, 'SELECT id FROM ts_series WHERE device IN (SELECT seq FROM devices WHERE tenant_id = ?)').all(where.tenantId)
  ) as { id: number }[];
  deletePartitionedSeries(
    db,
    ids.map((r) => r.id),
  );
  stmt(db, 'DELETE FROM ts_keys WHERE NOT EXISTS (SELECT 1 FROM ts_series s WHERE s.key = ts_keys.id)').run();
}

/**
 * The embedded time-series engine (docs/adr/0007): each committed batch is one record of a write-ahead log,
 * synced before the batch is acknowledged; points then wait in per-series heads in memory and are flushed as
 * compressed chunks of `chunkPoints` points into day partitions, with hourly rollups written alongside. Queries
 * merge chunks and heads; aggregates over whole hours read the rollups.
 */
export function telemetryStore(db: Db, o: TsdbOptions): SqliteTelemetry {
  const cfg = { ...defaults, ...o };
  const parts = new Partitions(db);
  const deviceSeq = new Map<string, number>();
  const keyIds = new Map<string, number>();
  const keyNames = new Map<number, string>();
  const series = new Map<number, Series>();
  const byDevice = new Map<number, Map<number, Series>>();
  /** Series with a head. */
  const dirty = new Set<Series>();
  /** Series whose head reached chunkPoints. */
  const full = new Set<Series>();
  /**
   * Series waiting to be flushed, taken `flushSlice` per event-loop turn, so even a flush of every head (memory
   * pressure, a log segment to free) never holds the event loop for long.
   */
  const queue = new Set<Series>();
  /** Log records written but not yet applied to the heads (their segment must stay). */
  const unapplied = new Set<number>();
  let headPoints = 0;
  let memLsn = 0;

  const selectDevice = db.prepare('SELECT seq FROM devices WHERE id = ?');
  const insertKey = db.prepare('INSERT INTO ts_keys (key) VALUES (?)');
  const insertSeries = db.prepare('INSERT INTO ts_series (device, key) VALUES (?, ?)');
  const updateSeries = db.prepare('UPDATE ts_series SET flushed_lsn = ?, max_ts = ?, latest_ts = ?, num = ?, str = ?, bool = ?, json = ? WHERE id = ?');
  const keysOfTenant = db.prepare(`SELECT DISTINCT k.key AS key FROM devices d JOIN ts_series s ON s.device = d.seq JOIN ts_keys k ON k.id = s.key
    WHERE d.tenant_id = ?`);

  const loadKeys = (): void => {
    keyIds.clear();
    keyNames.clear();
    for (const r of stmt(db, 'SELECT id, key FROM ts_keys').all() as { id: number; key: string }[]) {
      keyIds.set(r.key, r.id);
      keyNames.set(r.id, r.key);
    }
  };
  const addSeries = (s: Series): void => {
    series.set(s.id, s);
    let m = byDevice.get(s.device);
    if (!m) byDevice.set(s.device, (m = new Map<number, Series>()));
    m.set(s.key, s);
  };
  const dropSeries = (s: Series): void => {
    series.delete(s.id);
    byDevice.get(s.device)?.delete(s.key);
    if (byDevice.get(s.device)?.size === 0) byDevice.delete(s.device);
    if (s.head) headPoints -= s.head.ts.length;
    dirty.delete(s);
    full.delete(s);
    queue.delete(s);
  };
  const loadSeries = (): void => {
    const rows = db.prepare('SELECT id, device, key, flushed_lsn, max_ts, latest_ts, num, str, bool, json FROM ts_series').all() as (ValueRow & {
      id: number;
      device: number;
      key: number;
      flushed_lsn: number;
      max_ts: number | null;
      latest_ts: number | null;
    })[];
    const keep = new Set<number>();
    for (const r of rows) {
      keep.add(r.id);
      if (series.has(r.id)) continue;
      addSeries({
        id: r.id,
        device: r.device,
        key: r.key,
        flushedLsn: r.flushed_lsn,
        maxTs: r.max_ts ?? -Infinity,
        latest: r.latest_ts === null ? undefined : { ts: r.latest_ts, value: decodeValue(r) },
        head: undefined,
      });
    }
    for (const s of [...series.values()]) if (!keep.has(s.id)) dropSeries(s);
  };

  const seqOf = (deviceId: string): number | undefined => {
    let seq = deviceSeq.get(deviceId);
    if (seq === undefined) {
      seq = (selectDevice.get(deviceId) as { seq: number } | undefined)?.seq;
      if (seq === undefined) return undefined;
      if (deviceSeq.size >= 200_000) deviceSeq.clear();
      deviceSeq.set(deviceId, seq);
    }
    return seq;
  };
  const createSeries = db.transaction((wanted: [number, string][]): void => {
    for (const [device, key] of wanted) {
      let keyId = keyIds.get(key);
      if (keyId === undefined) {
        keyId = Number(insertKey.run(key).lastInsertRowid);
        keyIds.set(key, keyId);
        keyNames.set(keyId, key);
      }
      if (byDevice.get(device)?.get(keyId)) continue;
      const id = Number(insertSeries.run(device, keyId).lastInsertRowid);
      addSeries({ id, device, key: keyId, flushedLsn: 0, maxTs: -Infinity, latest: undefined, head: undefined });
    }
  });

  // --- reading chunks -------------------------------------------------------------------------------------
  let lastDecoded: { key: string; ts: number[]; values: TelemetryValue[] } | undefined;
  const decodeRow = (s: Series, day: number, c: ChunkRow): { ts: number[]; values: TelemetryValue[] } => {
    const key = `${s.id}:${day}:${c.start}:${c.n}:${c.end}`;
    if (lastDecoded?.key !== key) lastDecoded = { key, ...decodeChunk(c.data) };
    return lastDecoded;
  };
  /** Whether a value with this ts is in the series' chunks. */
  const storedHas = (s: Series, ts: number): boolean => {
    const day = dayOf(ts);
    const c = parts.chunkAtOrBefore(s.id, day, ts);
    if (!c || c.end < ts) return false;
    const d = decodeRow(s, day, c);
    return d.ts[lowerBound(d.ts, ts)] === ts;
  };
  /**
   * Calls f for the series' points with from <= ts < to in one day, chunks merged with the head, ascending or
   * descending; stops when f returns false (and then returns false).
   */
  const visitDay = (s: Series, day: number, from: number, to: number, desc: boolean, f: (ts: number, v: TelemetryValue) => boolean): boolean => {
    const lo = Math.max(from, day * dayMs);
    const hi = Math.min(to, (day + 1) * dayMs);
    if (lo >= hi) return true;
    const h = s.head;
    const h0 = h ? lowerBound(h.ts, lo) : 0;
    const h1 = h ? lowerBound(h.ts, hi) : 0;
    if (!h || h0 === h1) {
      // The common case, nothing of the day in the head: straight from the chunks.
      for (const c of parts.range(s.id, day, lo, hi, desc)) {
        const d = decodeChunk(c.data);
        if (desc) {
          for (let i = lowerBound(d.ts, hi) - 1; i >= 0 && (d.ts[i] as number) >= lo; i--)
            if (!f(d.ts[i] as number, d.values[i] as TelemetryValue)) return false;
        } else {
          for (let i = lowerBound(d.ts, lo); i < d.ts.length && (d.ts[i] as number) < hi; i++)
            if (!f(d.ts[i] as number, d.values[i] as TelemetryValue)) return false;
        }
      }
      return true;
    }
    const stored: { ts: number[]; values: TelemetryValue[] } = { ts: [], values: [] };
    visitDay({ ...s, head: undefined }, day, lo, hi, false, (t, v) => {
      stored.ts.push(t);
      stored.values.push(v);
      return true;
    });
    const m = mergeRuns(stored, { ts: h.ts.slice(h0, h1), values: h.values.slice(h0, h1) });
    const n = m.ts.length;
    for (let k = 0; k < n; k++) {
      const i = desc ? n - 1 - k : k;
      if (!f(m.ts[i] as number, m.values[i] as TelemetryValue)) return false;
    }
    return true;
  };
  /** The days that may hold points of the series in [from, to): partitions and the head's days. */
  const daysIn = (s: Series, from: number, to: number): number[] => {
    const set = new Set(parts.days().filter((d) => (d + 1) * dayMs > from && d * dayMs < to));
    const h = s.head;
    if (h) for (let i = lowerBound(h.ts, from); i < h.ts.length && (h.ts[i] as number) < to; i++) set.add(dayOf(h.ts[i] as number));
    return [...set].sort((a, b) => a - b);
  };

  // --- flushing heads into chunks -------------------------------------------------------------------------
  const writeChunks = (s: Series, day: number, ts: readonly number[], values: readonly TelemetryValue[]): void => {
    parts.insertRun(s.id, day, ts, values, cfg.chunkPoints);
  };
  /** Rewrites an hour's rollup from the chunks (after late points were merged into them). */
  const recomputeHour = (s: Series, day: number, hour: number): void => {
    const p = { ...emptyPartial(), hour };
    visitDay({ ...s, head: undefined }, day, hour, hour + hourMs, false, (_t, v) => {
      addValue(p, v);
      return true;
    });
    parts.setRollup(s.id, hour, p.n > 0 ? p : undefined);
  };
  /** Points at or before the series' newest stored ts: merged into the chunks they fall in (chunks never overlap). */
  const mergeOld = (s: Series, day: number, ts: number[], values: TelemetryValue[]): void => {
    const hours = new Set<number>();
    let added = 0;
    let i = 0;
    while (i < ts.length) {
      const t = ts[i] as number;
      const target = parts.chunkAtOrBefore(s.id, day, t) ?? parts.chunkAfter(s.id, day, t);
      // The points up to the next chunk's start belong to this target.
      const next = target ? parts.chunkAfter(s.id, day, target.start) : undefined;
      let j = i + 1;
      while (j < ts.length && (next === undefined || (ts[j] as number) < next.start)) j++;
      const run = { ts: ts.slice(i, j), values: values.slice(i, j) };
      for (const x of run.ts) hours.add(Math.floor(x / hourMs) * hourMs);
      if (!target) {
        writeChunks(s, day, run.ts, run.values);
        added += run.ts.length;
      } else {
        const merged = mergeRuns(decodeChunk(target.data), run);
        parts.deleteChunk(s.id, day, target.start);
        writeChunks(s, day, merged.ts, merged.values);
        added += merged.ts.length - target.n;
      }
      i = j;
    }
    parts.addPoints(day, added);
    for (const h of hours) recomputeHour(s, day, h);
  };
  /** Points after the series' newest stored ts: new chunks (a small last chunk of the day is filled up first). */
  const appendNew = (s: Series, day: number, ts: number[], values: TelemetryValue[]): void => {
    for (const p of hourPartials(ts, values, 0, ts.length, hourMs)) parts.addRollup(s.id, p);
    parts.addPoints(day, ts.length);
    const last = parts.lastChunk(s.id, day);
    if (last && last.n < cfg.chunkPoints / 2) {
      const d = decodeChunk(last.data);
      parts.deleteChunk(s.id, day, last.start);
      writeChunks(s, day, d.ts.concat(ts), d.values.concat(values));
    } else {
      writeChunks(s, day, ts, values);
    }
  };
  const flushSeries = (s: Series, h: Head): number => {
    const split = h.ooo ? lowerBound(h.ts, s.maxTs + 0.5) : 0;
    const byDay = (i0: number, i1: number, f: (day: number, ts: number[], values: TelemetryValue[]) => void): void => {
      let i = i0;
      while (i < i1) {
        const day = dayOf(h.ts[i] as number);
        const j = Math.min(i1, lowerBound(h.ts, (day + 1) * dayMs));
        f(day, h.ts.slice(i, j), h.values.slice(i, j));
        i = j;
      }
    };
    byDay(0, split, (day, ts, values) => {
      mergeOld(s, day, ts, values);
    });
    byDay(split, h.ts.length, (day, ts, values) => {
      appendNew(s, day, ts, values);
    });
    const maxTs = Math.max(s.maxTs, h.ts[h.ts.length - 1] as number);
    const l = s.latest;
    updateSeries.run(h.lastLsn, maxTs, l?.ts ?? null, ...(l ? columns(l.value) : [null, null, null, null]), s.id);
    return maxTs;
  };
  const flushTx = db.transaction((list: Series[]): number[] => list.map((s) => (s.head ? flushSeries(s, s.head) : s.maxTs)));
  const flush = (list: Series[]): void => {
    const live = list.filter((s) => s.head && series.get(s.id) === s);
    if (live.length === 0) return;
    let maxes: number[];
    try {
      maxes = flushTx(live);
    } catch (e) {
      parts.reload();
      throw e;
    }
    live.forEach((s, i) => {
      const h = s.head as Head;
      s.maxTs = maxes[i] as number;
      s.flushedLsn = h.lastLsn;
      headPoints -= h.ts.length;
      s.head = undefined;
      dirty.delete(s);
      full.delete(s);
    });
  };

  // --- applying points ------------------------------------------------------------------------------------
  /** Puts one point into its series' head; returns 1 when it replaced a value (in the head or in a chunk). */
  const apply = (s: Series, ts: number, value: TelemetryValue, lsn: number): number => {
    let h = s.head;
    if (!h) {
      h = s.head = { ts: [], values: [], firstLsn: lsn, lastLsn: lsn, ooo: false };
      dirty.add(s);
    }
    h.lastLsn = lsn;
    let replaced = headInsert(h, ts, value) ? 1 : 0;
    if (replaced === 0) headPoints++;
    if (ts <= s.maxTs) {
      h.ooo = true;
      if (replaced === 0 && storedHas(s, ts)) replaced = 1;
    }
    if (!s.latest || ts >= s.latest.ts) s.latest = { ts, value };
    if (h.ts.length >= cfg.chunkPoints) full.add(s);
    return replaced;
  };

  let flushScheduled = false;
  /** The last background flush failure; appends are refused with it once the heads hold twice their bound. */
  let flushError: Error | undefined;
  const report = (e: unknown): void => {
    flushError = e instanceof Error ? e : new Error(String(e));
    o.onError?.(e);
  };
  const runQueue = (): void => {
    flushScheduled = false;
    const slice: Series[] = [];
    for (const s of queue) {
      if (slice.length >= flushSlice) break;
      slice.push(s);
    }
    for (const s of slice) queue.delete(s);
    try {
      flush(slice);
      flushError = undefined;
    } catch (e) {
      // The slice stays dirty (its points are in the log); the maintenance tick queues it again.
      report(e);
      return;
    }
    kick();
  };
  const kick = (): void => {
    if (flushScheduled || queue.size === 0) return;
    flushScheduled = true;
    setImmediate(runQueue);
  };
  const enqueue = (list: Iterable<Series>): void => {
    for (const s of list) queue.add(s);
    kick();
  };
  /** After an append: full heads, and every head once they hold more than maxHeadPoints. */
  const scheduleFlush = (): void => {
    if (headPoints > cfg.maxHeadPoints && queue.size < dirty.size) enqueue(dirty);
    else if (full.size > 0) enqueue(full);
  };

  // --- open: dictionary, series, legacy rows, log replay ----------------------------------------------------
  loadKeys();
  loadSeries();
  if (convertLegacyRows(db, parts, cfg.chunkPoints)) loadSeries();
  let wal: WriteAheadLog | undefined;
  if (o.walDir !== undefined) {
    wal = WriteAheadLog.open(o.walDir, { sync: o.sync, segmentBytes: cfg.walSegmentBytes }, (lsn, points) => {
      for (const p of points) {
        const s = series.get(p.series);
        if (s && lsn > s.flushedLsn) apply(s, p.ts, p.value, lsn);
      }
    });
    let maxFlushed = 0;
    for (const s of series.values()) maxFlushed = Math.max(maxFlushed, s.flushedLsn);
    wal.advanceTo(maxFlushed + 1);
    flush([...dirty]);
    wal.deleteBefore(wal.lsn);
  }

  const maintenance = setInterval(() => {
    try {
      tick();
    } catch (e) {
      report(e);
    }
  }, 1000);
  maintenance.unref();
  const tick = (): void => {
    if (queue.size === 0) {
      // Retries what a failed flush left, and frees the log: heads holding points of segments beyond the
      // ones kept are flushed, partly filled or not.
      if (headPoints > cfg.maxHeadPoints) enqueue(dirty);
      else enqueue(full);
      const closed = wal?.closedSegments() ?? [];
      if (closed.length > cfg.walSegments) {
        const upTo = closed[closed.length - cfg.walSegments - 1]?.lastLsn ?? 0;
        enqueue([...dirty].filter((s) => (s.head?.firstLsn ?? Infinity) <= upTo));
      }
    }
    if (!wal) return;
    const cur = wal.current();
    if (cur && cur.bytes > 0 && cur.ageMs >= cfg.walSegmentMaxAgeMs) wal.rotate();
    let needed = wal.lsn;
    for (const s of dirty) needed = Math.min(needed, s.head?.firstLsn ?? needed);
    for (const l of unapplied) needed = Math.min(needed, l);
    wal.deleteBefore(needed);
  };

  const append = async (points: readonly TelemetryPoint[]): Promise<{ unknownDevices: Set<string>; replaced: number }> => {
    if (flushError !== undefined && headPoints > 2 * cfg.maxHeadPoints) throw flushError;
    const unknown = new Set<string>();
    const seqs: (number | undefined)[] = points.map((p) => seqOf(p.deviceId));
    const missing: [number, string][] = [];
    points.forEach((p, i) => {
      const seq = seqs[i];
      if (seq === undefined) unknown.add(p.deviceId);
      else {
        const k = keyIds.get(p.key);
        if (k === undefined || !byDevice.get(seq)?.get(k)) missing.push([seq, p.key]);
      }
    });
    if (missing.length > 0) createSeries(missing);
    const targets: Series[] = [];
    const owners: string[] = [];
    const log: WalPoint[] = [];
    points.forEach((p, i) => {
      const seq = seqs[i];
      if (seq === undefined) return;
      const s = byDevice.get(seq)?.get(keyIds.get(p.key) as number) as Series;
      targets.push(s);
      owners.push(p.deviceId);
      log.push({ series: s.id, ts: p.ts, value: p.value });
    });
    if (log.length === 0) return { unknownDevices: unknown, replaced: 0 };
    let lsn: number;
    if (wal) {
      const w = wal.append(log);
      lsn = w.lsn;
      unapplied.add(lsn);
      try {
        await w.written;
      } finally {
        unapplied.delete(lsn);
      }
    } else lsn = ++memLsn;
    let replaced = 0;
    targets.forEach((s, i) => {
      const p = log[i] as WalPoint;
      if (series.get(s.id) !== s) {
        // Deleted while the record was written: not stored (replay skips it too), reported like any unknown device.
        unknown.add(owners[i] as string);
        return;
      }
      replaced += apply(s, p.ts, p.value, lsn);
    });
    scheduleFlush();
    return { unknownDevices: unknown, replaced };
  };

  /** f per key of a known device; a key known to the dictionary but without data here gives []. */
  const forSeries = (deviceId: string, keys: readonly string[], f: (s: Series) => TimedValue[]): Record<string, TimedValue[]> => {
    const out: Record<string, TimedValue[]> = {};
    const seq = seqOf(deviceId);
    if (seq === undefined) return out;
    const m = byDevice.get(seq);
    for (const k of keys) {
      const id = keyIds.get(k);
      if (id === undefined) continue;
      const s = m?.get(id);
      out[k] = s ? f(s) : [];
    }
    return out;
  };

  return {
    append,
    query: async (q) =>
      forSeries(q.deviceId, q.keys, (s) => {
        const out: TimedValue[] = [];
        const desc = q.order === 'desc';
        const days = daysIn(s, q.from, q.to);
        if (desc) days.reverse();
        for (const day of days) {
          const more = visitDay(s, day, q.from, q.to, desc, (ts, value) => {
            out.push({ ts, value });
            return out.length < q.limit;
          });
          if (!more) break;
        }
        return out;
      }),
    aggregate: async (q) =>
      forSeries(q.deviceId, q.keys, (s) => {
        const b = new Buckets(q.from, q.intervalMs);
        // Whole hours come from the rollups, unless the head holds points that may replace stored ones.
        const hourly = q.intervalMs % hourMs === 0 && q.from % hourMs === 0 && !(s.head?.ooo ?? false);
        const rawFrom = hourly ? Math.max(q.from, Math.floor(q.to / hourMs) * hourMs) : q.from;
        if (hourly) for (const r of parts.rollups(s.id, q.from, rawFrom)) b.partial(r.hour, r);
        for (const day of daysIn(s, rawFrom, q.to)) {
          visitDay(s, day, rawFrom, q.to, false, (t, v) => {
            b.value(t, v);
            return true;
          });
        }
        // Rollups hold flushed points only; the head's newer points in those hours are added here.
        const h = s.head;
        if (h && hourly)
          for (let i = lowerBound(h.ts, q.from); i < h.ts.length && (h.ts[i] as number) < rawFrom; i++)
            b.value(h.ts[i] as number, h.values[i] as TelemetryValue);
        return b.result(q.agg, q.limit);
      }),
    latest: async (deviceId, keys) => {
      const seq = seqOf(deviceId);
      const out: Record<string, TimedValue> = {};
      const m = seq === undefined ? undefined : byDevice.get(seq);
      if (!m) return out;
      const wanted = keys && new Set(keys);
      for (const s of m.values()) {
        const name = keyNames.get(s.key);
        if (s.latest && name !== undefined && (!wanted || wanted.has(name))) out[name] = s.latest;
      }
      return out;
    },
    keys: async (deviceId) => {
      const seq = seqOf(deviceId);
      const m = seq === undefined ? undefined : byDevice.get(seq);
      if (!m) return [];
      return [...m.values()]
        .filter((s) => s.latest)
        .map((s) => keyNames.get(s.key) ?? '')
        .sort();
    },
    tenantKeys: async (tenantId) => (keysOfTenant.all(tenantId) as { key: string }[]).map((r) => r.key),
    deleteExpired: async (before) => {
      // Whole days only: a day's partition goes once all of it is older than `before` (docs/adr/0007). Heads
      // holding points of such days are flushed first, so their points go with the partition.
      const cut = Math.floor(before / dayMs) * dayMs;
      flush([...dirty].filter((s) => (s.head?.ts[0] ?? Infinity) < cut));
      const expired = parts.days().filter((d) => (d + 1) * dayMs <= before);
      const day = expired[0];
      if (day === undefined) return { deleted: 0, done: true };
      return { deleted: parts.drop(day), done: expired.length === 1 };
    },
    deleteDevice: async (deviceId) => {
      const seq = seqOf(deviceId);
      if (seq === undefined) return;
      db.transaction(() => {
        deleteSeries(db, { deviceSeq: seq });
      })();
      forget(deviceId);
    },
    forget: (deviceId) => {
      forget(deviceId);
    },
    problem: () => {
      const broken = wal?.failure;
      if (broken) return `the telemetry log refuses writes since one failed (${broken.message}); restart once the cause is fixed`;
      if (flushError) return `the last telemetry flush failed (${flushError.message}); it is retried, the points stay in the log`;
      return undefined;
    },
    close: async () => {
      clearInterval(maintenance);
      if (wal) await wal.close();
      flush([...dirty]);
      wal?.deleteBefore(Infinity);
    },
  };

  function forget(deviceId?: string): void {
    const seq = deviceId === undefined ? undefined : deviceSeq.get(deviceId);
    if (deviceId === undefined) deviceSeq.clear();
    else deviceSeq.delete(deviceId);
    if (seq === undefined) loadSeries();
    else for (const s of [...(byDevice.get(seq)?.values() ?? [])]) dropSeries(s);
    // Deleting series may have deleted dictionary keys: ids must not be reused from memory.
    loadKeys();
  }
}

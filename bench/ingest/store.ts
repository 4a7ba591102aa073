// Micro-benchmark of the SQLite storage adapter, without HTTP, MQTT or group commit:
//  1. append rows/s through createSqliteStore at batch sizes 100 / 1,000 / 10,000, synchronous full vs normal;
//  2. what the telemetry_ts retention index and the `latest` upsert cost (docs/adr/0002): the same append
//     statements on copies of the schema with and without them, opened here with better-sqlite3 (the
//     migrations are not changed), plus the database size and a retention delete batch with and without the index;
//  3. raw range and aggregate queries over a 1M-row table through the adapter.
// Measures and prints; asserts nothing. See bench/README.md.
//
//   node --import tsx bench/ingest/store.ts [--runs 3] [--quick] [--rows 200000] [--index-rows 1000000]
//        [--query-rows 1000000] [--parts append,index,query] [--json FILE]
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Store, TelemetryPoint } from '@thingstead/core';
import { migrations } from '../../packages/server/src/storage/sqlite/migrations';
import { createSqliteStore } from '../../packages/server/src/storage/sqlite/sqlite-store';
import { createDevices } from '../tsdb/fleet';
import { fmtInt, fmtMs, int, list, median } from './stats';

const PARTS = ['append', 'index', 'query'] as const;
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    rows: { type: 'string' },
    'index-rows': { type: 'string' },
    'query-rows': { type: 'string' },
    parts: { type: 'string', default: PARTS.join(',') },
    json: { type: 'string' },
  },
  strict: true,
});
const quick = args.quick;
const runs = int('runs', args.runs, quick ? 1 : 3);
const appendRows = int('rows', args.rows, quick ? 40_000 : 200_000);
const indexRows = int('index-rows', args['index-rows'], quick ? 200_000 : 1_000_000);
const queryRows = int('query-rows', args['query-rows'], quick ? 200_000 : 1_000_000);
const parts = new Set(list('parts', args.parts, PARTS));
const BATCHES = [100, 1000, 10_000];
const SYNCS = ['full', 'normal'] as const;
/** No single case runs longer than this; it then reports the rows it did. */
const CASE_LIMIT_MS = 60_000;
const DEVICES = 100;
const T0 = Date.UTC(2026, 0, 1);
const json: Record<string, unknown> = { argv: process.argv.slice(2) };

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'thingstead-bench-store-'));
  dirs.push(d);
  return d;
};
const removeDirs = (): void => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
};
process.on('exit', removeDirs);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    removeDirs();
    process.exit(130);
  });
}

/** A store in a fresh temp dir with one tenant, one profile and `n` devices; returns their ids. */
async function openStore(synchronous: 'full' | 'normal', n: number): Promise<{ store: Store; ids: string[]; path: string }> {
  const path = join(tempDir(), 'thingstead.db');
  const store = createSqliteStore({ path, synchronous });
  const ids = await createDevices(store, n, 'bench');
  return { store, ids, path };
}

/** Points as devices send them: message m is device m % DEVICES, temperature and humidity, one second apart per device. */
function points(ids: readonly string[], rows: number, offset = 0): TelemetryPoint[] {
  const out: TelemetryPoint[] = new Array<TelemetryPoint>(rows);
  for (let r = 0; r < rows; r++) {
    const m = (offset + r) >> 1;
    const deviceId = ids[m % ids.length]!;
    const ts = T0 + Math.floor(m / ids.length) * 1000;
    out[r] =
      (offset + r) % 2 === 0 ? { deviceId, key: 'temperature', ts, value: 20 + (m % 100) / 10 } : { deviceId, key: 'humidity', ts, value: 40 + (m % 50) };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// 1. Append through the adapter.
async function appendCase(sync: 'full' | 'normal', batch: number): Promise<{ rowsPerSec: number; rows: number; commitMs: number }> {
  const { store, ids } = await openStore(sync, DEVICES);
  const all = points(ids, appendRows);
  const t0 = performance.now();
  let done = 0;
  while (done < all.length && performance.now() - t0 < CASE_LIMIT_MS) {
    await store.telemetry.append(all.slice(done, done + batch));
    done += batch;
  }
  const ms = performance.now() - t0;
  await store.close();
  removeDirs();
  const rows = Math.min(done, all.length);
  return { rowsPerSec: (rows / ms) * 1000, rows, commitMs: ms / Math.ceil(rows / batch) };
}

// ---------------------------------------------------------------------------------------------------------
// 2. The same append statements on schema copies: with/without the ts index and the latest upsert.
interface Variant {
  name: string;
  tsIndex: boolean;
  /** row: one upsert per row (the first cut); batch: one per series per transaction, newest ts wins (as shipped); none. */
  latest: 'row' | 'batch' | 'none';
}
const VARIANTS: Variant[] = [
  { name: 'as shipped (no ts index, latest once per series per batch)', tsIndex: false, latest: 'batch' },
  { name: 'with a telemetry_ts index', tsIndex: true, latest: 'batch' },
  { name: 'latest per row', tsIndex: false, latest: 'row' },
  { name: 'first cut (ts index, latest per row)', tsIndex: true, latest: 'row' },
  { name: 'without latest upsert', tsIndex: false, latest: 'none' },
];

function openCopy(v: Variant, sync: 'full' | 'normal'): Database.Database {
  const db = new Database(join(tempDir(), 'copy.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
  // The migrations end without the ts index (migration 3 drops it); the first cut's index is added back here.
  db.exec(migrations.join('\n'));
  if (v.tsIndex) db.exec('CREATE INDEX telemetry_ts ON telemetry(ts)');
  return db;
}

function rawAppender(db: Database.Database, latest: Variant['latest']): (rows: readonly (readonly [number, number, number, number])[]) => void {
  // The statements of packages/server/src/storage/sqlite/telemetry.ts.
  const insertPoint = db.prepare('INSERT OR REPLACE INTO telemetry (device, key, ts, num, str, bool, json) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const upsertLatest = db.prepare(`INSERT INTO latest (device, key, ts, num, str, bool, json) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (device, key) DO UPDATE SET ts = excluded.ts, num = excluded.num, str = excluded.str, bool = excluded.bool, json = excluded.json
    WHERE excluded.ts >= latest.ts`);
  return db.transaction((rows: readonly (readonly [number, number, number, number])[]) => {
    const newest = new Map<number, readonly [number, number, number, number]>();
    for (const row of rows) {
      const [d, k, ts, v] = row;
      insertPoint.run(d, k, ts, v, null, null, null);
      if (latest === 'row') upsertLatest.run(d, k, ts, v, null, null, null);
      else if (latest === 'batch') {
        const series = d * 1_000_000 + k;
        const seen = newest.get(series);
        if (seen === undefined || ts >= seen[2]) newest.set(series, row);
      }
    }
    for (const [d, k, ts, v] of newest.values()) upsertLatest.run(d, k, ts, v, null, null, null);
  });
}

function rawRows(rows: number): [number, number, number, number][] {
  const out: [number, number, number, number][] = new Array<[number, number, number, number]>(rows);
  for (let r = 0; r < rows; r++) {
    const m = r >> 1;
    out[r] = [1 + (m % DEVICES), 1 + (r % 2), T0 + Math.floor(m / DEVICES) * 1000, 20 + (m % 100) / 10];
  }
  return out;
}

interface IndexResult {
  rowsPerSec: number;
  /** Rows/s of the last tenth: the rate once the table is large. */
  lastTenthRowsPerSec: number;
  rows: number;
  mb: number;
  retentionBatchMs: number;
  /** The same 5,000 rows deleted per series through the primary key (no ts index needed). */
  perSeriesDeleteMs: number;
}

function indexCase(v: Variant, sync: 'full' | 'normal', batch: number, all: readonly (readonly [number, number, number, number])[]): IndexResult {
  const db = openCopy(v, sync);
  const append = rawAppender(db, v.latest);
  const t0 = performance.now();
  let done = 0;
  let tTenth = t0;
  const tenth = all.length - Math.floor(all.length / 10);
  while (done < all.length && performance.now() - t0 < CASE_LIMIT_MS) {
    if (done >= tenth && tTenth === t0) tTenth = performance.now();
    append(all.slice(done, done + batch));
    done += batch;
  }
  const t1 = performance.now();
  const rows = Math.min(done, all.length);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const pages = db.pragma('page_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  // One retention batch: the retention statement the adapter used before it walked series (ts index), 5,000 rows (the default batch size): the
  // first 25 s of every series (200 series x 25 rows). Then the next 25 s deleted per series through the primary
  // key, as a retention job that walks `latest` could do without the ts index.
  const deleteOld = db.prepare('DELETE FROM telemetry WHERE (device, key, ts) IN (SELECT device, key, ts FROM telemetry WHERE ts < ? ORDER BY ts LIMIT ?)');
  const d0 = performance.now();
  const deleted = deleteOld.run(T0 + 25_000, 5000).changes;
  const retentionBatchMs = performance.now() - d0;
  const series = db.prepare('SELECT device, key FROM latest').all() as { device: number; key: number }[];
  const deleteSeries = db.prepare('DELETE FROM telemetry WHERE device = ? AND key = ? AND ts < ?');
  // Variants without `latest`: the series are known here (DEVICES x 2 keys).
  const known = series.length > 0 ? series : Array.from({ length: DEVICES * 2 }, (_, i) => ({ device: 1 + (i >> 1), key: 1 + (i % 2) }));
  const p0 = performance.now();
  let perSeries = 0;
  // One transaction, like the adapter's single DELETE statement.
  db.transaction(() => {
    for (const x of known) perSeries += deleteSeries.run(x.device, x.key, T0 + 50_000).changes;
  })();
  const perSeriesDeleteMs = performance.now() - p0;
  if (deleted !== 5000 || perSeries !== 5000) console.log(`  (retention check: deleted ${deleted} then ${perSeries} rows, expected 5,000 each)`);
  db.close();
  removeDirs();
  return {
    rowsPerSec: (rows / (t1 - t0)) * 1000,
    lastTenthRowsPerSec: tTenth === t0 ? Number.NaN : ((rows - tenth) / (t1 - tTenth)) * 1000,
    rows,
    mb: (pages * pageSize) / 1e6,
    retentionBatchMs,
    perSeriesDeleteMs,
  };
}

// ---------------------------------------------------------------------------------------------------------
// 3. Queries over a large table, through the adapter.
const QUERY_DEVICES = 10;
interface QueryCase {
  name: string;
  run: (store: Store, deviceId: string, perDevice: number) => Promise<number>;
}
const QUERIES: QueryCase[] = [
  {
    name: 'raw, 1 hour (3,600 rows), asc',
    run: async (s, d) =>
      (await s.telemetry.query({ deviceId: d, keys: ['temperature'], from: T0, to: T0 + 3_600_000, limit: 100_000, order: 'asc' })).temperature?.length ?? 0,
  },
  {
    name: 'raw, newest 100 (API default), desc',
    run: async (s, d) =>
      (await s.telemetry.query({ deviceId: d, keys: ['temperature'], from: 0, to: T0 + 1e12, limit: 100, order: 'desc' })).temperature?.length ?? 0,
  },
  {
    name: 'raw, whole series, limit 100,000',
    run: async (s, d) =>
      (await s.telemetry.query({ deviceId: d, keys: ['temperature'], from: 0, to: T0 + 1e12, limit: 100_000, order: 'asc' })).temperature?.length ?? 0,
  },
  {
    name: 'avg per hour, whole series',
    run: async (s, d, n) =>
      (await s.telemetry.aggregate({ deviceId: d, keys: ['temperature'], from: T0, to: T0 + n * 1000, intervalMs: 3_600_000, agg: 'avg', limit: 100_000 }))
        .temperature?.length ?? 0,
  },
  {
    name: 'avg per minute, 1 day',
    run: async (s, d) =>
      (await s.telemetry.aggregate({ deviceId: d, keys: ['temperature'], from: T0, to: T0 + 86_400_000, intervalMs: 60_000, agg: 'avg', limit: 100_000 }))
        .temperature?.length ?? 0,
  },
  {
    name: 'count per hour, whole series',
    run: async (s, d, n) =>
      (await s.telemetry.aggregate({ deviceId: d, keys: ['temperature'], from: T0, to: T0 + n * 1000, intervalMs: 3_600_000, agg: 'count', limit: 100_000 }))
        .temperature?.length ?? 0,
  },
  {
    name: 'latest (all keys of a device)',
    run: async (s, d) => Object.keys(await s.telemetry.latest(d)).length,
  },
];

async function queryPart(): Promise<{ name: string; ms: number; rows: number }[]> {
  const { store, ids } = await openStore('normal', QUERY_DEVICES);
  // QUERY_DEVICES series of `temperature`, one value per second, filled in 10,000-row transactions.
  const perDevice = Math.floor(queryRows / QUERY_DEVICES);
  const t0 = performance.now();
  for (let m = 0; m < perDevice * QUERY_DEVICES;) {
    const batch: TelemetryPoint[] = [];
    for (let k = 0; k < 10_000 && m < perDevice * QUERY_DEVICES; k++, m++) {
      batch.push({ deviceId: ids[m % QUERY_DEVICES]!, key: 'temperature', ts: T0 + Math.floor(m / QUERY_DEVICES) * 1000, value: 20 + (m % 100) / 10 });
    }
    await store.telemetry.append(batch);
  }
  console.log(
    `query table: ${fmtInt(perDevice * QUERY_DEVICES)} rows (${QUERY_DEVICES} devices x ${fmtInt(perDevice)} s) filled in ${fmtInt(performance.now() - t0)} ms`,
  );
  const out: { name: string; ms: number; rows: number }[] = [];
  const device = ids[QUERY_DEVICES >> 1]!;
  for (const q of QUERIES) {
    await q.run(store, device, perDevice); // warm: statement, cache
    const times: number[] = [];
    let rows = 0;
    const tq = performance.now();
    for (let i = 0; i < 15 && (i < 3 || performance.now() - tq < 10_000); i++) {
      const s = performance.now();
      rows = await q.run(store, device, perDevice);
      times.push(performance.now() - s);
    }
    out.push({ name: q.name, ms: median(times), rows });
  }
  await store.close();
  removeDirs();
  return out;
}

// ---------------------------------------------------------------------------------------------------------
console.log(
  `# SQLite adapter benchmark: ${runs} run(s); append ${fmtInt(appendRows)} rows per case; index ${fmtInt(indexRows)} rows; query table ${fmtInt(queryRows)} rows; node ${process.version}\n`,
);

if (parts.has('append')) {
  const results = new Map<string, { rowsPerSec: number; commitMs: number }[]>();
  for (let run = 1; run <= runs; run++) {
    for (const sync of SYNCS) {
      for (const batch of BATCHES) {
        const r = await appendCase(sync, batch);
        const key = `${sync}|${batch}`;
        results.set(key, [...(results.get(key) ?? []), r]);
        console.log(
          `run ${run} append sync=${sync} batch=${batch}: ${fmtInt(r.rowsPerSec)} rows/s (${fmtInt(r.rows)} rows, ${fmtMs(r.commitMs)} ms per transaction)`,
        );
      }
    }
  }
  const lines = [
    '| batch (rows per transaction) | sync full rows/s | ms per commit | sync normal rows/s | ms per commit | normal / full |',
    '|--:|--:|--:|--:|--:|--:|',
  ];
  for (const batch of BATCHES) {
    const f = results.get(`full|${batch}`) ?? [];
    const n = results.get(`normal|${batch}`) ?? [];
    const fr = median(f.map((x) => x.rowsPerSec));
    const nr = median(n.map((x) => x.rowsPerSec));
    lines.push(
      `| ${fmtInt(batch)} | ${fmtInt(fr)} | ${fmtMs(median(f.map((x) => x.commitMs)))} | ${fmtInt(nr)} | ${fmtMs(median(n.map((x) => x.commitMs)))} | ${(nr / fr).toFixed(2)}x |`,
    );
  }
  console.log(
    `\nAppend through createSqliteStore (telemetry rows + latest once per series per transaction), ${DEVICES} devices x 2 keys, medians of ${runs}:\n${lines.join('\n')}\n`,
  );
  json.append = Object.fromEntries(results);
}

if (parts.has('index')) {
  const all = rawRows(indexRows);
  const results = new Map<string, IndexResult[]>();
  const cases = [
    { sync: 'full' as const, batch: 1000 },
    { sync: 'full' as const, batch: 10_000 },
  ];
  for (let run = 1; run <= runs; run++) {
    for (const c of cases) {
      for (const v of VARIANTS) {
        const r = indexCase(v, c.sync, c.batch, all);
        const key = `${c.sync}|${c.batch}|${v.name}`;
        results.set(key, [...(results.get(key) ?? []), r]);
        console.log(
          `run ${run} schema copy sync=${c.sync} batch=${c.batch} ${v.name}: ${fmtInt(r.rowsPerSec)} rows/s, last tenth ${fmtInt(r.lastTenthRowsPerSec)} rows/s, ` +
            `${r.mb.toFixed(1)} MB, retention batch ${fmtMs(r.retentionBatchMs)} ms, per series ${fmtMs(r.perSeriesDeleteMs)} ms`,
        );
      }
    }
  }
  const lines = [
    '| sync, batch | schema | rows/s | vs shipped | last tenth rows/s | DB size MB | delete 5,000 oldest ms | same, per series by PK ms |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const c of cases) {
    const shipped = median((results.get(`${c.sync}|${c.batch}|${VARIANTS[0]!.name}`) ?? []).map((x) => x.rowsPerSec));
    for (const v of VARIANTS) {
      const rs = results.get(`${c.sync}|${c.batch}|${v.name}`) ?? [];
      const rps = median(rs.map((x) => x.rowsPerSec));
      lines.push(
        `| ${c.sync}, ${fmtInt(c.batch)} | ${v.name} | ${fmtInt(rps)} | ${(rps / shipped).toFixed(2)}x | ${fmtInt(median(rs.map((x) => x.lastTenthRowsPerSec)))} | ` +
          `${median(rs.map((x) => x.mb)).toFixed(1)} | ${fmtMs(median(rs.map((x) => x.retentionBatchMs)))} | ${fmtMs(median(rs.map((x) => x.perSeriesDeleteMs)))} |`,
      );
    }
  }
  console.log(
    `\nSchema copies (better-sqlite3, the adapter's statements), ${fmtInt(indexRows)} rows into an empty table, medians of ${runs}:\n${lines.join('\n')}\n`,
  );
  json.index = Object.fromEntries(results);
}

if (parts.has('query')) {
  const results = new Map<string, { ms: number; rows: number }[]>();
  for (let run = 1; run <= runs; run++) {
    for (const r of await queryPart()) {
      results.set(r.name, [...(results.get(r.name) ?? []), r]);
      console.log(`run ${run} query ${r.name}: ${fmtMs(r.ms)} ms (${fmtInt(r.rows)} rows/buckets)`);
    }
  }
  const lines = ['| query (one device, key temperature) | rows or buckets returned | ms (median) |', '|---|--:|--:|'];
  for (const [name, rs] of results) lines.push(`| ${name} | ${fmtInt(rs[0]?.rows ?? 0)} | ${fmtMs(median(rs.map((x) => x.ms)))} |`);
  console.log(
    `\nQueries through the adapter on a ${fmtInt(queryRows)}-row table, medians of ${runs} runs (each the median of up to 15 calls):\n${lines.join('\n')}\n`,
  );
  json.query = Object.fromEntries(results);
}

if (args.json !== undefined) writeFileSync(args.json, JSON.stringify(json, null, 2));

// The time-series storage targets of the telemetry issue, measured through the public port only
// (createSqliteStore(...).telemetry), so the same script runs against the row-per-point SQLite layout and a new
// engine behind the same port, side by side. Measures and prints; asserts nothing. See bench/README.md.
//
//   node --import tsx bench/tsdb/store.ts [--quick] [--points 2000000] [--const-points N] [--retention-devices 10000]
//        [--retention-interval-s 300] [--retention-budget 10000] [--reps 15] [--sync full|normal]
//        [--parts seed,const,retention] [--repos before=DIR,after=.] [--json FILE]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Store, TelemetryPoint } from '@thingstead/core';
import { children, installCleanup } from '../lib/child-cleanup';
import { fmtInt, fmtMs, int, list, median } from '../ingest/stats';
import { createDevices, dirBytes, fleetInstant, loadStoreFactory, METER_KEYS, type StoreFactory, type Synchronous } from './fleet';
import { mulberry32 } from '@thingstead/core/testing';

const PARTS = ['seed', 'const', 'retention'] as const;
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    points: { type: 'string' },
    'const-points': { type: 'string' },
    'retention-devices': { type: 'string' },
    'retention-interval-s': { type: 'string' },
    'retention-budget': { type: 'string', default: '10000' },
    reps: { type: 'string' },
    sync: { type: 'string', default: 'full' },
    // SQLite PRAGMAs for the store (name=value,...), e.g. page_size=16384,mmap_size=268435456; older checkouts ignore them.
    pragmas: { type: 'string' },
    parts: { type: 'string', default: PARTS.join(',') },
    repos: { type: 'string' },
    json: { type: 'string' },
    // Internal: set by the parent for each --repos child.
    repo: { type: 'string' },
    'child-out': { type: 'string' },
  },
  strict: true,
});
const quick = args.quick;
const points = int('points', args.points, quick ? 300_000 : 2_000_000);
const constPoints = int('const-points', args['const-points'], Math.min(points, quick ? 150_000 : 1_000_000));
const retentionDevices = int('retention-devices', args['retention-devices'], quick ? 1000 : 10_000);
const retentionIntervalS = int('retention-interval-s', args['retention-interval-s'], quick ? 900 : 300);
const retentionBudget = int('retention-budget', args['retention-budget'], 10_000);
const reps = int('reps', args.reps, quick ? 5 : 15);
const sync = list('sync', args.sync, ['full', 'normal'])[0] as Synchronous;
const pragmas: Record<string, number> = Object.fromEntries(
  (args.pragmas ?? '')
    .split(',')
    .filter((p) => p !== '')
    .map((p) => {
      const [k, v] = p.split('=');
      if (k === undefined || v === undefined || !/^[a-z_]+$/.test(k) || !Number.isFinite(Number(v))) throw new Error(`--pragmas: ${p} is not name=number`);
      return [k, Number(v)];
    }),
);
const parts = new Set(list('parts', args.parts, PARTS));

const FLEET = 1000;
const DAY = 86_400_000;
const HOUR = 3_600_000;
/** The year series: 2025, one point a minute. The fleet starts after it, in 2026. */
const YEAR_T0 = Date.UTC(2025, 0, 1);
const YEAR_POINTS = 365 * 1440;
const FLEET_T0 = Date.UTC(2026, 0, 1);
/** The retention store's old day, and newer points just after it. */
const OLD_DAY = Date.UTC(2026, 0, 10);

interface Metric {
  name: string;
  value: number;
  unit: string;
  /** The issue's target, as text (e.g. "< 10"); figures are printed, never checked against it. */
  target?: string;
  /** How to compare two repos: lower or higher is better. */
  better: 'lower' | 'higher';
}
interface RepoResult {
  name: string;
  root: string;
  commit: string;
  metrics: Metric[];
  notes: string[];
}

const machine = (): string =>
  `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}, node ${process.version}`;
const commitOf = (root: string): string => {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'thingstead-bench-tsdb-'));
  dirs.push(d);
  return d;
};
const removeDirs = (): void => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
};
process.on('exit', removeDirs);
installCleanup();

/** Median and p90 of `n` timed calls. */
async function timed(n: number, f: () => Promise<unknown>): Promise<{ p50: number; p90: number }> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await f();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { p50: median(t), p90: t[Math.min(t.length - 1, Math.floor(0.9 * t.length))]! };
}

const count = (r: Record<string, unknown[]>): number => Object.values(r).reduce((a, v) => a + v.length, 0);

// ---------------------------------------------------------------------------------------------------------
// 1-3, 5: the fleet, the year series, queries, latest, disk.
async function seedPart(open: StoreFactory, m: Metric[], notes: string[]): Promise<void> {
  const dir = tempDir();
  const path = join(dir, 'thingstead.db');
  let store: Store = open({ path, synchronous: sync, pragmas });
  const fleet = await createDevices(store, FLEET, 'fleet');
  const [yearDevice] = await createDevices(store, 1, 'year');
  const rnd = mulberry32(1);
  const batches = Math.ceil(points / (FLEET * 3));
  const decile: number[] = [];
  let done = 0;
  let next = 1;
  let tDecile = performance.now();
  let pDecile = 0;
  const t0 = tDecile;
  for (let b = 0; b < batches; b++) {
    let batch = fleetInstant(fleet, FLEET_T0 + b * 1000, rnd, false);
    if (done + batch.length > points) batch = batch.slice(0, points - done);
    await store.telemetry.append(batch);
    done += batch.length;
    while (done >= (next * points) / 10 && next <= 10) {
      const now = performance.now();
      decile.push(((done - pDecile) / (now - tDecile)) * 1000);
      tDecile = now;
      pDecile = done;
      next++;
    }
  }
  const seedMs = performance.now() - t0;
  console.log(`  seeded ${fmtInt(done)} points in ${fmtInt(seedMs)} ms; points/s per tenth: ${decile.map(fmtInt).join(' ')}`);
  m.push({ name: 'seed: append points/s, whole', value: (done / seedMs) * 1000, unit: 'points/s', better: 'higher' });
  m.push({ name: 'seed: append points/s, first tenth', value: decile[0] ?? Number.NaN, unit: 'points/s', better: 'higher' });
  m.push({ name: 'seed: append points/s, last tenth', value: decile.at(-1) ?? Number.NaN, unit: 'points/s', better: 'higher' });
  m.push({
    name: 'seed: last tenth / first tenth',
    value: (decile.at(-1) ?? Number.NaN) / (decile[0] ?? Number.NaN),
    unit: 'x',
    target: '>= 0.90',
    better: 'higher',
  });

  // The year series, one day (1,440 points) per append, in time order.
  const yrnd = mulberry32(2);
  const ty = performance.now();
  for (let d = 0; d < 365; d++) {
    const batch: TelemetryPoint[] = new Array<TelemetryPoint>(1440);
    for (let i = 0; i < 1440; i++) {
      batch[i] = { deviceId: yearDevice!, key: 'power', ts: YEAR_T0 + (d * 1440 + i) * 60_000, value: Math.round((276.1 + (yrnd() - 0.5) * 40) * 10) / 10 };
    }
    await store.telemetry.append(batch);
  }
  console.log(`  year series: ${fmtInt(YEAR_POINTS)} points in ${fmtInt(performance.now() - ty)} ms`);
  const stored = done + YEAR_POINTS;

  await store.close();
  const bytesClosed = dirBytes(dir);
  store = open({ path, synchronous: sync, pragmas });
  await store.close();
  const bytesReopened = dirBytes(dir);
  m.push({ name: 'disk: bytes per point after close', value: bytesClosed / stored, unit: 'B', target: '< 4', better: 'lower' });
  m.push({ name: 'disk: bytes per point after reopen + close', value: bytesReopened / stored, unit: 'B', target: '< 4', better: 'lower' });
  notes.push(`store of ${fmtInt(stored)} points: ${fmtInt(bytesClosed)} bytes after close, ${fmtInt(bytesReopened)} after reopen`);

  // Queries. The first call after a reopen is "cold" for the engine (its caches, statements, heads); the OS
  // page cache still holds the files.
  store = open({ path, synchronous: sync, pragmas });
  const yd = yearDevice!;
  const queries: { name: string; target: string; expect: number; run: () => Promise<number> }[] = [
    {
      name: 'hourly avg of one series over a year',
      target: '< 20',
      expect: 8760,
      run: async () =>
        count(
          await store.telemetry.aggregate({
            deviceId: yd,
            keys: ['power'],
            from: YEAR_T0,
            to: YEAR_T0 + 365 * DAY,
            intervalMs: HOUR,
            agg: 'avg',
            limit: 10_000,
          }),
        ),
    },
    {
      name: 'raw points of one series, one hour',
      target: '< 5',
      expect: 60,
      run: async () =>
        count(
          await store.telemetry.query({
            deviceId: yd,
            keys: ['power'],
            from: YEAR_T0 + 200 * DAY,
            to: YEAR_T0 + 200 * DAY + HOUR,
            limit: 100_000,
            order: 'asc',
          }),
        ),
    },
    {
      name: 'raw points of one series, 100,000 (a chart)',
      target: '< 50',
      expect: 100_000,
      run: async () =>
        count(await store.telemetry.query({ deviceId: yd, keys: ['power'], from: YEAR_T0 + 100 * DAY, to: YEAR_T0 + 365 * DAY, limit: 100_000, order: 'asc' })),
    },
    {
      name: `latest of ${fmtInt(FLEET)} devices (sequential calls, total)`,
      target: '< 10',
      expect: FLEET * 3,
      run: async () => {
        let n = 0;
        for (const id of fleet) n += Object.keys(await store.telemetry.latest(id)).length;
        return n;
      },
    },
  ];
  for (const q of queries) {
    const c0 = performance.now();
    const got = await q.run();
    const cold = performance.now() - c0;
    if (got !== q.expect) notes.push(`CHECK ${q.name}: ${fmtInt(got)} points/buckets, expected ${fmtInt(q.expect)}`);
    const w = await timed(reps, q.run);
    console.log(`  ${q.name}: cold ${fmtMs(cold)} ms, median ${fmtMs(w.p50)} ms, p90 ${fmtMs(w.p90)} ms (${fmtInt(got)} points/buckets)`);
    m.push({ name: `${q.name}, cold`, value: cold, unit: 'ms', target: q.target, better: 'lower' });
    m.push({ name: `${q.name}, median`, value: w.p50, unit: 'ms', target: q.target, better: 'lower' });
    m.push({ name: `${q.name}, p90`, value: w.p90, unit: 'ms', target: q.target, better: 'lower' });
  }
  await store.close();
  notes.push(`queries on a store of ${fmtInt(stored)} points (the issue: 100 M; --points sets it)`);
  removeDirs();
}

/** Bytes per point of the same fleet sending constant values. */
async function constPart(open: StoreFactory, m: Metric[]): Promise<void> {
  const dir = tempDir();
  const store = open({ path: join(dir, 'thingstead.db'), synchronous: sync, pragmas });
  const fleet = await createDevices(store, FLEET, 'const');
  const rnd = mulberry32(3);
  let done = 0;
  for (let b = 0; done < constPoints; b++) {
    let batch = fleetInstant(fleet, FLEET_T0 + b * 1000, rnd, true);
    if (done + batch.length > constPoints) batch = batch.slice(0, constPoints - done);
    await store.telemetry.append(batch);
    done += batch.length;
  }
  await store.close();
  m.push({ name: `disk: bytes per point, constant values (${fmtInt(done)} points)`, value: dirBytes(dir) / done, unit: 'B', target: '< 4', better: 'lower' });
  removeDirs();
}

// ---------------------------------------------------------------------------------------------------------
// 4. Retention of a day of old data.
async function retentionPart(open: StoreFactory, m: Metric[], notes: string[]): Promise<void> {
  const dir = tempDir();
  const path = join(dir, 'thingstead.db');
  let store = open({ path, synchronous: sync, pragmas });
  const ids = await createDevices(store, retentionDevices, 'ret');
  const perSeries = Math.floor(DAY / (retentionIntervalS * 1000));
  const rnd = mulberry32(4);
  const tf = performance.now();
  for (let s = 0; s < perSeries; s++) {
    for (let i = 0; i < ids.length; i += FLEET)
      await store.telemetry.append(fleetInstant(ids.slice(i, i + FLEET), OLD_DAY + s * retentionIntervalS * 1000, rnd, false));
  }
  const cutoff = OLD_DAY + DAY;
  // Newer points: one instant just after the day, which must survive.
  for (let i = 0; i < ids.length; i += FLEET) await store.telemetry.append(fleetInstant(ids.slice(i, i + FLEET), cutoff + 60_000, rnd, false));
  const oldPoints = ids.length * 3 * perSeries;
  console.log(
    `  retention store: ${fmtInt(ids.length)} devices x 3 keys x ${fmtInt(perSeries)} points (every ${retentionIntervalS} s) = ${fmtInt(oldPoints)} old points, ` +
      `+ ${fmtInt(ids.length * 3)} newer; filled in ${fmtInt(performance.now() - tf)} ms`,
  );
  // At rest, as a day that expired would be: closed and reopened.
  await store.close();
  store = open({ path, synchronous: sync, pragmas });

  const steps: number[] = [];
  let deleted = 0;
  const t0 = performance.now();
  for (;;) {
    const s = performance.now();
    const r = await store.telemetry.deleteExpired(cutoff, retentionBudget);
    steps.push(performance.now() - s);
    deleted += r.deleted;
    if (r.done || performance.now() - t0 > 600_000) break;
    // As RetentionJob does: yield between steps so ingest runs.
    await new Promise((r2) => setTimeout(r2, 0));
  }
  const totalMs = performance.now() - t0;
  const sorted = [...steps].sort((a, b) => a - b);
  console.log(`  retention: ${fmtInt(deleted)} points deleted in ${steps.length} steps, ${fmtInt(totalMs)} ms, longest step ${fmtMs(sorted.at(-1) ?? 0)} ms`);
  m.push({ name: `retention: a day of ${fmtInt(ids.length)} devices, total`, value: totalMs, unit: 'ms', target: '< 1000', better: 'lower' });
  m.push({ name: 'retention: longest step (blocks ingest)', value: sorted.at(-1) ?? Number.NaN, unit: 'ms', better: 'lower' });
  m.push({ name: 'retention: step p50', value: median(sorted), unit: 'ms', better: 'lower' });
  m.push({ name: 'retention: steps', value: steps.length, unit: '', better: 'lower' });

  // Check on up to 100 devices spread over the list: nothing of the day left, the newer points all there.
  let oldLeft = 0;
  let newer = 0;
  const picks = [...new Set(Array.from({ length: Math.min(100, ids.length) }, (_, i) => ids[Math.floor((i * ids.length) / Math.min(100, ids.length))]!))];
  for (const id of picks) {
    oldLeft += count(await store.telemetry.query({ deviceId: id, keys: METER_KEYS, from: 0, to: cutoff, limit: 100_000, order: 'asc' }));
    newer += count(await store.telemetry.query({ deviceId: id, keys: METER_KEYS, from: cutoff, to: cutoff + HOUR, limit: 100_000, order: 'asc' }));
  }
  const ok = deleted === oldPoints && oldLeft === 0 && newer === picks.length * 3;
  const check = `retention check: ${ok ? 'ok' : 'FAILED'}: deleted ${fmtInt(deleted)} of ${fmtInt(oldPoints)}; on ${picks.length} devices ${oldLeft} old points left, ${newer} of ${picks.length * 3} newer points there`;
  console.log(`  ${check}`);
  notes.push(check);
  await store.close();
  removeDirs();
}

async function runRepo(root: string, name: string): Promise<RepoResult> {
  const open = await loadStoreFactory(root);
  const metrics: Metric[] = [];
  const notes: string[] = [];
  console.log(`## ${name} (${root} at ${commitOf(root)}): ${machine()}`);
  if (parts.has('seed')) await seedPart(open, metrics, notes);
  if (parts.has('const')) await constPart(open, metrics);
  if (parts.has('retention')) await retentionPart(open, metrics, notes);
  console.log(`## ${name} done: load average ${loadavg()[0]!.toFixed(2)}`);
  return { name, root, commit: commitOf(root), metrics, notes };
}

function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (unit === 'ms') return fmtMs(v);
  if (unit === 'B' || unit === 'x') return v.toFixed(2);
  return fmtInt(v);
}

function repoTable(r: RepoResult): string {
  const lines = [`| ${r.name} (${r.commit}) | value | unit | issue's target |`, '|---|--:|---|---|'];
  for (const x of r.metrics) lines.push(`| ${x.name} | ${fmt(x.value, x.unit)} | ${x.unit} | ${x.target ?? ''} |`);
  return `${lines.join('\n')}\n${r.notes.map((n) => `- ${n}`).join('\n')}`;
}

function sideBySide(rs: RepoResult[]): string {
  const [a, b] = rs;
  const lines = [
    `| metric | ${rs.map((r) => `${r.name} (${r.commit})`).join(' | ')} | ${b ? `${b.name} / ${a!.name}` : ''} | target |`,
    `|---|${rs.map(() => '--:|').join('')}--:|---|`,
  ];
  for (const x of a?.metrics ?? []) {
    const vals = rs.map((r) => r.metrics.find((y) => y.name === x.name)?.value ?? Number.NaN);
    const ratio = vals.length > 1 ? vals[1]! / vals[0]! : Number.NaN;
    lines.push(`| ${x.name} | ${vals.map((v) => fmt(v, x.unit)).join(' | ')} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : ''} | ${x.target ?? ''} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
const header =
  `# Time-series storage benchmark (through createSqliteStore): sync ${sync}; PRAGMAs ${args.pragmas ?? 'default'}; fleet ${fmtInt(points)} points (${FLEET} devices x 3 keys, ` +
  `${FLEET * 3} per append) + a year series of ${fmtInt(YEAR_POINTS)}; constant-value store ${fmtInt(constPoints)}; retention ` +
  `${fmtInt(retentionDevices)} devices every ${retentionIntervalS} s, budget ${fmtInt(retentionBudget)}; ${reps} reps per query\n# ${machine()}`;

if (args['child-out'] !== undefined) {
  // A --repos child: measure the checkout given, hand the figures to the parent.
  const r = await runRepo(resolve(args.repo ?? '.'), process.env.BENCH_REPO_NAME ?? 'repo');
  writeFileSync(args['child-out'], JSON.stringify(r));
} else {
  console.log(header);
  const repos =
    args.repos === undefined
      ? undefined
      : args.repos.split(',').map((spec) => {
          const [name, path] = spec.split('=');
          if (name === undefined || name === '' || path === undefined || path === '') throw new Error(`--repos wants name=path,name=path (got ${spec})`);
          return { name, root: resolve(path) };
        });
  const results: RepoResult[] = [];
  if (repos === undefined) {
    results.push(await runRepo(resolve(import.meta.dirname, '../..'), 'this repo'));
  } else {
    // One child per checkout, one after the other (never two heavy runs at once), each in that checkout's
    // directory so its tsx and its dependencies are used; the store comes from that checkout's own files.
    const outDir = tempDir();
    const forward = process.argv.slice(2).filter((a, i, all) => a !== '--repos' && all[i - 1] !== '--repos' && !a.startsWith('--repos='));
    for (const repo of repos) {
      const out = join(outDir, `${repo.name}.json`);
      const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, ...forward, '--repo', repo.root, '--child-out', out], {
        cwd: repo.root,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, BENCH_REPO_NAME: repo.name },
      });
      children.add(child);
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      children.delete(child);
      if (code !== 0) {
        console.log(`## ${repo.name}: child exited with code ${String(code)}`);
        continue;
      }
      results.push(JSON.parse(readFileSync(out, 'utf8')) as RepoResult);
    }
  }
  for (const r of results) console.log(`\n${repoTable(r)}`);
  if (results.length > 1) console.log(`\n${sideBySide(results)}`);
  console.log(
    `\nms: wall time of the call(s) through the port (latest: all ${FLEET} sequential calls together); cold = first call after a reopen ` +
      `(the OS page cache is warm). Disk: every file under the data directory after store.close(), divided by the points stored. ` +
      `Retention: deleteExpired(cutoff, budget) until done, yielding between steps as RetentionJob does; the store was closed and reopened first.`,
  );
  if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ argv: process.argv.slice(2), machine: machine(), results }, null, 2));
}

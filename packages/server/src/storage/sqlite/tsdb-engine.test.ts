// The time-series engine beyond the contract: against the memory store under random writes (out of order,
// replacements, several days, flushes and reopens), the log across a torn write and a kill -9, and the
// conversion of the per-point layout it replaced.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Aggregation, Store, TelemetryPoint, TelemetryValue } from '@thingstead/core';
import { createMemoryStore, mulberry32 } from '@thingstead/core/testing';
import { migrations } from './migrations';
import { createSqliteStore } from './sqlite-store';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'thingstead-tsdb-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const day = 86_400_000;
const hour = 3_600_000;
const t0 = 20_000 * day; // 2024-10-04T00:00Z

async function seedDevices(store: Store, ids: readonly string[]): Promise<void> {
  const tenantId = 'tenant-1';
  if (!(await store.tenants.get(tenantId))) {
    await store.tenants.insert({ id: tenantId, name: 't', createdAt: 0 });
    await store.profiles.insert({
      id: 'profile-1',
      tenantId,
      name: 'p',
      description: '',
      defaultSettings: {},
      inactivityTimeoutSec: 600,
      isDefault: true,
      createdAt: 0,
    });
  }
  for (const id of ids) {
    if (await store.devices.get(id)) continue;
    await store.devices.insert(
      { id, tenantId, profileId: 'profile-1', name: id, label: '', metadata: {}, createdAt: 0, gateway: false, gatewayId: null },
      { deviceId: id, type: 'access-token', accessToken: `tok-${id}` },
    );
  }
}

for (const seed of [8, 9, 10])
  test(`the engine answers every query like the memory store, through random out-of-order writes, flushes and reopens (seed ${seed})`, async () => {
    const dir = tempDir();
    const path = join(dir, 'diff.db');
    const open = () => createSqliteStore({ path, synchronous: 'normal', telemetry: { chunkPoints: 8 } });
    let store = open();
    const model = createMemoryStore();
    const devices = ['dev-a', 'dev-b'];
    await seedDevices(store, devices);
    await seedDevices(model, devices);
    const keys = ['k1', 'k2', 'mixed'];
    const random = mulberry32(seed);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(random() * a.length)] as T;
    let newest = t0;
    const value = (key: string): TelemetryValue => {
      if (key !== 'mixed') return Math.round(random() * 1000) / 10;
      return pick<TelemetryValue>([1.5, 'on', true, { a: 1 }, 7]);
    };
    for (let round = 0; round < 60; round++) {
      const batch: TelemetryPoint[] = [];
      const n = 1 + Math.floor(random() * 40);
      for (let i = 0; i < n; i++) {
        const r = random();
        // Mostly in order, some far back (earlier days, into flushed chunks), some exact repeats of a ts.
        newest += Math.floor(random() * 20 * 60_000);
        const ts = r < 0.7 ? newest : r < 0.85 ? newest - Math.floor(random() * 3 * day) : t0 + Math.floor(random() * 40) * 60_000;
        const key = pick(keys);
        batch.push({ deviceId: pick(devices), key, ts: Math.max(t0, ts), value: value(key) });
      }
      const [got, want] = await Promise.all([store.telemetry.append(batch), model.telemetry.append(batch)]);
      assert.equal(got.replaced, want.replaced, `round ${round}: replaced`);
      if (round % 7 === 6) await new Promise((r) => setImmediate(r));
      if (round % 20 === 19) {
        await store.close();
        store = open();
      }
      if (round % 10 !== 9) continue;
      for (const deviceId of devices) {
        assert.deepEqual(await store.telemetry.latest(deviceId), await model.telemetry.latest(deviceId), `round ${round}: latest`);
        assert.deepEqual(await store.telemetry.keys(deviceId), await model.telemetry.keys(deviceId));
        for (const order of ['asc', 'desc'] as const) {
          for (const [from, to, limit] of [
            [0, 1e15, 100_000],
            [t0 + hour, newest - day, 50],
            [t0 + 3 * hour + 17, t0 + 2 * day, 7],
          ] as const) {
            const q = { deviceId, keys, from, to, limit, order };
            assert.deepEqual(await store.telemetry.query(q), await model.telemetry.query(q), `round ${round}: query ${JSON.stringify(q)}`);
          }
        }
        for (const agg of ['min', 'max', 'avg', 'sum', 'count'] as Exclude<Aggregation, 'none'>[]) {
          for (const [from, to, intervalMs] of [
            [t0, newest + 1, hour],
            [t0, newest + 1, 6 * hour],
            [t0 + 60_000, t0 + 3 * day, hour],
            [t0, t0 + 5 * day + 1234, 15 * 60_000],
          ] as const) {
            const q = { deviceId, keys, from, to, intervalMs, agg, limit: 10_000 };
            const [a, b] = [await store.telemetry.aggregate(q), await model.telemetry.aggregate(q)];
            for (const k of keys) {
              assert.equal(a[k]?.length, b[k]?.length, `round ${round}: ${agg} ${JSON.stringify(q)} ${k}: buckets`);
              (a[k] ?? []).forEach((p, i) => {
                const w = b[k]?.[i];
                assert.equal(p.ts, w?.ts);
                // Sums in another order may differ in the last bits.
                assert.ok(
                  Math.abs((p.value as number) - (w?.value as number)) < 1e-6,
                  `round ${round}: ${agg} ${JSON.stringify(q)} ${k} ${JSON.stringify(p.value)} vs ${JSON.stringify(w?.value)} at ${p.ts}`,
                );
              });
            }
          }
        }
      }
    }
    await store.close();
  });

test('an acknowledged batch survives kill -9 of the process that wrote it; a torn last record is cut off', async () => {
  const dir = tempDir();
  const path = join(dir, 'crash.db');
  const setup = createSqliteStore({ path, synchronous: 'full' });
  await seedDevices(setup, ['crash-dev']);
  await setup.close();
  // A child appends batches of 50 points and prints the last acknowledged batch; it is killed mid-stream.
  const script = `
    const { createSqliteStore } = await import(${JSON.stringify(new URL('./sqlite-store.ts', import.meta.url).href)});
    const store = createSqliteStore({ path: ${JSON.stringify(path)}, synchronous: 'full', telemetry: { chunkPoints: 64 } });
    for (let b = 0; ; b++) {
      const points = Array.from({ length: 50 }, (_, i) => ({ deviceId: 'crash-dev', key: 'v', ts: ${t0} + b * 50 + i, value: b * 50 + i }));
      await store.telemetry.append(points);
      process.stdout.write(b + '\\n');
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let acked = -1;
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      acked = Number(lines[lines.length - 1]);
      if (acked >= 40) child.kill('SIGKILL');
    });
    child.on('exit', () => {
      resolve();
    });
  });
  assert.ok(acked >= 40);
  // A torn write at the end of the log: the half record must be ignored, not fail the open.
  const logDir = `${path}-tslog`;
  const segments = readdirSync(logDir).sort();
  assert.ok(segments.length > 0, 'the killed process left its log');
  appendFileSync(join(logDir, segments[segments.length - 1] as string), Buffer.from([200, 0, 0, 0, 1, 2, 3]));
  const store = createSqliteStore({ path, synchronous: 'full' });
  const got = (await store.telemetry.query({ deviceId: 'crash-dev', keys: ['v'], from: 0, to: 1e15, limit: 1e6, order: 'asc' })).v ?? [];
  assert.ok(got.length >= (acked + 1) * 50, `${got.length} points back, ${(acked + 1) * 50} acknowledged`);
  got.forEach((p, i) => {
    assert.deepEqual(p, { ts: t0 + i, value: i });
  });
  await store.close();
  assert.deepEqual(readdirSync(logDir), [], 'a clean close folds the log into the database');
});

test('a database of the per-point layout is converted when opened, and nothing is lost', async () => {
  const dir = tempDir();
  const path = join(dir, 'legacy.db');
  const before = migrations.findIndex((m) => m.includes('CREATE TABLE ts_series'));
  const raw = new Database(path);
  raw.pragma('foreign_keys = OFF');
  for (let v = 0; v < before; v++) raw.exec(migrations[v] ?? '');
  raw.pragma(`user_version = ${before}`);
  // Only the device row matters here (telemetry refers to devices.seq); foreign keys are off for this setup.
  raw.exec(`INSERT INTO devices (seq, id, tenant_id, profile_id, name, label, metadata, created_at) VALUES (1, 'old-dev', 't', 'p', 'old', '', '{}', 0)`);
  raw.exec(`INSERT INTO ts_keys (id, key) VALUES (1, 'temp'), (2, 'state')`);
  const ins = raw.prepare('INSERT INTO telemetry (device, key, ts, num, str, bool, json) VALUES (1, ?, ?, ?, ?, NULL, NULL)');
  const points = 1000;
  for (let i = 0; i < points; i++) ins.run(1, t0 + i * 600_000, i / 10, null);
  ins.run(2, t0, null, 'idle');
  raw.exec(`INSERT INTO latest (device, key, ts, num) VALUES (1, 1, ${t0 + (points - 1) * 600_000}, ${(points - 1) / 10})`);
  raw.exec(`INSERT INTO latest (device, key, ts, str) VALUES (1, 2, ${t0}, 'idle')`);
  raw.close();

  const store = createSqliteStore({ path, synchronous: 'normal' });
  const temp = await store.telemetry.query({ deviceId: 'old-dev', keys: ['temp', 'state'], from: 0, to: 1e15, limit: 1e6, order: 'asc' });
  assert.equal(temp.temp?.length, points);
  assert.deepEqual(temp.temp[points - 1], { ts: t0 + (points - 1) * 600_000, value: (points - 1) / 10 });
  assert.deepEqual(temp.state, [{ ts: t0, value: 'idle' }]);
  assert.deepEqual(await store.telemetry.latest('old-dev'), {
    temp: { ts: t0 + (points - 1) * 600_000, value: (points - 1) / 10 },
    state: { ts: t0, value: 'idle' },
  });
  const hourly = await store.telemetry.aggregate({ deviceId: 'old-dev', keys: ['temp'], from: t0, to: t0 + day, intervalMs: hour, agg: 'count', limit: 100 });
  assert.deepEqual(
    hourly.temp?.map((b) => b.value),
    Array(24).fill(6),
  );
  await store.close();
  const check = new Database(path, { readonly: true });
  assert.deepEqual(check.prepare("SELECT name FROM sqlite_master WHERE name IN ('telemetry', 'latest')").all(), [], 'the old tables are gone');
  check.close();
});

test('a device deleted while its batch was being logged is reported, and its points never reach another device', async () => {
  const dir = tempDir();
  const path = join(dir, 'del.db');
  const store = createSqliteStore({ path, synchronous: 'full' });
  const id = randomUUID();
  await seedDevices(store, [id]);
  const pending = store.telemetry.append([{ deviceId: id, key: 'x', ts: t0, value: 1 }]);
  await store.devices.delete(id);
  assert.deepEqual([...(await pending).unknownDevices], [id]);
  const next = randomUUID();
  await seedDevices(store, [next]);
  await store.close();
  const again = createSqliteStore({ path, synchronous: 'full' });
  assert.deepEqual(await again.telemetry.latest(next), {}, 'the replayed log gives the new device nothing');
  await again.close();
});

test('the log stays bounded: heads holding points of old segments are flushed and the segments deleted', async () => {
  const dir = tempDir();
  const path = join(dir, 'bounded.db');
  // Heads never fill (chunks of 10,000 points), so only the log's bound makes them flush.
  const store = createSqliteStore({ path, synchronous: 'normal', telemetry: { chunkPoints: 10_000, walSegmentBytes: 2_000, walSegments: 1 } });
  await seedDevices(store, ['log-a', 'log-b']);
  for (let b = 0; b < 60; b++) {
    await store.telemetry.append(
      Array.from({ length: 20 }, (_, i) => ({ deviceId: i % 2 ? 'log-a' : 'log-b', key: 'v', ts: t0 + b * 20 + i, value: b * 20 + i })),
    );
  }
  const logDir = `${path}-tslog`;
  const before = readdirSync(logDir).length;
  assert.ok(before > 3, `${before} segments written`);
  // The maintenance tick runs every second: flush (one event-loop turn later), then delete on the next tick.
  await new Promise((r) => setTimeout(r, 2_300));
  const left = readdirSync(logDir).length;
  assert.ok(left <= 2, `${left} segments left of ${before}`);
  const all = await store.telemetry.query({ deviceId: 'log-a', keys: ['v'], from: 0, to: 1e15, limit: 1e6, order: 'asc' });
  assert.equal(all.v?.length, 600);
  await store.close();
  const again = createSqliteStore({ path, synchronous: 'normal' });
  const back = await again.telemetry.query({ deviceId: 'log-b', keys: ['v'], from: 0, to: 1e15, limit: 1e6, order: 'asc' });
  assert.deepEqual(
    back.v?.map((p) => p.value),
    Array.from({ length: 600 }, (_, i) => i * 2),
  );
  await again.close();
});

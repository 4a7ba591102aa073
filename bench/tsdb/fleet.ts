// What the time-series benchmarks share: a store of any checkout, opened through its public port only
// (createSqliteStore), devices to write for, a deterministic electricity-meter fleet, and the size of a data dir.
import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Store, TelemetryPoint } from '@thingstead/core';

export type Synchronous = 'full' | 'normal';
export type StoreFactory = (o: { path: string; synchronous: Synchronous; pragmas?: Record<string, number> }) => Store;

/**
 * `createSqliteStore` of the checkout at `repoRoot`. Imported from that checkout's file, so its own dependencies
 * (better-sqlite3, @thingstead/core, a new engine's modules) resolve from its own node_modules.
 */
export async function loadStoreFactory(repoRoot: string): Promise<StoreFactory> {
  const file = join(repoRoot, 'packages/server/src/storage/sqlite/sqlite-store.ts');
  const mod = (await import(pathToFileURL(file).href)) as { createSqliteStore?: StoreFactory };
  if (typeof mod.createSqliteStore !== 'function') throw new Error(`${file} exports no createSqliteStore`);
  return mod.createSqliteStore;
}

/** One tenant, one profile and `n` devices (ids returned in order), as the telemetry port requires known devices. */
export async function createDevices(store: Store, n: number, namePrefix: string): Promise<string[]> {
  const tenantId = randomUUID();
  const profileId = randomUUID();
  const now = Date.now();
  await store.tenants.insert({ id: tenantId, name: `${namePrefix}-${tenantId.slice(0, 8)}`, createdAt: now });
  await store.profiles.insert({
    id: profileId,
    tenantId,
    name: 'default',
    description: '',
    defaultSettings: {},
    inactivityTimeoutSec: 600,
    isDefault: true,
    createdAt: now,
  });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    ids.push(id);
    await store.devices.insert(
      { id, tenantId, profileId, name: `${namePrefix}-${i}`, label: '', metadata: {}, createdAt: now, gateway: false, gatewayId: null },
      { deviceId: id, type: 'access-token', accessToken: `${namePrefix}-token-${id}` },
    );
  }
  return ids;
}

export const METER_KEYS = ['voltage', 'current', 'power'] as const;

/**
 * One instant of a fleet of meters: every device sends voltage (230.1 +- noise, 1 decimal), current (1.2 +- 0.1,
 * 2 decimals) and power (their product, 1 decimal) at `ts` plus a few ms of per-device jitter. `constant`: the same
 * three values every time (what codecs compress best).
 */
export function fleetInstant(ids: readonly string[], ts: number, rnd: () => number, constant: boolean): TelemetryPoint[] {
  const out: TelemetryPoint[] = new Array<TelemetryPoint>(ids.length * 3);
  let p = 0;
  for (const deviceId of ids) {
    const t = ts + Math.floor(rnd() * 5);
    const v = constant ? 230.1 : Math.round((230.1 + (rnd() - 0.5) * 4) * 10) / 10;
    const c = constant ? 1.2 : Math.round((1.2 + (rnd() - 0.5) * 0.2) * 100) / 100;
    out[p++] = { deviceId, key: 'voltage', ts: t, value: v };
    out[p++] = { deviceId, key: 'current', ts: t, value: c };
    out[p++] = { deviceId, key: 'power', ts: t, value: Math.round(v * c * 10) / 10 };
  }
  return out;
}

/** Total bytes of every file under `dir` (the db, its -wal/-shm, and whatever directories an engine keeps beside it). */
export function dirBytes(dir: string): number {
  let sum = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sum += dirBytes(p);
    else if (e.isFile()) sum += statSync(p).size;
  }
  return sum;
}

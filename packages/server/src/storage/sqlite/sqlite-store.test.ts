import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { storeContract } from '@thingstead/core/testing';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from './sqlite-store';

const dir = mkdtempSync(join(tmpdir(), 'thingstead-sqlite-'));
storeContract('sqlite (file, WAL)', {
  open: async () => createSqliteStore({ path: join(dir, 'contract.db'), synchronous: 'normal' }),
  destroy: async () => {
    rmSync(dir, { recursive: true, force: true });
  },
});
// Again with chunks of two points, so every case also runs through flushed chunks, merges and rollups.
const tiny = mkdtempSync(join(tmpdir(), 'thingstead-sqlite-tiny-'));
storeContract('sqlite (two-point chunks)', {
  open: async () => createSqliteStore({ path: join(tiny, 'contract.db'), synchronous: 'normal', telemetry: { chunkPoints: 2 } }),
  destroy: async () => {
    rmSync(tiny, { recursive: true, force: true });
  },
});

test('the key dictionary (ts_keys, shared by all tenants) keeps only keys some device still has', async () => {
  const own = mkdtempSync(join(tmpdir(), 'thingstead-sqlite-dict-'));
  const path = join(own, 'dictionary.db');
  const store = createSqliteStore({ path, synchronous: 'normal' });
  const peek = new Database(path, { readonly: true });
  const dictionary = () => (peek.prepare('SELECT key FROM ts_keys ORDER BY key').all() as { key: string }[]).map((r) => r.key);
  try {
    const tenant = { id: randomUUID(), name: 't', createdAt: 0 };
    await store.tenants.insert(tenant);
    const profile = {
      id: randomUUID(),
      tenantId: tenant.id,
      name: 'p',
      description: '',
      defaultSettings: {},
      inactivityTimeoutSec: 600,
      isDefault: true,
      createdAt: 0,
    };
    await store.profiles.insert(profile);
    const device = async (name: string) => {
      const d = { id: randomUUID(), tenantId: tenant.id, profileId: profile.id, name, label: '', metadata: {}, createdAt: 0, gateway: false, gatewayId: null };
      await store.devices.insert(d, { deviceId: d.id, type: 'access-token', accessToken: `dict-${randomUUID()}` });
      return d;
    };
    const a = await device('a');
    const b = await device('b');
    const ts = 1_700_000_000_000;
    // A device inventing keys, then deleted, and again: the dictionary must not keep growing.
    for (let round = 0; round < 3; round++) {
      const c = await device(`churn-${round}`);
      await store.telemetry.append(Array.from({ length: 50 }, (_, i) => ({ deviceId: c.id, key: `junk-${round}-${i}`, ts, value: i })));
      await store.devices.delete(c.id);
    }
    await store.telemetry.append([
      { deviceId: a.id, key: 'shared', ts, value: 1 },
      { deviceId: b.id, key: 'shared', ts, value: 2 },
      { deviceId: a.id, key: 'mine', ts, value: 3 },
    ]);
    assert.deepEqual(dictionary(), ['mine', 'shared']);
    await store.devices.delete(a.id);
    assert.deepEqual(dictionary(), ['shared'], 'a key another device still has stays');
    await store.tenants.delete(tenant.id);
    assert.deepEqual(dictionary(), []);
  } finally {
    peek.close();
    await store.close();
    rmSync(own, { recursive: true, force: true });
  }
});

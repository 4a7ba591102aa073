import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCore, isThingsteadError, ManualClock } from '@thingstead/core';
import { jwtSigner } from './auth/jwt-signer';
import { InProcessBus } from './bus/in-process-bus';
import { createSqliteStore } from './storage/sqlite/sqlite-store';

test('a device deleted while its message waits for the commit gets no acknowledgement (was acked, then dropped)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'thingstead-ingest-delete-'));
  const store = createSqliteStore({ path: join(dir, 'db.sqlite'), synchronous: 'normal' });
  const clock = new ManualClock();
  const core = createCore({
    store,
    clock,
    bus: new InProcessBus({ onError: () => undefined, onDropped: () => undefined }),
    tokens: jwtSigner('x'.repeat(32)),
    auth: { accessTokenTtlSec: 900, refreshTokenTtlSec: 3600, loginMaxFailures: 5, loginLockoutSec: 300, loginSlowdownMs: 0 },
    telemetry: {
      maxKeyLength: 255,
      maxValueBytes: 65_536,
      maxPointsPerMessage: 5000,
      maxFutureSkewMs: 86_400_000,
      maxKeysPerDevice: 1000,
      maxKeysPerTenant: 10_000,
      groupCommitMaxRows: 1000,
      groupCommitMaxDelayMs: 50,
      maxPendingPoints: 10_000,
      retentionDays: 0,
      retentionBatchRows: 1000,
    },
  });
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
      await store.devices.insert(d, { deviceId: d.id, type: 'access-token', accessToken: randomUUID() });
      return d.id;
    };
    const doomed = await device('doomed');
    const kept = await device('kept');
    const now = clock.now();
    const lost = core.telemetry.ingest({ deviceId: doomed, tenantId: tenant.id, receivedAt: now, payload: { v: 1 } });
    const stored = core.telemetry.ingest({ deviceId: kept, tenantId: tenant.id, receivedAt: now, payload: { v: 1 } });
    lost.catch(() => undefined);
    // Both wait in the same batch; the device goes before it commits.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    await store.devices.delete(doomed);
    clock.advance(50);
    await assert.rejects(lost, (e: unknown) => isThingsteadError(e) && e.kind === 'NOT_FOUND');
    assert.deepEqual(await stored, { points: 1 }, 'the other device in the same batch is stored and acknowledged');
  } finally {
    await core.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

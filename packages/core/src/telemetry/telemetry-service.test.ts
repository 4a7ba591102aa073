import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore, principal } from '../testing/test-core';

async function setup() {
  const t = await createTestCore();
  const acme = await t.core.tenants.create(t.asAdmin, { name: 'Acme' });
  const other = await t.core.tenants.create(t.asAdmin, { name: 'Other' });
  const ta = principal(acme.id, 'tenant-admin');
  const device = await t.core.devices.create(ta, { name: 'd' });
  const ingest = (payload: unknown, deviceId = device.id, tenantId = acme.id) =>
    t.core.telemetry.ingest({ deviceId, tenantId, receivedAt: t.clock.now(), payload });
  return { ...t, acme, other, ta, viewer: principal(acme.id, 'viewer'), otherAdmin: principal(other.id, 'tenant-admin'), device, ingest };
}

test('ingest stores every form of payload, stamps values without ts with the arrival time (unique per device: the next millisecond when taken), then announces the committed points', async () => {
  const { core, bus, clock, device, acme, ingest, viewer } = await setup();
  const now = clock.now();
  assert.deepEqual(await ingest({ temp: 21.5, on: true }), { points: 2 });
  assert.deepEqual(await ingest({ ts: now - 1000, values: { temp: 20 } }), { points: 1 });
  assert.deepEqual(await ingest([{ ts: now - 2000, values: { temp: 19, cfg: { a: [1] } } }, { name: 'x' }]), { points: 3 });
  assert.deepEqual(await core.telemetry.latest(viewer, device.id), {
    cfg: { ts: now - 2000, value: { a: [1] } },
    // Same clock reading as the first message, whose stamp was `now`: the next free millisecond.
    name: { ts: now + 1, value: 'x' },
    on: { ts: now, value: true },
    temp: { ts: now, value: 21.5 },
  });
  const events = bus.of('telemetry');
  assert.equal(events.length, 3, 'one event per committed batch (here one message each)');
  assert.deepEqual(events[0], {
    messages: [
      {
        deviceId: device.id,
        tenantId: acme.id,
        points: [
          { deviceId: device.id, key: 'temp', ts: now, value: 21.5 },
          { deviceId: device.id, key: 'on', ts: now, value: true },
        ],
      },
    ],
  });
  assert.deepEqual(await core.telemetry.keys(viewer, device.id), ['cfg', 'name', 'on', 'temp']);
});

test('an invalid message is refused whole (TELEMETRY_INVALID) and stores nothing', async () => {
  const { core, bus, device, ingest, viewer, clock } = await setup();
  for (const bad of [
    'text',
    42,
    null,
    { ts: 'soon', values: { a: 1 } },
    [{ a: 1 }, { ts: clock.now() + 3_600_000, values: { b: 2 } }],
    { ['k'.repeat(129)]: 1 },
  ]) {
    await assert.rejects(ingest(bad), rejectsWith('TELEMETRY_INVALID'), JSON.stringify(bad).slice(0, 40));
  }
  assert.deepEqual(await core.telemetry.keys(viewer, device.id), []);
  assert.equal(bus.of('telemetry').length, 0);
});

test('distinct keys are bounded per device and per tenant (TELEMETRY_KEY_LIMIT), counting a key shared by devices once', async () => {
  const { core, ta, ingest, viewer, device } = await setup();
  const keys = (prefix: string, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i]));
  await ingest(keys('a', 20));
  await assert.rejects(ingest({ one_more: 1 }), (e: unknown) => {
    rejectsWith('TELEMETRY_KEY_LIMIT')(e);
    assert.equal((e as { details?: { limit?: string } }).details?.limit, 'telemetry.maxKeysPerDevice');
    return true;
  });
  assert.equal(await ingest({ a0: 5 }).then((r) => r.points), 1, 'known keys still pass');
  const second = await core.devices.create(ta, { name: 'd2' });
  assert.equal((await ingest(keys('a', 20), second.id)).points, 20, 'the same 20 keys on a second device: still 20 for the tenant');
  await assert.rejects(ingest({ c0: 1 }, second.id), rejectsWith('TELEMETRY_KEY_LIMIT'));
  const third = await core.devices.create(ta, { name: 'd3' });
  await assert.rejects(ingest(keys('z', 11), third.id), (e: unknown) => {
    rejectsWith('TELEMETRY_KEY_LIMIT')(e);
    assert.equal((e as { details?: { limit?: string } }).details?.limit, 'telemetry.maxKeysPerTenant');
    return true;
  });
  assert.equal((await core.telemetry.keys(viewer, device.id)).length, 20);
});

test('points of a device deleted while they waited are not acknowledged (NOT_FOUND)', async () => {
  const { core, store, device, ingest, ta } = await setup();
  await ingest({ warm: 1 });
  // Delete the device in the store only (as another node would), so the service still ingests for it.
  await store.devices.delete(device.id);
  await assert.rejects(ingest({ warm: 2 }), rejectsWith('NOT_FOUND'));
  await assert.rejects(core.telemetry.latest(ta, device.id), rejectsWith('NOT_FOUND'));
});

test('queries: raw ranges newest first by default, aggregation per interval; bad parameters are VALIDATION', async () => {
  const { core, clock, device, ingest, viewer } = await setup();
  const t0 = clock.now() - 10_000;
  await ingest([1, 2, 3, 4].map((v, i) => ({ ts: t0 + i * 1000, values: { x: v } })));
  const raw = await core.telemetry.query(viewer, device.id, { keys: ['x'], from: t0, to: t0 + 3000 });
  assert.deepEqual(raw, {
    from: t0,
    to: t0 + 3000,
    agg: 'none',
    intervalMs: null,
    data: {
      x: [
        { ts: t0 + 2000, value: 3 },
        { ts: t0 + 1000, value: 2 },
        { ts: t0, value: 1 },
      ],
    },
  });
  assert.deepEqual(
    (await core.telemetry.query(viewer, device.id, { keys: ['x'], from: t0, order: 'asc', limit: 2 })).data.x?.map((p) => p.value),
    [1, 2],
  );
  const sums = await core.telemetry.query(viewer, device.id, { from: t0, to: t0 + 4000, agg: 'sum', intervalMs: 2000 });
  assert.deepEqual(
    sums.data,
    {
      x: [
        { ts: t0, value: 3 },
        { ts: t0 + 2000, value: 7 },
      ],
    },
    'all keys of the device when none are named',
  );
  for (const bad of [
    { from: 10, to: 5 },
    { limit: 0 },
    { limit: 100_001 },
    { agg: 'avg' as const },
    { agg: 'avg' as const, intervalMs: 0 },
    { agg: 'median' as never },
    { keys: Array.from({ length: 101 }, (_, i) => `k${i}`) },
  ]) {
    await assert.rejects(core.telemetry.query(viewer, device.id, bad), rejectsWith('VALIDATION'), JSON.stringify(bad).slice(0, 60));
  }
});

test("queries are tenant-checked: another tenant's device is NOT_FOUND for query, latest and keys", async () => {
  const { core, device, ingest, otherAdmin } = await setup();
  await ingest({ x: 1 });
  await assert.rejects(core.telemetry.query(otherAdmin, device.id, {}), rejectsWith('NOT_FOUND'));
  await assert.rejects(core.telemetry.latest(otherAdmin, device.id), rejectsWith('NOT_FOUND'));
  await assert.rejects(core.telemetry.keys(otherAdmin, device.id), rejectsWith('NOT_FOUND'));
});

test('group commit: a message waits for the batch (clock port); close commits what waits and refuses further ingest (UNAVAILABLE)', async () => {
  const limits = { maxKeyLength: 128, maxValueBytes: 1024, maxPointsPerMessage: 100, maxFutureSkewMs: 60_000, maxKeysPerDevice: 20, maxKeysPerTenant: 30 };
  const t = await createTestCore({
    telemetry: { ...limits, groupCommitMaxRows: 100, groupCommitMaxDelayMs: 50, maxPendingPoints: 1000, retentionDays: 0, retentionBatchRows: 100 },
  });
  const ta = principal(t.home.id, 'tenant-admin');
  const device = await t.core.devices.create(ta, { name: 'd' });
  const ingest = (payload: unknown) => t.core.telemetry.ingest({ deviceId: device.id, tenantId: t.home.id, receivedAt: t.clock.now(), payload });
  let acked = false;
  const first = ingest({ a: 1 }).then(() => (acked = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(t.core.telemetry.pendingPoints, 1);
  assert.equal(acked, false, 'not acknowledged before the commit');
  t.clock.advance(50);
  await first;
  assert.deepEqual(Object.keys(await t.core.telemetry.latest(ta, device.id)), ['a']);
  const waiting = ingest({ last: 1 });
  await new Promise((r) => setImmediate(r));
  assert.equal(t.core.telemetry.pendingPoints, 1);
  await t.core.close();
  await waiting;
  assert.deepEqual(Object.keys(await t.core.telemetry.latest(ta, device.id)), ['a', 'last']);
  await assert.rejects(ingest({ late: 1 }), rejectsWith('UNAVAILABLE'));
});

test('one telemetry event per committed batch: every message of the transaction, in commit order; a device deleted while waiting is left out', async () => {
  const limits = { maxKeyLength: 128, maxValueBytes: 1024, maxPointsPerMessage: 100, maxFutureSkewMs: 60_000, maxKeysPerDevice: 20, maxKeysPerTenant: 30 };
  const t = await createTestCore({
    telemetry: { ...limits, groupCommitMaxRows: 100, groupCommitMaxDelayMs: 50, maxPendingPoints: 1000, retentionDays: 0, retentionBatchRows: 100 },
  });
  const ta = principal(t.home.id, 'tenant-admin');
  const [a, b, gone] = [
    await t.core.devices.create(ta, { name: 'a' }),
    await t.core.devices.create(ta, { name: 'b' }),
    await t.core.devices.create(ta, { name: 'gone' }),
  ];
  const ingest = (deviceId: string, payload: unknown) => t.core.telemetry.ingest({ deviceId, tenantId: t.home.id, receivedAt: t.clock.now(), payload });
  const acks = [ingest(a.id, { n: 1 }), ingest(b.id, { n: 2 }), ingest(a.id, { n: 3 }), ingest(gone.id, { n: 4 }).catch((e: unknown) => e)];
  await new Promise((r) => setImmediate(r));
  await t.store.devices.delete(gone.id);
  t.clock.advance(50);
  await Promise.all(acks);
  await t.bus.drain();
  const events = t.bus.of('telemetry');
  assert.equal(events.length, 1, 'one transaction, one event');
  assert.deepEqual(
    events[0]?.messages.map((m) => [m.deviceId, m.tenantId, m.points.map((p) => p.value)]),
    [
      [a.id, t.home.id, [1]],
      [b.id, t.home.id, [2]],
      [a.id, t.home.id, [3]],
    ],
  );
});

test('server timestamps never collide: many messages without ts in one millisecond, and several entries of one message, are all kept, in order', async () => {
  const { core, clock, device, ingest, viewer, ta } = await setup();
  const now = clock.now();
  for (let i = 0; i < 50; i++) await ingest({ n: i });
  await ingest([{ n: 50 }, { n: 51 }, { ts: now - 5, values: { n: -1 } }, { n: 52 }]);
  const other = await core.devices.create(ta, { name: 'other' });
  await ingest({ n: 100 }, other.id);
  const stored = await core.telemetry.query(viewer, device.id, { keys: ['n'], order: 'asc', limit: 1000, to: now + 1000 });
  const values = stored.data.n ?? [];
  assert.equal(values.length, 54, 'every acknowledged value is stored');
  assert.deepEqual(
    values.map((v) => v.value),
    [-1, ...Array.from({ length: 53 }, (_, i) => i)],
  );
  assert.deepEqual(
    values.slice(1).map((v) => v.ts),
    Array.from({ length: 53 }, (_, i) => now + i),
    'strictly increasing from the arrival time',
  );
  // Another device's stamps are its own: it gets the arrival time.
  assert.deepEqual((await core.telemetry.latest(viewer, other.id)).n, { ts: now, value: 100 });
  // Once the clock has passed the last stamp, stamps follow the clock again.
  clock.advance(1000);
  await ingest({ n: 200 });
  assert.deepEqual((await core.telemetry.latest(viewer, device.id)).n, { ts: now + 1000, value: 200 });
});

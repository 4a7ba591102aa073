import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ThingsteadError } from '../errors';
import { KeyQuota } from './key-quota';

/** A store holding keys per device (device -> tenant fixed), counting the queries made. */
function fakeStore(devices: Record<string, { tenant: string; keys: string[] }>) {
  const queries: string[] = [];
  return {
    queries,
    keys: async (deviceId: string) => {
      queries.push(`keys ${deviceId}`);
      return [...(devices[deviceId]?.keys ?? [])];
    },
    tenantKeys: async (tenantId: string) => {
      queries.push(`tenantKeys ${tenantId}`);
      return [
        ...new Set(
          Object.values(devices)
            .filter((d) => d.tenant === tenantId)
            .flatMap((d) => d.keys),
        ),
      ];
    },
  };
}

const pts = (...keys: string[]) => keys.map((key) => ({ key }));
const admit = async (q: KeyQuota, device: string, tenant: string, keys: string[]) => {
  await q.admit(device, tenant, pts(...keys));
};
const limitError = (limit: string) => (e: unknown) => {
  assert.ok(e instanceof ThingsteadError);
  assert.equal(e.code, 'THINGSTEAD_ERR_TELEMETRY_KEY_LIMIT');
  assert.equal(e.details?.limit, limit);
  assert.match(e.message, new RegExp(limit.replace('.', '\\.')));
  return true;
};

test('one load per device; a message with known keys is decided at once, without a query', async () => {
  const store = fakeStore({ d1: { tenant: 't', keys: ['a', 'b'] } });
  const q = new KeyQuota(store, { maxKeysPerDevice: 3, maxKeysPerTenant: 10 });
  await admit(q, 'd1', 't', ['a', 'c']);
  assert.deepEqual(store.queries, ['keys d1', 'tenantKeys t']);
  assert.equal(q.admit('d1', 't', pts('a', 'b', 'c', 'c')), undefined, 'synchronous when cached');
  assert.equal(store.queries.length, 2);
});

test('100,000 distinct keys from one device: refused past the device limit, whole, naming the limit', async () => {
  const store = fakeStore({ d1: { tenant: 't', keys: [] } });
  const q = new KeyQuota(store, { maxKeysPerDevice: 1000, maxKeysPerTenant: 10_000 });
  let admitted = 0;
  for (let m = 0; m < 100; m++) {
    const keys = Array.from({ length: 1000 }, (_, i) => `k${m * 1000 + i}`);
    try {
      await admit(q, 'd1', 't', keys);
      admitted++;
    } catch (e) {
      limitError('telemetry.maxKeysPerDevice')(e);
    }
  }
  assert.equal(admitted, 1);
  // A refused message reserved nothing: the device's 1,000 known keys still pass, one new key does not.
  await admit(q, 'd1', 't', ['k0', 'k999']);
  await assert.rejects(admit(q, 'd1', 't', ['k0', 'new']), limitError('telemetry.maxKeysPerDevice'));
});

test('the tenant limit counts a key shared by devices once', async () => {
  const store = fakeStore({ d1: { tenant: 't', keys: ['a', 'b'] }, d2: { tenant: 't', keys: ['b', 'c'] }, x: { tenant: 'other', keys: [] } });
  const q = new KeyQuota(store, { maxKeysPerDevice: 10, maxKeysPerTenant: 4 });
  await admit(q, 'd2', 't', ['a', 'b']); // a is known to the tenant: the tenant still has 3
  await admit(q, 'd1', 't', ['d']); // 4
  await assert.rejects(admit(q, 'd1', 't', ['e']), limitError('telemetry.maxKeysPerTenant'));
  await admit(q, 'd1', 't', ['c']); // known to the tenant, new for d1
  await admit(q, 'x', 'other', ['e', 'f', 'g', 'h']);
});

test('concurrent messages cannot pass the limit together, also while the device is loading', async () => {
  const store = fakeStore({ d1: { tenant: 't', keys: [] } });
  const q = new KeyQuota(store, { maxKeysPerDevice: 3, maxKeysPerTenant: 100 });
  const results = await Promise.allSettled([admit(q, 'd1', 't', ['a', 'b']), admit(q, 'd1', 't', ['c', 'd']), admit(q, 'd1', 't', ['a', 'e'])]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(store.queries, ['keys d1', 'tenantKeys t'], 'one load for all three');
});

test('forget reloads from the store, which holds the truth', async () => {
  const devices = { d1: { tenant: 't', keys: ['a', 'b', 'c'] } };
  const store = fakeStore(devices);
  const q = new KeyQuota(store, { maxKeysPerDevice: 3, maxKeysPerTenant: 100 });
  await assert.rejects(admit(q, 'd1', 't', ['z']));
  devices.d1.keys = [];
  q.forget('d1', 't');
  await admit(q, 'd1', 't', ['x', 'y', 'z']);
});

test('the device cache is bounded; an evicted device is loaded again', async () => {
  const store = fakeStore({});
  const q = new KeyQuota(store, { maxKeysPerDevice: 3, maxKeysPerTenant: 100 }, 2);
  for (const d of ['d1', 'd2', 'd3']) await admit(q, d, 't', ['a']);
  const before = store.queries.length;
  await admit(q, 'd3', 't', ['a']);
  assert.equal(store.queries.length, before, 'd3 is cached');
  await admit(q, 'd1', 't', ['a']);
  assert.equal(store.queries.at(-1), 'keys d1', 'd1 was evicted and is loaded again');
});

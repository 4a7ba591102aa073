import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '../accounts/model';
import { ManualClock } from '../clock';
import { createMemoryStore } from '../testing/memory-store';
import { ConnectivityService } from './connectivity';

/** A memory store with one tenant and devices d1, d2, d3, recording every connectivity write. */
async function storeWithDevices() {
  const store = createMemoryStore();
  await store.tenants.insert({ id: 't1', name: 'T', createdAt: 0 });
  await store.profiles.insert({ id: 'p1', tenantId: 't1', name: 'default', description: '', defaultSettings: {}, isDefault: true, createdAt: 0 });
  for (const id of ['d1', 'd2', 'd3']) {
    await store.devices.insert(
      { id, tenantId: 't1', profileId: 'p1', name: id, label: '', metadata: {}, createdAt: 0, gateway: false, gatewayId: null },
      { deviceId: id, type: 'access-token', accessToken: `token-${id}-0000000000000000` },
    );
  }
  const writes: string[] = [];
  const devices = { ...store.devices };
  store.devices.setConnectivity = async (id, patch) => {
    writes.push(`${id}:${Object.keys(patch).join(',')}`);
    return devices.setConnectivity(id, patch);
  };
  store.devices.setActivity = async (batch) => {
    writes.push(`batch:${[...batch.keys()].join(',')}`);
    return devices.setActivity(batch);
  };
  return { store, writes };
}

const p: Principal = { userId: 'u', tenantId: 't1', role: 'viewer', via: 'jwt' };

test('activity is batched; a disconnect writes the pending activity with it', async () => {
  const clock = new ManualClock(1000);
  const { store, writes } = await storeWithDevices();
  const c = new ConnectivityService(store, clock, 5000);
  await c.connected('d1');
  clock.advance(10);
  c.activity('d1');
  clock.advance(10);
  c.activity('d1');
  assert.equal(writes.length, 1, 'activity waits for the batch');
  assert.deepEqual(await c.get(p, 'd1'), { connected: true, sessions: 1, lastConnectAt: 1000, lastDisconnectAt: null, lastActivityAt: 1020 });
  clock.advance(10);
  await c.disconnected('d1');
  assert.deepEqual(await c.get(p, 'd1'), { connected: false, sessions: 0, lastConnectAt: 1000, lastDisconnectAt: 1030, lastActivityAt: 1020 });
  assert.deepEqual(writes, ['d1:lastConnectAt,lastActivityAt', 'd1:lastDisconnectAt,lastActivityAt']);
});

test('two sessions of one device: connected until both are gone; the timer flushes activity', async () => {
  const clock = new ManualClock(0);
  const { store } = await storeWithDevices();
  const c = new ConnectivityService(store, clock, 5000);
  await c.connected('d1');
  await c.connected('d1');
  await c.disconnected('d1');
  assert.equal((await c.get(p, 'd1')).connected, true);
  await c.disconnected('d1');
  assert.equal((await c.get(p, 'd1')).connected, false);
  c.activity('d2');
  clock.advance(5000);
  await new Promise((r) => setImmediate(r));
  assert.equal((await store.devices.getConnectivity('d2'))?.lastActivityAt, 0, 'the activity time, written by the timer');
});

test('a flush writes the activity of every device in one store call', async () => {
  const clock = new ManualClock(100);
  const { store, writes } = await storeWithDevices();
  const c = new ConnectivityService(store, clock, 5000);
  c.activity('d1');
  clock.advance(1);
  c.activity('d2');
  c.activity('d3');
  clock.advance(1);
  c.activity('d1');
  await c.flush();
  assert.deepEqual(writes, ['batch:d1,d2,d3']);
  assert.deepEqual(await Promise.all(['d1', 'd2', 'd3'].map(async (id) => (await store.devices.getConnectivity(id))?.lastActivityAt)), [102, 101, 101]);
  await c.flush();
  assert.equal(writes.length, 1, 'nothing waiting: no write');
  await c.close();
});

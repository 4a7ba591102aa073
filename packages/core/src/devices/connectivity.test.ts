import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '../accounts/model';
import { ManualClock } from '../clock';
import type { Store } from '../store';
import { createMemoryStore } from '../testing/memory-store';
import { RecordingBus } from '../testing/test-core';
import { ConnectivityService } from './connectivity';

const t0 = 1_000_000;

/** A memory store with one tenant, profile p1 (60 s timeout) and devices d1, d2, d3, recording every connectivity write. */
async function storeWithDevices(ids = ['d1', 'd2', 'd3']) {
  const store = createMemoryStore();
  await store.tenants.insert({ id: 't1', name: 'T', createdAt: 0 });
  await store.profiles.insert({
    id: 'p1',
    tenantId: 't1',
    name: 'default',
    description: '',
    defaultSettings: {},
    inactivityTimeoutSec: 60,
    isDefault: true,
    createdAt: 0,
  });
  for (const id of ids) {
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

async function setup(o: { store?: Store; clock?: ManualClock } = {}) {
  const clock = o.clock ?? new ManualClock(t0);
  const { store, writes } = o.store ? { store: o.store, writes: [] } : await storeWithDevices();
  const bus = new RecordingBus();
  const c = new ConnectivityService({ store, clock, bus, flushIntervalMs: 5000 });
  await c.start();
  /** The connectivity events so far, as "device:change@ms-since-t0". */
  const events = () => bus.of('device.connectivity').map((e) => `${e.deviceId}:${e.change}@${e.at - t0}`);
  return { clock, store, writes, bus, c, events };
}

/** Lets the lookups of waking devices (promise chains on the memory store) finish. */
const settle = () => new Promise((r) => setImmediate(r));

const p: Principal = { userId: 'u', tenantId: 't1', role: 'viewer', via: 'jwt' };

test('activity is batched; a disconnect writes the pending activity with it', async () => {
  const { clock, c, writes } = await setup();
  await c.connected('d1');
  clock.advance(10);
  c.activity('d1');
  clock.advance(10);
  c.activity('d1');
  assert.equal(writes.length, 1, 'activity waits for the batch');
  assert.deepEqual(await c.get(p, 'd1'), { connected: true, active: true, sessions: 1, lastConnectAt: t0, lastDisconnectAt: null, lastActivityAt: t0 + 20 });
  clock.advance(10);
  await c.disconnected('d1');
  assert.deepEqual(await c.get(p, 'd1'), {
    connected: false,
    active: true,
    sessions: 0,
    lastConnectAt: t0,
    lastDisconnectAt: t0 + 30,
    lastActivityAt: t0 + 20,
  });
  assert.deepEqual(writes, ['d1:connected,lastConnectAt,lastActivityAt', 'd1:connected,lastDisconnectAt,lastActivityAt']);
  await c.close();
});

test('two sessions of one device: connected until both are gone, one event each way; the timer flushes activity', async () => {
  const { clock, c, store, events } = await setup();
  await c.connected('d1');
  await c.connected('d1');
  await c.disconnected('d1');
  assert.equal((await c.get(p, 'd1')).connected, true);
  assert.equal((await store.devices.getConnectivity('d1'))?.connected, true, 'the stored flag, for the list filter');
  await c.disconnected('d1');
  assert.equal((await c.get(p, 'd1')).connected, false);
  assert.equal((await store.devices.getConnectivity('d1'))?.connected, false);
  await settle();
  assert.deepEqual(events(), ['d1:active@0', 'd1:connected@0', 'd1:disconnected@0'], 'a connect is activity too');
  c.activity('d2');
  clock.advance(5000);
  await settle();
  assert.equal((await store.devices.getConnectivity('d2'))?.lastActivityAt, t0, 'the activity time, written by the timer');
  await c.close();
});

test('a flush writes the activity of every device in one store call', async () => {
  const { clock, c, store, writes } = await setup();
  c.activity('d1');
  clock.advance(1);
  c.activity('d2');
  c.activity('d3');
  clock.advance(1);
  c.activity('d1');
  await c.flush();
  assert.deepEqual(writes, ['batch:d1,d2,d3']);
  assert.deepEqual(await Promise.all(['d1', 'd2', 'd3'].map(async (id) => (await store.devices.getConnectivity(id))?.lastActivityAt)), [
    t0 + 2,
    t0 + 1,
    t0 + 1,
  ]);
  await c.flush();
  assert.equal(writes.length, 1, 'nothing waiting: no write');
  await c.close();
});

test("a silent device becomes inactive after its profile's timeout; its next message makes it active again", async () => {
  const { clock, c, bus, events } = await setup();
  assert.equal(c.isActive('d1'), false, 'never sent');
  c.activity('d1');
  assert.equal(c.isActive('d1'), true, 'active from the message on, while its profile is looked up');
  await settle();
  clock.advance(30_000);
  c.activity('d1');
  clock.advance(59_999);
  assert.equal(c.isActive('d1'), true, 'the message at 30 s moved the deadline to 90 s');
  clock.advance(1);
  assert.equal(c.isActive('d1'), false);
  clock.advance(10_000);
  c.activity('d1');
  await settle();
  assert.deepEqual(events(), ['d1:active@0', 'd1:inactive@90000', 'd1:active@100000']);
  const inactive = bus.of('device.connectivity')[1];
  assert.deepEqual(inactive, { tenantId: 't1', deviceId: 'd1', change: 'inactive', at: t0 + 90_000, connected: false, active: false });
  await c.close();
});

test('events are published after the change: a subscriber sees the new state', async () => {
  const { clock, c, bus } = await setup();
  const seen: string[] = [];
  bus.subscribe('device.connectivity', (e) => {
    seen.push(`${e.change}: online ${c.online(e.deviceId)}, active ${c.isActive(e.deviceId)}`);
  });
  await c.connected('d1');
  await settle();
  clock.advance(60_000);
  await bus.drain();
  await c.disconnected('d1');
  await bus.drain();
  assert.deepEqual(seen, [
    'active: online true, active true',
    'connected: online true, active true',
    'inactive: online true, active false',
    'disconnected: online false, active false',
  ]);
  await c.close();
});

test('HTTP-only devices: activity without a session makes a device active, and silence inactive', async () => {
  const { clock, c, bus, events } = await setup();
  c.activity('d2');
  await settle();
  assert.deepEqual(bus.of('device.connectivity')[0], { tenantId: 't1', deviceId: 'd2', change: 'active', at: t0, connected: false, active: true });
  clock.advance(60_000);
  assert.deepEqual(events(), ['d2:active@0', 'd2:inactive@60000']);
  await c.close();
});

test('10,000 devices cost one deadline timer; each goes inactive once, at its own deadline', async () => {
  const ids = Array.from({ length: 10_000 }, (_, i) => `dev-${i}`);
  const { store } = await storeWithDevices(ids);
  const { clock, c, bus } = await setup({ store });
  for (const [i, id] of ids.entries()) {
    if (i % 1000 === 0) clock.advance(1000);
    c.activity(id);
  }
  await settle();
  assert.equal(clock.pendingTimers, 2, 'the activity flush and the earliest deadline');
  for (let n = 0; n < 100; n++) for (const id of ids) c.activity(id);
  assert.equal(clock.pendingTimers, 2, 'messages of active devices set no timer');
  clock.advance(59_999);
  assert.equal(bus.of('device.connectivity').filter((e) => e.change === 'inactive').length, 0, 'the last messages came at 10 s');
  clock.advance(1);
  const inactive = bus.of('device.connectivity').filter((e) => e.change === 'inactive');
  assert.equal(inactive.length, 10_000);
  assert.equal(new Set(inactive.map((e) => e.deviceId)).size, 10_000);
  assert.equal(clock.pendingTimers, 0, 'nothing active: no deadline timer (the flush ran)');
  await c.close();
});

test('after a restart: nobody is connected, devices that sent within their timeout are active and expire on time', async () => {
  const { store } = await storeWithDevices();
  const clock = new ManualClock(t0);
  const before = await setup({ store, clock });
  await before.c.connected('d1');
  before.c.activity('d2');
  clock.advance(1000);
  before.c.activity('d3');
  // A crash: the process ends without recording the disconnect (close only writes the activity batch and stops the timers).
  await before.c.close();
  clock.advance(50_000);
  const after = await setup({ store, clock });
  assert.deepEqual(await after.c.get(p, 'd1'), { connected: false, active: true, sessions: 0, lastConnectAt: t0, lastDisconnectAt: null, lastActivityAt: t0 });
  assert.equal((await store.devices.getConnectivity('d1'))?.connected, false, 'the stored flag is cleared');
  assert.deepEqual(after.events(), ['d1:disconnected@51000'], 'the disconnect the last process did not record');
  assert.deepEqual([after.c.isActive('d2'), after.c.isActive('d3')], [true, true]);
  clock.advance(8_999);
  assert.deepEqual(after.events(), ['d1:disconnected@51000']);
  clock.advance(1);
  assert.deepEqual(after.events(), ['d1:disconnected@51000', 'd1:inactive@60000', 'd2:inactive@60000']);
  clock.advance(1000);
  assert.deepEqual(after.events().slice(3), ['d3:inactive@61000'], 'at 60 s after its own last message');
  clock.advance(100_000);
  const later = await setup({ store, clock });
  assert.deepEqual([later.c.isActive('d1'), later.c.isActive('d3')], [false, false], 'silent past the timeout while stopped');
  assert.deepEqual(later.events(), []);
  for (const x of [after, later]) await x.c.close();
});

test("a profile's timeout change reschedules its active devices; a device moved to another profile gets that one's", async () => {
  const { clock, c, store, bus, events } = await setup();
  await store.profiles.insert({
    id: 'p2',
    tenantId: 't1',
    name: 'fast',
    description: '',
    defaultSettings: {},
    inactivityTimeoutSec: 5,
    isDefault: false,
    createdAt: 0,
  });
  c.activity('d1');
  c.activity('d2');
  await settle();
  clock.advance(10_000);
  await store.profiles.update('p1', { inactivityTimeoutSec: 20 });
  await bus.publish('profile.updated', { profileId: 'p1', tenantId: 't1' });
  await store.devices.update('d2', { profileId: 'p2' });
  await bus.publish('device.updated', { deviceId: 'd2', tenantId: 't1', profileId: 'p2' });
  await bus.drain();
  await settle();
  clock.advance(0);
  assert.deepEqual(events().slice(2), ['d2:inactive@5000'], 'past the new, shorter timeout: at once');
  clock.advance(9_999);
  assert.equal(c.isActive('d1'), true);
  clock.advance(1);
  assert.deepEqual(events().slice(3), ['d1:inactive@20000']);
  await c.close();
});

test('a deleted device is forgotten: no inactive event for it', async () => {
  const { clock, c, store, bus, events } = await setup();
  c.activity('d1');
  await settle();
  await store.devices.delete('d1');
  await bus.publish('device.deleted', { deviceId: 'd1', tenantId: 't1' });
  await bus.drain();
  clock.advance(120_000);
  assert.deepEqual(events(), ['d1:active@0']);
  c.activity('gone');
  await settle();
  assert.equal(c.isActive('gone'), false, 'an unknown device is never tracked');
  await c.close();
});

test('a failed flush keeps the batch for the next one', async () => {
  const { clock, c, store } = await setup();
  const { devices } = store;
  const setActivity = devices.setActivity.bind(devices);
  devices.setActivity = () => Promise.reject(new Error('disk full'));
  c.activity('d1');
  c.activity('d2');
  await assert.rejects(c.flush(), /disk full/);
  clock.advance(5);
  c.activity('d2');
  devices.setActivity = setActivity;
  await c.flush();
  assert.deepEqual(await Promise.all(['d1', 'd2'].map(async (id) => (await store.devices.getConnectivity(id))?.lastActivityAt)), [t0, t0 + 5]);
  await c.close();
});

test('a longer timeout makes a device that is silent, but within the new timeout, active again', async () => {
  const { clock, c, store, bus, events } = await setup();
  await store.profiles.insert({
    id: 'p2',
    tenantId: 't1',
    name: 'slow',
    description: '',
    defaultSettings: {},
    inactivityTimeoutSec: 600,
    isDefault: false,
    createdAt: 0,
  });
  c.activity('d1');
  c.activity('d2');
  await settle();
  await c.flush();
  clock.advance(90_000);
  assert.deepEqual(events(), ['d1:active@0', 'd2:active@0', 'd1:inactive@60000', 'd2:inactive@60000']);
  await store.profiles.update('p1', { inactivityTimeoutSec: 120 });
  await bus.publish('profile.updated', { profileId: 'p1', tenantId: 't1' });
  await store.devices.update('d2', { profileId: 'p2' });
  await bus.publish('device.updated', { deviceId: 'd2', tenantId: 't1', profileId: 'p2' });
  await bus.drain();
  await settle();
  assert.deepEqual(events().slice(4).sort(), ['d1:active@90000', 'd2:active@90000']);
  assert.deepEqual([c.isActive('d1'), c.isActive('d2')], [true, true]);
  clock.advance(30_000);
  assert.deepEqual(events().slice(6), ['d1:inactive@120000'], 'at 120 s after its last message');
  await c.close();
});

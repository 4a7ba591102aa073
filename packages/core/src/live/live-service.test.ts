import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { Principal } from '../accounts/model';
import { createTestCore, principal, type TestCore } from '../testing/test-core';
import { LiveService } from './live-service';
import type { LiveEndReason, LiveSession } from './live-session';
import { defaultLiveLimits, type LiveLimits, type LiveMessage, type SubscriptionRequest } from './model';

/** A client: reads everything at once when reading, nothing when paused. */
class TestClient {
  readonly got: LiveMessage[] = [];
  ended: { reason: LiveEndReason; message: string } | undefined;
  reading = true;
  session: LiveSession;
  constructor(live: LiveService, p: Principal) {
    this.session = live.open(p, {
      // Called from open() already (its first message), before session is set.
      wake: () => {
        if (this.reading)
          queueMicrotask(() => {
            this.read();
          });
      },
      end: (reason, message) => {
        this.ended = { reason, message };
      },
    });
  }
  read(): void {
    for (let m = this.session.take(); m; m = this.session.take()) this.got.push(m);
  }
  of(id: string): LiveMessage[] {
    return this.got.filter((m) => 'id' in m && m.id === id);
  }
}

describe('live service', () => {
  let t: TestCore;
  let live: LiveService;
  let alice: Principal;
  let bob: Principal;
  const send = async (deviceId: string, payload: unknown, tenantId = alice.tenantId) => {
    await t.core.telemetry.ingest({ deviceId, tenantId, receivedAt: t.clock.now(), payload });
  };
  const settle = async () => {
    await t.bus.drain();
    await new Promise((r) => setImmediate(r));
    await t.bus.drain();
  };
  const start = (limits: Partial<LiveLimits> = {}) => {
    live = new LiveService({ store: t.store, bus: t.bus, clock: t.clock, limits: { ...defaultLiveLimits, ...limits } });
  };
  const client = (p: Principal, req?: SubscriptionRequest) => {
    const c = new TestClient(live, p);
    return { c, subscribed: req ? live.subscribe(c.session, req) : Promise.resolve() };
  };

  beforeEach(async () => {
    t = await createTestCore();
    const other = await t.core.tenants.create(t.asAdmin, { name: 'Other' });
    alice = principal(t.home.id, 'viewer');
    bob = principal(other.id, 'tenant-admin');
    start();
  });

  test('latest telemetry of a device: the current values, then each committed value of the keys asked for, in order', async () => {
    const d = await t.core.devices.create(t.asAdmin, { name: 'boiler' });
    await send(d.id, { temp: 20, hum: 40, other: 1 });
    await settle();
    const { c, subscribed } = client(alice, { id: 's1', kind: 'telemetry', target: { deviceId: d.id }, keys: ['temp', 'hum'] });
    await subscribed;
    for (let i = 1; i <= 3; i++) {
      t.clock.advance(1000);
      await send(d.id, { temp: 20 + i, other: i });
    }
    await settle();
    const msgs = c.of('s1');
    assert.deepEqual(msgs[0], { type: 'subscribed', id: 's1', kind: 'telemetry' });
    const snapshot = msgs[1];
    assert.ok(snapshot?.type === 'telemetry');
    assert.deepEqual(Object.keys(snapshot.values).sort(), ['hum', 'temp']);
    assert.deepEqual(
      msgs.slice(2).map((m) => (m.type === 'telemetry' ? m.values : undefined)),
      [1, 2, 3].map((i) => ({ temp: { ts: t.clock.now() - (3 - i) * 1000, value: 20 + i } })),
    );
  });

  test("another tenant's device, profile or tenant is not found, as in REST; the session goes on", async () => {
    const theirs = await t.core.devices.create(bob, { name: 'b-device' });
    const profile = await t.core.profiles.create(bob, { name: 'b-profile' });
    const { c } = client(alice);
    for (const req of [
      { id: 'x1', kind: 'telemetry', target: { deviceId: theirs.id } },
      { id: 'x2', kind: 'series', deviceId: theirs.id, from: 0 },
      { id: 'x3', kind: 'attributes', target: { filter: { tenantId: bob.tenantId } } },
      { id: 'x4', kind: 'connectivity', target: { filter: { profileId: profile.id } } },
    ] satisfies SubscriptionRequest[]) {
      await live.subscribe(c.session, req);
      assert.deepEqual(
        c.of(req.id).map((m) => m.type === 'error' && m.code),
        ['THINGSTEAD_ERR_NOT_FOUND'],
      );
    }
    await send(theirs.id, { temp: 1 }, bob.tenantId);
    await settle();
    assert.equal(c.got.filter((m) => m.type === 'telemetry').length, 0);
    assert.equal(c.session.subscriptions.size, 0);
    assert.equal(c.ended, undefined);
  });

  test("a filter matches the tenant's devices by profile and name prefix, devices created later included", async () => {
    const sensors = await t.core.profiles.create(t.asAdmin, { name: 'sensors' });
    const a = await t.core.devices.create(t.asAdmin, { name: 'hall-1', profileId: sensors.id });
    const b = await t.core.devices.create(t.asAdmin, { name: 'yard-1', profileId: sensors.id });
    const c0 = await t.core.devices.create(t.asAdmin, { name: 'hall-2' });
    const { c } = client(alice);
    await live.subscribe(c.session, { id: 'profile', kind: 'telemetry', target: { filter: { profileId: sensors.id } } });
    await live.subscribe(c.session, { id: 'hall', kind: 'telemetry', target: { filter: { namePrefix: 'hall-' } } });
    await live.subscribe(c.session, { id: 'both', kind: 'telemetry', target: { filter: { namePrefix: 'hall-', profileId: sensors.id } } });
    await live.subscribe(c.session, { id: 'all', kind: 'telemetry', target: { filter: {} } });
    const later = await t.core.devices.create(t.asAdmin, { name: 'hall-3', profileId: sensors.id });
    const theirs = await t.core.devices.create(bob, { name: 'hall-9' });
    for (const d of [a, b, c0, later]) await send(d.id, { v: 1 });
    await send(theirs.id, { v: 1 }, bob.tenantId);
    await settle();
    const devicesOf = (id: string) => c.of(id).flatMap((m) => (m.type === 'telemetry' ? [m.deviceId] : []));
    assert.deepEqual(devicesOf('profile'), [a.id, b.id, later.id]);
    assert.deepEqual(devicesOf('hall'), [a.id, c0.id, later.id]);
    assert.deepEqual(devicesOf('both'), [a.id, later.id]);
    assert.deepEqual(devicesOf('all'), [a.id, b.id, c0.id, later.id]);
  });

  test('a series from a start: history, then live, with no gap or duplicate while values keep coming', async () => {
    const d = await t.core.devices.create(t.asAdmin, { name: 'meter' });
    const base = t.clock.now() - 100_000;
    const sent: number[] = [];
    let n = 0;
    const one = async () => {
      const v = n++;
      sent.push(v);
      await send(d.id, { ts: base + v, values: { e: v } });
    };
    for (let i = 0; i < 50; i++) await one();
    // Values committed before the subscription whose bus events are delivered after it started: in the history
    // and also live, so the seam must drop them.
    await t.store.telemetry.append([50, 51].map((v) => ({ deviceId: d.id, key: 'e', ts: base + v, value: v })));
    sent.push(50, 51);
    n = 52;
    const { c, subscribed } = client(alice, { id: 'ts', kind: 'series', deviceId: d.id, from: base + 10 });
    void t.bus.publish('telemetry', {
      messages: [{ deviceId: d.id, tenantId: alice.tenantId, points: [50, 51].map((v) => ({ deviceId: d.id, key: 'e', ts: base + v, value: v })) }],
    });
    const writes = (async () => {
      for (let i = 0; i < 50; i++) await one();
    })();
    await Promise.all([subscribed, writes]);
    await settle();
    const msgs = c.of('ts');
    const seen = msgs.flatMap((m) => (m.type === 'series' ? (m.data.e ?? []).map((v) => v.value as number) : []));
    assert.deepEqual(
      seen,
      sent.filter((v) => v >= 10),
      'every value from the start, once, in order',
    );
    const end = msgs.findIndex((m) => m.type === 'history.end');
    assert.ok(end > 0 && msgs.slice(0, end).every((m) => m.type !== 'series' || m.history));
    assert.ok(msgs.slice(end + 1).every((m) => m.type === 'series' && !m.history));
  });

  test('a series with more history than allowed is refused, naming from', async () => {
    start({ maxHistoryPoints: 5 });
    const d = await t.core.devices.create(t.asAdmin, { name: 'meter' });
    for (let i = 0; i < 6; i++) await send(d.id, { ts: t.clock.now() - 1000 + i, values: { e: i } });
    const { c, subscribed } = client(alice, { id: 'ts', kind: 'series', deviceId: d.id, from: 0 });
    await subscribed;
    const err = c.of('ts').find((m) => m.type === 'error');
    assert.equal(err?.type === 'error' && err.code, 'THINGSTEAD_ERR_LIMIT_REACHED');
    assert.equal(c.session.subscriptions.size, 0);
  });

  test('attributes: the current values, then each change of the scope asked for', async () => {
    const d = await t.core.devices.create(t.asAdmin, { name: 'valve' });
    await t.core.attributes.set(t.asAdmin, d.id, 'shared', { target: 20 });
    await t.core.attributes.set(t.asAdmin, d.id, 'server', { note: 'x' });
    await settle();
    const { c, subscribed } = client(alice, { id: 'a', kind: 'attributes', target: { deviceId: d.id }, scope: 'shared' });
    await subscribed;
    await t.core.attributes.set(t.asAdmin, d.id, 'shared', { target: 21 });
    await t.core.attributes.set(t.asAdmin, d.id, 'server', { note: 'y' });
    await t.core.attributes.delete(t.asAdmin, d.id, 'shared', ['target']);
    await settle();
    const msgs = c.of('a').flatMap((m) => (m.type === 'attributes' ? [m] : []));
    assert.deepEqual(
      msgs.map((m) => [m.scope, Object.fromEntries(Object.entries(m.updated).map(([k, v]) => [k, v.value])), m.deleted, m.version]),
      [
        ['shared', { target: 20 }, [], 2],
        ['shared', { target: 21 }, [], 3],
        ['shared', {}, ['target'], 5],
      ],
    );
  });

  test('connectivity and events of a filter; a deleted device ends its subscriptions', async () => {
    const d = await t.core.devices.create(t.asAdmin, { name: 'door' });
    const { c } = client(alice);
    await live.subscribe(c.session, { id: 'conn', kind: 'connectivity', target: { filter: {} } });
    await live.subscribe(c.session, { id: 'ev', kind: 'events', target: { filter: {} } });
    await live.subscribe(c.session, { id: 'one', kind: 'telemetry', target: { deviceId: d.id } });
    await t.bus.publish('device.connectivity', { tenantId: alice.tenantId, deviceId: d.id, change: 'connected', at: 5, connected: true, active: true });
    await t.bus.publish('device.connectivity', { tenantId: bob.tenantId, deviceId: 'theirs', change: 'connected', at: 5, connected: true, active: true });
    const d2 = await t.core.devices.create(t.asAdmin, { name: 'window' });
    await t.core.devices.delete(t.asAdmin, d.id);
    await settle();
    assert.deepEqual(c.of('conn').slice(1), [{ type: 'connectivity', id: 'conn', deviceId: d.id, change: 'connected', at: 5, connected: true, active: true }]);
    assert.deepEqual(
      c.of('ev').flatMap((m) => (m.type === 'event' ? [[m.event, m.deviceId]] : [])),
      [
        ['device.created', d2.id],
        ['device.deleted', d.id],
      ],
    );
    assert.deepEqual(c.of('one').at(-1), { type: 'unsubscribed', id: 'one', reason: 'device deleted' });
    assert.deepEqual([...c.session.subscriptions.keys()], ['conn', 'ev']);
  });

  test('a client that does not read is conflated to the latest value per key, and one that falls behind on what cannot be merged is ended', async () => {
    start({ maxQueuedMessages: 5 });
    const conflated: number[] = [];
    live = new LiveService({
      store: t.store,
      bus: t.bus,
      clock: t.clock,
      limits: { ...defaultLiveLimits, maxQueuedMessages: 5 },
      onConflated: (n) => conflated.push(n),
    });
    const d = await t.core.devices.create(t.asAdmin, { name: 'fast' });
    const { c } = client(alice);
    await live.subscribe(c.session, { id: 'l', kind: 'telemetry', target: { filter: {} } });
    c.reading = false;
    const base = t.clock.now() - 10_000;
    for (let i = 0; i < 100; i++) await send(d.id, { ts: base + i, values: { a: i, b: -i } });
    await settle();
    assert.ok(c.session.queued <= 5);
    assert.equal(c.ended, undefined);
    c.read();
    const values = c.got.filter((m) => m.type === 'telemetry');
    const last = values.at(-1);
    assert.deepEqual(last?.type === 'telemetry' && last.values, { a: { ts: base + 99, value: 99 }, b: { ts: base + 99, value: -99 } });
    assert.equal(
      conflated.reduce((x, y) => x + y, 0),
      c.session.conflated,
    );
    assert.equal(c.session.conflated, 2 * (100 - values.length));

    const series = client(alice, { id: 's', kind: 'series', deviceId: d.id, from: base + 5000 });
    await series.subscribed;
    series.c.reading = false;
    for (let i = 0; i < 10; i++) await send(d.id, { ts: base + 5000 + i, values: { a: i } });
    await settle();
    assert.equal(series.c.ended?.reason, 'too-slow');
    assert.equal(live.sessionCount, 1, 'the ended session is gone, the other stays');
  });

  test('revoking access ends the sessions acting for that user or key; a session holds a bounded number of subscriptions', async () => {
    start({ maxSubscriptionsPerSession: 2 });
    const keyed: Principal = { ...alice, userId: 'u-key', via: 'api-key', apiKeyId: 'k1' };
    const a = client(alice).c;
    const k = client(keyed).c;
    const b = client(bob).c;
    for (const id of ['1', '2', '3']) await live.subscribe(a.session, { id, kind: 'events', target: { filter: {} } });
    assert.equal(a.of('3')[0]?.type === 'error' && a.of('3')[0]?.type, 'error');
    await live.subscribe(a.session, { id: '1', kind: 'events', target: { filter: {} } });
    assert.equal(a.session.subscriptions.size, 2);
    await t.bus.publish('apikey.revoked', { keyId: 'k1', userId: 'u-key', tenantId: alice.tenantId });
    await t.bus.publish('user.access', { userId: alice.userId, tenantId: alice.tenantId, change: 'disabled' });
    await settle();
    assert.equal(k.ended?.reason, 'access-revoked');
    assert.equal(a.ended?.reason, 'access-revoked');
    assert.equal(b.ended, undefined);
    assert.equal(live.sessionCount, 1);
    live.close();
    // b.ended was narrowed to undefined above; close() set it since.
    assert.equal((b as { ended?: { reason: string } }).ended?.reason, 'shutdown');
  });
});

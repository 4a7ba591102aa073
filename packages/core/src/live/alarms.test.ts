import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { Principal } from '../accounts/model';
import { createTestCore, principal, type TestCore } from '../testing/test-core';
import { LiveService } from './live-service';
import type { LiveEndReason, LiveSession } from './live-session';
import { defaultLiveLimits, type LiveLimits, type LiveMessage, type SubscriptionRequest } from './model';

/** A client that reads everything as soon as it is woken, unless paused. */
class TestClient {
  readonly got: LiveMessage[] = [];
  ended: { reason: LiveEndReason; message: string } | undefined;
  reading = true;
  session: LiveSession;
  constructor(live: LiveService, p: Principal) {
    this.session = live.open(p, {
      wake: () => {
        if (this.reading)
          queueMicrotask(() => {
            for (let m = this.session.take(); m; m = this.session.take()) this.got.push(m);
          });
      },
      end: (reason, message) => {
        this.ended = { reason, message };
      },
    });
  }
  of(id: string): LiveMessage[] {
    return this.got.filter((m) => 'id' in m && m.id === id);
  }
}

describe('live alarms subscriptions', () => {
  let t: TestCore;
  let live: LiveService;
  let alice: Principal;
  const settle = async () => {
    await t.bus.drain();
    await new Promise((r) => setImmediate(r));
    await t.bus.drain();
    await new Promise((r) => setImmediate(r));
  };
  const start = (limits: Partial<LiveLimits> = {}) => {
    live.close();
    live = new LiveService({ store: t.store, bus: t.bus, clock: t.clock, limits: { ...defaultLiveLimits, ...limits } });
  };
  const subscribe = async (p: Principal, req: SubscriptionRequest) => {
    const c = new TestClient(live, p);
    await live.subscribe(c.session, req);
    await settle();
    return c;
  };
  const raise = (d: { id: string; tenantId: string }, type: string, severity: 'CRITICAL' | 'MAJOR' | 'MINOR' | 'WARNING') =>
    t.core.alarms.raise({ tenantId: d.tenantId, deviceId: d.id, type, severity, at: t.clock.now() });

  beforeEach(async () => {
    t = await createTestCore();
    alice = principal(t.home.id, 'viewer');
    live = new LiveService({ store: t.store, bus: t.bus, clock: t.clock, limits: defaultLiveLimits });
  });

  test("a device's active alarms first, then every change in order, none conflated", async () => {
    const d = await t.core.devices.create(t.asAdmin, { name: 'boiler' });
    const hot = await raise(d, 'High temperature', 'MAJOR');
    await raise(d, 'Door open', 'WARNING');
    await t.core.alarms.clear({ tenantId: d.tenantId, deviceId: d.id, type: 'Door open', at: t.clock.now() });
    const c = await subscribe(alice, { id: 'a', kind: 'alarms', target: { deviceId: d.id } });
    const [subscribed, snapshot] = c.of('a');
    assert.deepEqual(subscribed, { type: 'subscribed', id: 'a', kind: 'alarms' });
    assert.ok(snapshot?.type === 'alarms');
    assert.deepEqual([snapshot.alarms.map((a) => a.id), snapshot.more], [[hot.alarm.id], false], 'the active ones only');
    for (let i = 0; i < 5; i++) {
      t.clock.advance(1000);
      await raise(d, 'High temperature', 'MAJOR');
    }
    await raise(d, 'High temperature', 'CRITICAL');
    await t.core.alarms.acknowledge(t.asAdmin, hot.alarm.id);
    await t.core.alarms.clearByUser(t.asAdmin, hot.alarm.id);
    await settle();
    const live = c.of('a').slice(2);
    assert.deepEqual(
      live.map((m) => m.type === 'alarm' && [m.change, m.deviceId, m.alarm.id, m.alarm.status]),
      [
        ...Array.from({ length: 5 }, () => ['updated', d.id, hot.alarm.id, 'ACTIVE_UNACK']),
        ['escalated', d.id, hot.alarm.id, 'ACTIVE_UNACK'],
        ['acknowledged', d.id, hot.alarm.id, 'ACTIVE_ACK'],
        ['cleared', d.id, hot.alarm.id, 'CLEARED_ACK'],
      ],
    );
    const last = live[4];
    assert.ok(last?.type === 'alarm');
    assert.equal(last.alarm.endTs, t.clock.now(), 'each extension carries its alarm');
  });

  test('severity and type filters; an alarm moving out of the severities is sent once more; a filter target by profile', async () => {
    const sensors = await t.core.profiles.create(t.asAdmin, { name: 'sensors' });
    const a = await t.core.devices.create(t.asAdmin, { name: 'a', profileId: sensors.id });
    const b = await t.core.devices.create(t.asAdmin, { name: 'b' });
    await raise(a, 'Hot', 'CRITICAL');
    await raise(a, 'Wet', 'CRITICAL');
    await raise(b, 'Hot', 'CRITICAL');
    const c = await subscribe(alice, {
      id: 'f',
      kind: 'alarms',
      target: { filter: { profileId: sensors.id } },
      severities: ['CRITICAL', 'MAJOR'],
      types: ['Hot', 'Cold'],
    });
    const snapshot = c.of('f')[1];
    assert.ok(snapshot?.type === 'alarms');
    assert.deepEqual(
      snapshot.alarms.map((x) => [x.deviceId, x.type]),
      [[a.id, 'Hot']],
    );
    await raise(a, 'Hot', 'MAJOR');
    await raise(a, 'Hot', 'MINOR'); // moves out: sent
    await raise(a, 'Hot', 'MINOR'); // out: not sent
    await raise(a, 'Cold', 'MAJOR');
    await raise(a, 'Wet', 'MAJOR'); // another type
    await raise(b, 'Cold', 'MAJOR'); // another profile
    await settle();
    assert.deepEqual(
      c
        .of('f')
        .slice(2)
        .map((m) => m.type === 'alarm' && [m.change, m.alarm.type, m.alarm.severity]),
      [
        ['deescalated', 'Hot', 'MAJOR'],
        ['deescalated', 'Hot', 'MINOR'],
        ['created', 'Cold', 'MAJOR'],
      ],
    );
  });

  test('a change raised while the subscription loads arrives once, in the snapshot or live', async () => {
    const d = await t.core.devices.create(t.asAdmin, { name: 'boiler' });
    await raise(d, 'Hot', 'MAJOR');
    const c = new TestClient(live, alice);
    const raised = raise(d, 'Hot', 'CRITICAL');
    await live.subscribe(c.session, { id: 's', kind: 'alarms', target: { deviceId: d.id } });
    await raised;
    await settle();
    const seen = c.of('s').flatMap((m) => (m.type === 'alarms' ? m.alarms : m.type === 'alarm' ? [m.alarm] : []));
    assert.equal(seen.filter((x) => x.severity === 'CRITICAL').length, 1, JSON.stringify(c.of('s')));
  });

  test('another tenant is not found; a client too slow for its alarm changes is ended, not conflated', async () => {
    const d = await t.core.devices.create(t.asAdmin, { name: 'boiler' });
    const other = await t.core.tenants.create(t.asAdmin, { name: 'Other' });
    const c = await subscribe(principal(other.id, 'tenant-admin'), { id: 'x', kind: 'alarms', target: { deviceId: d.id } });
    const err = c.of('x')[0];
    assert.ok(err?.type === 'error');
    assert.equal(err.code, 'THINGSTEAD_ERR_NOT_FOUND');
    start({ maxQueuedMessages: 5 });
    const slow = await subscribe(alice, { id: 's', kind: 'alarms', target: { deviceId: d.id } });
    slow.reading = false;
    for (let i = 0; i < 10; i++) await raise(d, 'Hot', 'MAJOR');
    await settle();
    assert.equal(slow.ended?.reason, 'too-slow');
  });
});

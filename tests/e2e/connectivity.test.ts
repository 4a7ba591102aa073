// Device connectivity (issue 10) with a real server, real mqtt.js clients over TCP and HTTP posts: connects and
// disconnects, inactivity after a profile's timeout and activity again, HTTP-only devices, and a restart on the
// same data directory. Events are read from the server's bus in process; state over REST.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectivityEvent } from '@thingstead/core';
import mqtt, { type MqttClient } from 'mqtt';
import { startHarness, type Harness } from './harness';

describe('device connectivity', () => {
  let h: Harness;
  let token: string;
  let fastProfile: string;
  const clients: MqttClient[] = [];
  let events: ConnectivityEvent[] = [];
  let unsubscribe = () => {};
  const listen = () => {
    unsubscribe = h.app.bus.subscribe(
      'device.connectivity',
      (e) => {
        events.push(e);
      },
      { name: 'e2e' },
    );
  };
  const connect = async (username: string, o: mqtt.IClientOptions = {}) => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.app.mqttPorts?.tcp ?? 0}`, { username, reconnectPeriod: 0, protocolVersion: 4, ...o });
    clients.push(c);
    return c;
  };
  /** Resolves with the first event of the device with this change, waiting up to `ms`. */
  const eventOf = async (deviceId: string, change: ConnectivityEvent['change'], ms = 5000): Promise<ConnectivityEvent> => {
    const end = Date.now() + ms;
    for (;;) {
      const e = events.find((x) => x.deviceId === deviceId && x.change === change);
      if (e) return e;
      if (Date.now() > end) throw new Error(`no ${change} event of ${deviceId} within ${ms} ms; got ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const device = async (id: string) => {
    const r = await h.call('GET', `/api/devices/${id}`, { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as { connected: boolean; active: boolean; lastConnectAt: number | null; lastDisconnectAt: number | null; lastActivityAt: number | null };
  };
  const listed = async (query: string) => {
    const r = await h.call('GET', `/api/devices?limit=1000&${query}`, { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return (r.body.items as { id: string }[]).map((d) => d.id);
  };
  const deviceWithProfile = async (name: string, profileId: string) => {
    const d = await h.createDevice(token, name);
    assert.equal((await h.call('PATCH', `/api/devices/${d.id}`, { token, body: { profileId } })).status, 200);
    return d;
  };

  before(async () => {
    h = await startHarness();
    token = await h.login();
    listen();
    const p = await h.call('POST', '/api/device-profiles', { token, body: { name: 'fast', inactivityTimeoutSec: 1 } });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    assert.equal(p.body.inactivityTimeoutSec, 1);
    fastProfile = p.body.id as string;
  });
  after(async () => {
    unsubscribe();
    for (const c of clients) c.end(true);
    await h.stop();
  });

  test('the profile field: 600 s by default, validated, changed with PATCH, in OpenAPI', async () => {
    const def = await h.call('POST', '/api/device-profiles', { token, body: { name: 'plain' } });
    assert.equal(def.body.inactivityTimeoutSec, 600);
    for (const bad of [0, 1.5, 2_592_001, '60']) {
      const r = await h.call('POST', '/api/device-profiles', { token, body: { name: `bad-${String(bad)}`, inactivityTimeoutSec: bad } });
      assert.equal(r.status, 400, `${String(bad)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'THINGSTEAD_ERR_VALIDATION');
    }
    const patched = await h.call('PATCH', `/api/device-profiles/${def.body.id as string}`, { token, body: { inactivityTimeoutSec: 120 } });
    assert.equal(patched.status, 200);
    assert.equal((await h.call('GET', `/api/device-profiles/${def.body.id as string}`, { token })).body.inactivityTimeoutSec, 120);
    const doc = (await h.call('GET', '/api/openapi.json')).body as { paths: Record<string, Record<string, { parameters?: { name: string }[] }>> };
    const query = (doc.paths['/api/devices']?.get?.parameters ?? []).map((x) => x.name);
    assert.ok(query.includes('connected') && query.includes('active'), query.join(','));
    assert.match(JSON.stringify(doc), /inactivityTimeoutSec/);
  });

  test('MQTT: a connect makes the device connected (an event, last connect set); a disconnect ends it; ?connected= filters', async () => {
    const d = await h.createDevice(token, 'mqtt-dev');
    const idle = await h.createDevice(token, 'never-connected');
    const before = Date.now();
    const c = await connect(d.accessToken);
    const connected = await eventOf(d.id, 'connected');
    assert.deepEqual({ ...connected, at: 0 }, { tenantId: connected.tenantId, deviceId: d.id, change: 'connected', at: 0, connected: true, active: true });
    const on = await device(d.id);
    assert.equal(on.connected, true);
    assert.equal(on.active, true, 'a connect counts as activity');
    assert.ok(on.lastConnectAt !== null && on.lastConnectAt >= before && on.lastConnectAt <= Date.now());
    const { connected: onNow, active: activeNow, lastConnectAt, lastDisconnectAt, lastActivityAt } = on;
    assert.deepEqual((await h.call('GET', `/api/devices/${d.id}/connectivity`, { token })).body, {
      connected: onNow,
      active: activeNow,
      lastConnectAt,
      lastDisconnectAt,
      lastActivityAt,
      sessions: 1,
    });
    assert.ok((await listed('connected=true')).includes(d.id));
    assert.ok(!(await listed('connected=false')).includes(d.id));
    assert.ok((await listed('connected=false')).includes(idle.id));
    assert.equal((await device(idle.id)).lastConnectAt, null);
    await c.endAsync();
    const gone = await eventOf(d.id, 'disconnected');
    assert.equal(gone.connected, false);
    const off = await device(d.id);
    assert.equal(off.connected, false);
    assert.ok(off.lastDisconnectAt !== null && on.lastConnectAt <= off.lastDisconnectAt);
    assert.ok((await listed('connected=false')).includes(d.id));
    assert.equal((await h.call('GET', '/api/devices?connected=maybe', { token })).status, 400);
  });

  test("a silent device becomes inactive after its profile's timeout (1 s) and active on its next message", async () => {
    const d = await deviceWithProfile('fast-mqtt', fastProfile);
    const c = await connect(d.accessToken);
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ t: 1 }), { qos: 1 });
    await eventOf(d.id, 'active');
    const inactive = await eventOf(d.id, 'inactive', 4000);
    assert.equal(inactive.active, false);
    assert.equal(inactive.connected, true, 'still connected, only silent');
    const state = await device(d.id);
    assert.deepEqual([state.connected, state.active], [true, false]);
    assert.ok((await listed('active=false')).includes(d.id));
    assert.ok(!(await listed('active=true')).includes(d.id));
    events = events.filter((e) => e.deviceId !== d.id);
    const sent = Date.now();
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ t: 2 }), { qos: 1 });
    const back = await eventOf(d.id, 'active');
    assert.ok(back.at >= sent);
    assert.equal((await device(d.id)).active, true);
    assert.ok((await listed('active=true')).includes(d.id));
    await c.endAsync();
  });

  test('a device that only pings (MQTT keep-alive) stays active past its timeout', async () => {
    const p = await h.call('POST', '/api/device-profiles', { token, body: { name: 'pinged', inactivityTimeoutSec: 2 } });
    const d = await deviceWithProfile('pings-only', p.body.id as string);
    // mqtt.js sends PINGREQ after a keep-alive interval without other packets: every second here, nothing else.
    const c = await connect(d.accessToken, { keepalive: 1 });
    await new Promise((r) => setTimeout(r, 4500));
    assert.equal(events.filter((e) => e.deviceId === d.id && e.change === 'inactive').length, 0, 'no inactive event while it pings');
    assert.deepEqual([(await device(d.id)).connected, (await device(d.id)).active], [true, true]);
    await c.endAsync();
  });

  test('HTTP-only devices are active by their posts, inactive when they stop, and sort by last activity', async () => {
    const d = await deviceWithProfile('fast-http', fastProfile);
    const before = Date.now();
    assert.equal((await h.call('POST', `/api/v1/${d.accessToken}/telemetry`, { body: { v: 1 } })).status, 200);
    const active = await eventOf(d.id, 'active');
    assert.equal(active.connected, false);
    const state = await device(d.id);
    assert.deepEqual([state.connected, state.active, state.lastConnectAt], [false, true, null]);
    assert.ok(state.lastActivityAt !== null && state.lastActivityAt >= before);
    const newest = await h.call('GET', '/api/devices?sort=lastActivityAt&order=desc&limit=1', { token });
    assert.equal(newest.body.items[0].id, d.id, 'the device that sent last comes first');
    await eventOf(d.id, 'inactive', 4000);
    assert.equal((await device(d.id)).active, false);
    events = events.filter((e) => e.deviceId !== d.id);
    assert.equal((await h.call('GET', `/api/v1/${d.accessToken}/attributes?clientKeys=a`)).status, 200);
    await eventOf(d.id, 'active');
  });

  test('after a restart on the same data: nobody is connected, activity times are kept and active is recomputed', async () => {
    const live = await h.createDevice(token, 'restart-live');
    const stale = await h.createDevice(token, 'restart-stale');
    const c = await connect(live.accessToken);
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ t: 1 }), { qos: 1 });
    await eventOf(live.id, 'connected');
    // What a crash leaves behind: a connected flag no disconnect cleared.
    await h.app.store.devices.setConnectivity(stale.id, { connected: true, lastConnectAt: Date.now(), lastActivityAt: Date.now() });
    assert.ok((await listed('connected=true')).includes(stale.id));
    const before = await device(live.id);
    unsubscribe();
    await h.restart();
    events = [];
    listen();
    const after = await device(live.id);
    assert.equal(after.connected, false);
    assert.equal(after.active, true, 'it sent within its profile timeout (600 s)');
    assert.equal(after.lastConnectAt, before.lastConnectAt);
    assert.equal(after.lastActivityAt, before.lastActivityAt, 'the activity batch was written at shutdown');
    assert.ok(after.lastDisconnectAt !== null, 'the shutdown disconnected the client');
    const s = await device(stale.id);
    assert.deepEqual([s.connected, s.active], [false, true]);
    const connectedNow = await listed('connected=true');
    assert.ok(!connectedNow.includes(stale.id) && !connectedNow.includes(live.id), 'nothing is left online');
    const again = await connect(live.accessToken);
    await eventOf(live.id, 'connected');
    assert.equal((await device(live.id)).connected, true);
    await again.endAsync();
  });
});

// The gateway API (issue 10): ThingsBoard's v1/gateway/... topics over one MQTT connection of a gateway device,
// with real mqtt.js clients against a real server, checked back over REST.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { startHarness, type Harness } from './harness';

/** The next message on a topic of a connected client, as JSON. */
function nextMessage(c: MqttClient, topic: string, ms = 5000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.off('message', on);
      reject(new Error(`no message on ${topic} in time`));
    }, ms);
    const on = (t: string, payload: Buffer) => {
      if (t !== topic) return;
      clearTimeout(timer);
      c.off('message', on);
      resolve(JSON.parse(payload.toString()));
    };
    c.on('message', on);
  });
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway API over MQTT', () => {
  let h: Harness;
  let token: string;
  let mqttUrl: string;
  const clients: MqttClient[] = [];
  const connect = async (username: string, o: mqtt.IClientOptions = {}) => {
    const c = await mqtt.connectAsync(mqttUrl, { username, reconnectPeriod: 0, protocolVersion: 5, ...o });
    clients.push(c);
    return c;
  };
  const send = (c: MqttClient, topic: string, body: unknown) => c.publishAsync(topic, JSON.stringify(body), { qos: 1 });
  /** A gateway device made over REST, and its access token. */
  const createGateway = async (name: string, tokenOf = token) => {
    const r = await h.call('POST', '/api/devices', { token: tokenOf, body: { name, gateway: true } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.gateway, true);
    assert.equal(r.body.gatewayId, null);
    const accessToken = (await h.call('GET', `/api/devices/${r.body.id}/credentials`, { token: tokenOf })).body.accessToken as string;
    return { id: r.body.id as string, accessToken };
  };
  const childNamed = async (gatewayId: string, name: string) => {
    const list = await h.call('GET', `/api/devices?gatewayId=${gatewayId}&search=${encodeURIComponent(name)}`, { token });
    return (list.body.items as { id: string; name: string; gatewayId: string; profileId: string }[]).find((d) => d.name === name);
  };
  const online = async (id: string) => (await h.call('GET', `/api/devices/${id}/connectivity`, { token })).body.connected as boolean;

  before(async () => {
    h = await startHarness();
    token = await h.login();
    mqttUrl = `mqtt://127.0.0.1:${h.app.mqttPorts?.tcp ?? 0}`;
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await h.stop();
  });

  test('connect creates the child, linked to the gateway, with the profile its type names; it is online', async () => {
    const gw = await createGateway('gw-connect');
    const c = await connect(gw.accessToken, { protocolVersion: 4 });
    await send(c, 'v1/gateway/connect', { device: 'Thermostat A', type: 'thermostat' });
    const child = await childNamed(gw.id, 'Thermostat A');
    assert.ok(child, 'the child is listed under its gateway');
    const got = await h.call('GET', `/api/devices/${child.id}`, { token });
    assert.equal(got.body.gatewayId, gw.id);
    assert.equal(got.body.gateway, false);
    assert.equal((await h.call('GET', `/api/device-profiles/${got.body.profileId}`, { token })).body.name, 'thermostat');
    assert.equal(await online(child.id), true);
    // Connecting again (any type) is the same child.
    await send(c, 'v1/gateway/connect', { device: 'Thermostat A', type: 'other' });
    assert.equal((await h.call('GET', `/api/devices?gatewayId=${gw.id}`, { token })).body.total, 1);
  });

  test("children's telemetry is stored under each child and reads back unchanged; PUBACK after commit", async () => {
    const gw = await createGateway('gw-telemetry');
    const c = await connect(gw.accessToken);
    const t0 = Date.now() - 60_000;
    const before = Date.now();
    await send(c, 'v1/gateway/telemetry', {
      'Meter A': [
        { ts: t0, values: { temperature: 42, state: 'ok' } },
        { ts: t0 + 1000, values: { temperature: 43.5, door: true, cfg: { mode: 'eco', levels: [1, 2] } } },
      ],
      'Meter B': [{ values: { humidity: 50 } }],
      'Meter C': { pressure: 1013 },
    });
    const a = await childNamed(gw.id, 'Meter A');
    const b = await childNamed(gw.id, 'Meter B');
    const cc = await childNamed(gw.id, 'Meter C');
    assert.ok(a && b && cc, 'telemetry for unseen children connects (creates) them, as in ThingsBoard');
    // Read at once after the PUBACK: it came after the commit.
    const ra = await h.call('GET', `/api/devices/${a.id}/telemetry?from=0&order=asc`, { token });
    assert.deepEqual(ra.body.data, {
      temperature: [
        { ts: t0, value: 42 },
        { ts: t0 + 1000, value: 43.5 },
      ],
      state: [{ ts: t0, value: 'ok' }],
      door: [{ ts: t0 + 1000, value: true }],
      cfg: [{ ts: t0 + 1000, value: { mode: 'eco', levels: [1, 2] } }],
    });
    const rb = (await h.call('GET', `/api/devices/${b.id}/telemetry?from=0`, { token })).body.data.humidity as { ts: number; value: number }[];
    assert.equal(rb.length, 1);
    const [humidity] = rb as [{ ts: number; value: number }];
    assert.equal(humidity.value, 50);
    assert.ok(humidity.ts >= before, 'an entry without ts gets the server time');
    assert.deepEqual(
      (await h.call('GET', `/api/devices/${cc.id}/telemetry?from=0`, { token })).body.data.pressure.map((p: { value: number }) => p.value),
      [1013],
    );
    // A bad part refuses the whole message (0x99), and nothing of it is stored.
    await assert.rejects(
      send(c, 'v1/gateway/telemetry', { 'Meter A': [{ ts: t0 + 2000, values: { temperature: 44 } }], 'Meter B': [{ ts: 'later', values: {} }] }),
      {
        code: 0x99,
      },
    );
    const after = await h.call('GET', `/api/devices/${a.id}/telemetry?keys=temperature&from=0`, { token });
    assert.equal(after.body.data.temperature?.length, 2, `the good part was not stored either: ${JSON.stringify(after.body)}`);
    const wrongShape = await h.call('GET', `/api/devices?gatewayId=${gw.id}`, { token });
    assert.equal(wrongShape.body.total, 3);
  });

  test("children's client attributes, attribute requests and responses, shared-attribute pushes", async () => {
    const gw = await createGateway('gw-attributes');
    const c = await connect(gw.accessToken);
    await send(c, 'v1/gateway/attributes', { 'Valve A': { fw_version: '1.0', battery: 87 }, 'Valve B': { fw_version: '2.1' } });
    const a = await childNamed(gw.id, 'Valve A');
    const b = await childNamed(gw.id, 'Valve B');
    assert.ok(a && b);
    const read = await h.call('GET', `/api/devices/${a.id}/attributes?scope=client`, { token });
    assert.deepEqual(Object.fromEntries(Object.entries(read.body.client as Record<string, { value: unknown }>).map(([k, v]) => [k, v.value])), {
      fw_version: '1.0',
      battery: 87,
    });
    assert.equal((await h.call('POST', `/api/devices/${a.id}/attributes/shared`, { token, body: { interval: 30, mode: 'eco' } })).status, 200);

    await c.subscribeAsync('v1/gateway/attributes/response', { qos: 1 });
    const one = nextMessage(c, 'v1/gateway/attributes/response');
    await send(c, 'v1/gateway/attributes/request', { id: 1, device: 'Valve A', client: true, key: 'fw_version' });
    assert.deepEqual(await one, { id: 1, device: 'Valve A', value: '1.0' });
    const some = nextMessage(c, 'v1/gateway/attributes/response');
    await send(c, 'v1/gateway/attributes/request', { id: 2, device: 'Valve A', client: false, keys: ['interval', 'mode', 'missing'] });
    assert.deepEqual(await some, { id: 2, device: 'Valve A', values: { interval: 30, mode: 'eco' } });

    // Pushes of shared changes for a connected child, to the gateway subscribed to v1/gateway/attributes; deletions too.
    await c.subscribeAsync('v1/gateway/attributes', { qos: 1 });
    const pushed = nextMessage(c, 'v1/gateway/attributes');
    await h.call('POST', `/api/devices/${b.id}/attributes/shared`, { token, body: { setpoint: 21.5 } });
    assert.deepEqual(await pushed, { device: 'Valve B', data: { setpoint: 21.5 } });
    const deleted = nextMessage(c, 'v1/gateway/attributes');
    await h.call('DELETE', `/api/devices/${b.id}/attributes/shared?keys=setpoint`, { token });
    assert.deepEqual(await deleted, { device: 'Valve B', data: { deleted: ['setpoint'] } });
  });

  test('a command to a child (POST /api/devices/:childId/rpc) reaches the gateway and its answer completes the call', async () => {
    const gw = await createGateway('gw-rpc');
    const c = await connect(gw.accessToken, { protocolVersion: 4 });
    await c.subscribeAsync('v1/gateway/rpc', { qos: 1 });
    await send(c, 'v1/gateway/connect', { device: 'Relay A', type: 'relay' });
    const child = await childNamed(gw.id, 'Relay A');
    assert.ok(child);
    const seen: unknown[] = [];
    c.on('message', (topic, payload) => {
      if (topic !== 'v1/gateway/rpc') return;
      const req = JSON.parse(payload.toString()) as { device: string; data: { id: number; method: string; params: { pin: number } } };
      seen.push(req);
      void send(c, 'v1/gateway/rpc', { device: req.device, id: req.data.id, data: { success: true, pin: req.data.params.pin } });
    });
    const r = await h.call('POST', `/api/devices/${child.id}/rpc`, { token, body: { method: 'toggle_gpio', params: { pin: 1 } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.response, { success: true, pin: 1 });
    assert.deepEqual(seen, [{ device: 'Relay A', data: { id: r.body.rpcId, method: 'toggle_gpio', params: { pin: 1 } } }]);
  });

  test('a persistent command queued for an offline child goes out when its gateway connects it, and completes', async () => {
    const gw = await createGateway('gw-persistent');
    const first = await connect(gw.accessToken);
    await send(first, 'v1/gateway/connect', { device: 'Pump P' });
    const child = await childNamed(gw.id, 'Pump P');
    assert.ok(child);
    await first.endAsync();
    assert.equal(await online(child.id), false);
    const queued = await h.call('POST', `/api/devices/${child.id}/rpc`, { token, body: { method: 'start', params: { speed: 3 }, persistent: true } });
    assert.equal(queued.body.status, 'QUEUED');

    const c = await connect(gw.accessToken);
    await c.subscribeAsync('v1/gateway/rpc', { qos: 1 });
    const command = nextMessage(c, 'v1/gateway/rpc');
    await send(c, 'v1/gateway/connect', { device: 'Pump P' });
    const got = await command;
    assert.deepEqual(got, { device: 'Pump P', data: { id: queued.body.rpcId, method: 'start', params: { speed: 3 } } });
    await send(c, 'v1/gateway/rpc', { device: 'Pump P', id: got.data.id, data: { running: true } });
    let stored = await h.call('GET', `/api/rpc/${queued.body.id as string}`, { token });
    for (let i = 0; i < 50 && stored.body.status !== 'SUCCESSFUL'; i++) {
      await wait(20);
      stored = await h.call('GET', `/api/rpc/${queued.body.id as string}`, { token });
    }
    assert.equal(stored.body.status, 'SUCCESSFUL');
    assert.deepEqual(stored.body.response, { running: true });
  });

  test('a device that is no gateway is refused on v1/gateway/* (PUBACK and SUBACK 0x87)', async () => {
    const d = await h.createDevice(token, 'not-a-gateway');
    const c = await connect(d.accessToken);
    for (const topic of ['v1/gateway/connect', 'v1/gateway/telemetry', 'v1/gateway/attributes', 'v1/gateway/rpc']) {
      await assert.rejects(send(c, topic, { device: 'Sneaky' }), { code: 0x87 }, topic);
    }
    for (const filter of ['v1/gateway/rpc', 'v1/gateway/attributes', 'v1/gateway/attributes/response']) {
      // mqtt.js rejects a v5 SUBACK whose only reason code is a failure.
      await assert.rejects(c.subscribeAsync(filter, { qos: 1 }), /Not authorized/, filter);
    }
    assert.equal((await h.call('GET', '/api/devices?search=Sneaky', { token })).body.total, 0);
  });

  test("a gateway cannot reach another gateway's child, a device of its tenant on its own, or another tenant's device", async () => {
    const gw1 = await createGateway('gw-one');
    const gw2 = await createGateway('gw-two');
    const c1 = await connect(gw1.accessToken);
    const c2 = await connect(gw2.accessToken);
    await send(c1, 'v1/gateway/telemetry', { 'Owned by one': [{ ts: Date.now() - 1000, values: { v: 1 } }] });
    const theirs = await childNamed(gw1.id, 'Owned by one');
    assert.ok(theirs);
    await h.createDevice(token, 'Standalone');
    for (const device of ['Owned by one', 'Standalone', 'gw-one']) {
      await assert.rejects(send(c2, 'v1/gateway/connect', { device }), { code: 0x87 }, device);
      await assert.rejects(send(c2, 'v1/gateway/telemetry', { [device]: { v: 666 } }), { code: 0x87 }, device);
      await assert.rejects(send(c2, 'v1/gateway/attributes', { [device]: { hijacked: true } }), { code: 0x87 }, device);
      await assert.rejects(send(c2, 'v1/gateway/attributes/request', { id: 1, device, client: true }), { code: 0x87 }, device);
      await assert.rejects(send(c2, 'v1/gateway/rpc', { device, id: 1, data: {} }), { code: 0x87 }, device);
    }
    const data = (await h.call('GET', `/api/devices/${theirs.id}/telemetry?keys=v&from=0`, { token })).body.data.v as { value: number }[];
    assert.deepEqual(
      data.map((p) => p.value),
      [1],
    );
    assert.deepEqual((await h.call('GET', `/api/devices/${theirs.id}/attributes?scope=client`, { token })).body.client, {});
    // gw-two's disconnect of it changes nothing: it is gw-one's, and connected there.
    await send(c2, 'v1/gateway/disconnect', { device: 'Owned by one' });
    assert.equal(await online(theirs.id), true);
    // A command to gw-one's child never reaches gw-two, subscribed to the same filter.
    await c2.subscribeAsync('v1/gateway/rpc', { qos: 1 });
    const gotByTwo: unknown[] = [];
    c2.on('message', (t, p) => gotByTwo.push([t, p.toString()]));
    const oneway = await h.call('POST', `/api/devices/${theirs.id}/rpc`, { token, body: { method: 'blink', oneway: true } });
    assert.equal(oneway.status, 200);

    // Another tenant's device by name: names are looked up in the gateway's own tenant, so it is a new child there.
    const tenantB = await h.call('POST', '/api/tenants', { token, body: { name: 'Gateway tenant B' } });
    const foreign = await h.call('POST', '/api/devices', { token, body: { name: 'Foreign meter', tenantId: tenantB.body.id } });
    assert.equal(foreign.status, 201);
    await send(c2, 'v1/gateway/telemetry', { 'Foreign meter': { v: 7 } });
    const mine = await childNamed(gw2.id, 'Foreign meter');
    assert.ok(mine);
    assert.notEqual(mine.id, foreign.body.id);
    assert.deepEqual((await h.call('GET', `/api/devices/${foreign.body.id}/telemetry?from=0`, { token })).body.data, {});
    await wait(200);
    assert.deepEqual(gotByTwo, []);
  });

  test('disconnect takes a child offline; the end of the connection takes all; a command to an offline child is 409', async () => {
    const gw = await createGateway('gw-offline');
    const c = await connect(gw.accessToken);
    await send(c, 'v1/gateway/connect', { device: 'Lamp A' });
    await send(c, 'v1/gateway/connect', { device: 'Lamp B' });
    const a = await childNamed(gw.id, 'Lamp A');
    const b = await childNamed(gw.id, 'Lamp B');
    assert.ok(a && b);
    assert.equal(await online(a.id), true);
    await send(c, 'v1/gateway/disconnect', { device: 'Lamp A' });
    assert.equal(await online(a.id), false);
    assert.equal(await online(b.id), true);
    const offline = await h.call('POST', `/api/devices/${a.id}/rpc`, { token, body: { method: 'on' } });
    assert.equal(offline.status, 409);
    assert.equal(offline.body.code, 'THINGSTEAD_ERR_DEVICE_OFFLINE');
    await c.endAsync();
    for (let i = 0; i < 50 && (await online(b.id)); i++) await wait(20);
    assert.equal(await online(b.id), false);
    const connectivity = (await h.call('GET', `/api/devices/${b.id}/connectivity`, { token })).body;
    assert.ok(connectivity.lastDisconnectAt >= connectivity.lastConnectAt);
  });

  test('a device made no gateway loses its connection, and then its gateway topics', async () => {
    const gw = await createGateway('gw-demoted');
    const c = await connect(gw.accessToken);
    await send(c, 'v1/gateway/connect', { device: 'Orphan' });
    const child = await childNamed(gw.id, 'Orphan');
    assert.ok(child);
    const closed = new Promise<void>((resolve) => {
      c.once('close', () => {
        resolve();
      });
    });
    const patched = await h.call('PATCH', `/api/devices/${gw.id}`, { token, body: { gateway: false } });
    assert.equal(patched.body.gateway, false);
    await closed;
    for (let i = 0; i < 50 && (await online(child.id)); i++) await wait(20);
    assert.equal(await online(child.id), false, 'its children went offline with the connection');
    const again = await connect(gw.accessToken);
    await assert.rejects(send(again, 'v1/gateway/connect', { device: 'Orphan' }), { code: 0x87 });
  });
});

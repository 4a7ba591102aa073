import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { startHarness, type Harness } from './harness';

/** Values sent without ts are stamped by the server; no two of one device may share a timestamp (they would replace each other). */
describe('server timestamps never collide', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness();
    token = await h.login();
  });
  after(async () => {
    await h.stop();
  });
  const device = (name: string) => h.createDevice(token, name);
  const stored = async (id: string) => {
    const r = await h.call('GET', `/api/devices/${id}/telemetry?keys=n&limit=10000&order=asc&to=${Date.now() + 60_000}`, { token });
    return ((r.body as { data: { n?: { ts: number; value: number }[] } }).data.n ?? []).map((p) => p.value);
  };

  test('a burst of 1,000 pipelined MQTT messages without ts: every acknowledged value is stored, in order', async () => {
    const d = await device('burst-mqtt');
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.app.mqttPorts?.tcp ?? 0}`, { username: d.accessToken, reconnectPeriod: 0 });
    const count = 1000;
    await Promise.all(Array.from({ length: count }, (_, i) => c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ n: i }), { qos: 1 })));
    await c.endAsync();
    assert.deepEqual(
      await stored(d.id),
      Array.from({ length: count }, (_, i) => i),
    );
  });

  test('concurrent HTTP posts without ts, and entries of one array, are all stored', async () => {
    const d = await device('burst-http');
    const count = 200;
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) => h.call('POST', `/api/v1/${d.accessToken}/telemetry`, { body: [{ n: 2 * i }, { n: 2 * i + 1 }] })),
    );
    assert.ok(answers.every((a) => a.status === 200));
    const values = await stored(d.id);
    assert.equal(values.length, 2 * count);
    assert.deepEqual(
      [...values].sort((a, b) => a - b),
      Array.from({ length: 2 * count }, (_, i) => i),
    );
  });

  test('a value resent with the same explicit ts replaces the stored one, and is counted in thingstead_telemetry_replaced_total', async () => {
    const d = await device('resend');
    const replacedTotal = async () => Number(/^thingstead_telemetry_replaced_total (\d+)/m.exec(String((await h.call('GET', '/metrics')).body))?.[1] ?? NaN);
    const before = await replacedTotal();
    const ts = Date.now() - 1000;
    for (const n of [1, 2]) assert.equal((await h.call('POST', `/api/v1/${d.accessToken}/telemetry`, { body: { ts, values: { n } } })).status, 200);
    assert.equal(await replacedTotal(), before + 1);
    assert.deepEqual(await stored(d.id), [2], 'the later value is kept');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import type { BusEvents } from '@thingstead/core';
import { startHarness, type Harness } from './harness';

describe('the bus is off the acknowledgement path', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness();
    token = await h.login();
  });
  after(async () => {
    await h.stop();
  });

  test('a telemetry subscriber that does not finish delays no PUBACK and no HTTP 200; it gets every committed message once it goes on', async () => {
    const { accessToken, ...device } = await h.createDevice(token, 'slow-subscriber-meter');
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: BusEvents['telemetry'][] = [];
    const off = h.app.bus.subscribe(
      'telemetry',
      async (e) => {
        seen.push(e);
        await gate;
      },
      { name: 'test-slow' },
    );
    try {
      const port = h.app.mqttPorts?.tcp ?? 0;
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: accessToken, reconnectPeriod: 0 });
      const count = 200;
      // Stop-and-wait: each publish waits for its PUBACK, so a subscriber on the ack path would stall the loop.
      for (let i = 0; i < count; i++)
        await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ ts: 1_700_000_000_000 + i, values: { n: i } }), { qos: 1 });
      const r = await h.call('POST', `/api/v1/${accessToken}/telemetry`, { body: { ts: 1_700_000_000_000 + count, values: { n: count } } });
      assert.equal(r.status, 200);
      await c.endAsync();
      assert.equal(seen.length, 1, 'the subscriber is still on its first event');
      const stored = await h.call('GET', `/api/devices/${device.id}/telemetry?keys=n&limit=1000`, { token });
      assert.equal((stored.body as { data: { n: unknown[] } }).data.n.length, count + 1, 'every acknowledged value is stored');

      release();
      await h.app.bus.drain();
      const values = seen.flatMap((e) => e.messages.filter((m) => m.deviceId === device.id).flatMap((m) => m.points.map((p) => p.value)));
      assert.deepEqual(
        values,
        Array.from({ length: count + 1 }, (_, i) => i),
        'every committed message, in commit order',
      );
    } finally {
      release();
      off();
    }
  });
});

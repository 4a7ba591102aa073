import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Broker } from '@thingstead/broker';
import type { BusEvents } from '@thingstead/core';
import { telemetryForwarder } from './forwarder';

const message = (deviceId: string, n: number) => ({
  deviceId,
  tenantId: 't1',
  points: [
    { deviceId, key: 'n', ts: 1000 + n, value: n },
    { deviceId, key: 'm', ts: 1000 + n, value: -n },
  ],
});

describe('telemetryForwarder', () => {
  test("each committed message of the batch becomes one MQTT message on its device's application topic, in the ThingsBoard array form", async () => {
    const broker = new Broker();
    await broker.ready;
    const routed: { topic: string; payload: unknown }[] = [];
    const original = broker.route.bind(broker);
    broker.route = (m) => {
      routed.push({ topic: m.topic, payload: JSON.parse(m.payload.toString()) });
      return original(m);
    };
    broker.hasSubscribers = (topic) => topic.includes('/d1/');
    const event: BusEvents['telemetry'] = { messages: [message('d1', 1), message('d2', 2), message('d1', 3)] };
    await telemetryForwarder(broker)(event);
    assert.deepEqual(
      routed,
      [
        { topic: 'tenants/t1/devices/d1/telemetry', payload: [{ ts: 1001, values: { n: 1, m: -1 } }] },
        { topic: 'tenants/t1/devices/d1/telemetry', payload: [{ ts: 1003, values: { n: 3, m: -3 } }] },
      ],
      'd2 has no subscriber: nothing is built or routed for it',
    );
    await broker.close();
  });

  test('nothing is forwarded once the broker is closed', async () => {
    const broker = new Broker();
    await broker.ready;
    await broker.close();
    let routed = 0;
    broker.route = () => {
      routed++;
      return false;
    };
    broker.hasSubscribers = () => true;
    assert.equal(telemetryForwarder(broker)({ messages: [message('d1', 1)] }), undefined);
    assert.equal(routed, 0);
  });
});

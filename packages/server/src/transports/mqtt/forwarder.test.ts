import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Broker } from '@thingstead/broker';
import { pino } from 'pino';
import { TelemetryForwarder } from './forwarder';

const event = (n: number) => ({ deviceId: 'd1', tenantId: 't1', points: [{ deviceId: 'd1', key: 'n', ts: 1000 + n, value: n }] });

describe('TelemetryForwarder', () => {
  test('forwards off the acknowledgement path: nothing is routed inside the bus handler, all of it after the turn', async () => {
    const broker = new Broker();
    const routed: string[] = [];
    const original = broker.route.bind(broker);
    broker.route = (m) => {
      routed.push(m.payload.toString());
      return original(m);
    };
    broker.hasSubscribers = () => true;
    let dropped = 0;
    const f = new TelemetryForwarder({ broker, logger: pino({ level: 'silent' }), maxPending: 10, onDropped: () => dropped++ });
    f.enqueue(event(1));
    f.enqueue(event(2));
    assert.deepEqual(routed, [], 'the bus handler only queues');
    await new Promise((r) => setImmediate(r));
    await broker.ready;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(routed.map((p) => JSON.parse(p) as unknown), [[{ ts: 1001, values: { n: 1 } }], [{ ts: 1002, values: { n: 2 } }]]);
    assert.equal(dropped, 0);
    await broker.close();
  });

  test('the queue is bounded: beyond maxPending the oldest batch is dropped and counted', async () => {
    const broker = new Broker();
    const routed: number[] = [];
    broker.hasSubscribers = () => true;
    const original = broker.route.bind(broker);
    broker.route = (m) => {
      routed.push(((JSON.parse(m.payload.toString()) as { values: { n: number } }[])[0]?.values.n) ?? -1);
      return original(m);
    };
    let dropped = 0;
    const f = new TelemetryForwarder({ broker, logger: pino({ level: 'silent' }), maxPending: 2, onDropped: () => dropped++ });
    for (let i = 1; i <= 5; i++) f.enqueue(event(i));
    assert.equal(dropped, 3);
    await broker.ready;
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(routed, [4, 5]);
    await broker.close();
  });
});

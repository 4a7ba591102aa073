import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from './broker';
import { connected } from './testing/test-client';

describe('Broker API', () => {
  test('hasSubscribers follows subscriptions, wildcards and shared groups', async () => {
    const broker = new Broker();
    assert.equal(broker.hasSubscribers('tenants/t1/devices/d1/telemetry'), false);
    const c = await connected(broker, 5, { clientId: 'app' });
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'tenants/t1/devices/+/telemetry', qos: 1 }] });
    await c.next('suback');
    assert.equal(broker.hasSubscribers('tenants/t1/devices/d1/telemetry'), true);
    assert.equal(broker.hasSubscribers('tenants/t2/devices/d1/telemetry'), false);
    c.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['tenants/t1/devices/+/telemetry'] });
    await c.next('unsuback');
    assert.equal(broker.hasSubscribers('tenants/t1/devices/d1/telemetry'), false, 'the match cache is invalidated');
    c.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: '$share/g/tenants/t1/#', qos: 0 }] });
    await c.next('suback');
    assert.equal(broker.hasSubscribers('tenants/t1/devices/d9/telemetry'), true);
    c.end();
    await broker.close();
  });

  test('"subscribed" names the granted filters after the SUBACK; a publish from its listener reaches the new subscription', async () => {
    const broker = new Broker({ hooks: { authorizeSubscribe: (_c, sub) => !sub.topic.startsWith('denied/') } });
    const seen: string[][] = [];
    broker.on('subscribed', (client, filters) => {
      seen.push([client.id, ...filters]);
      void broker.publish({ topic: 'greeting/x', payload: 'first', qos: 1 });
    });
    const c = await connected(broker, 5, { clientId: 'sub-1' });
    c.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'greeting/+', qos: 1 },
        { topic: 'denied/a', qos: 0 },
      ],
    });
    const suback = await c.next('suback');
    assert.deepEqual(suback.granted, [1, 0x87]);
    assert.deepEqual(seen, [['sub-1', 'greeting/+']]);
    const msg = await c.next('publish');
    assert.equal(msg.topic, 'greeting/x');
    assert.equal(String(msg.payload), 'first');
    c.end();
    await broker.close();
  });

  test('"ping" follows each PINGRESP; a listener that throws is reported, and the connection still gets its PINGRESP', async () => {
    const broker = new Broker({});
    const pings: string[] = [];
    const errors: unknown[] = [];
    broker.on('hookError', (e) => errors.push(e));
    broker.on('ping', (client) => {
      pings.push(client.id);
      if (pings.length === 2) throw new Error('listener fault');
    });
    const c = await connected(broker, 4, { clientId: 'pinger' });
    c.send({ cmd: 'pingreq' });
    await c.next('pingresp');
    c.send({ cmd: 'pingreq' });
    await c.next('pingresp');
    assert.deepEqual(pings, ['pinger', 'pinger']);
    assert.equal(errors.length, 1);
    c.send({ cmd: 'pingreq' });
    await c.next('pingresp');
    c.end();
    await broker.close();
  });
});

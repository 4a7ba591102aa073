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
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, brokerInternals } from './broker';
import { connected, TestClient } from './testing/test-client';

const payload = Buffer.alloc(64, 1);

describe('flow control and back-pressure', () => {
  test('[MQTT-3.3.4-9] v5: the broker never has more QoS 1 messages in flight than the client Receive Maximum', async () => {
    const broker = new Broker();
    const sub = await connected(broker, 5, { clientId: 's', properties: { receiveMaximum: 2 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'f', qos: 1 }] });
    await sub.next('suback');
    for (let i = 0; i < 5; i++) await broker.publish({ topic: 'f', payload, qos: 1 });
    const first = (await sub.drain()).filter((p) => p.cmd === 'publish');
    assert.equal(first.length, 2);
    sub.send({ cmd: 'puback', messageId: first[0]?.messageId ?? 0 });
    const next = (await sub.drain()).filter((p) => p.cmd === 'publish');
    assert.equal(next.length, 1, 'one PUBACK opens one slot');
    await broker.close();
  });

  test('[MQTT-3.3.4-10] v5: control packets are not delayed by a full window; queued messages keep their order [MQTT-4.6.0-5]', async () => {
    const broker = new Broker();
    const sub = await connected(broker, 5, { clientId: 's', properties: { receiveMaximum: 1 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'f', qos: 1 }] });
    await sub.next('suback');
    await broker.publish({ topic: 'f', payload: 'a', qos: 1 });
    await broker.publish({ topic: 'f', payload: 'b', qos: 1 });
    await broker.publish({ topic: 'f', payload: 'c', qos: 0 });
    const got = await sub.drain();
    assert.deepEqual(
      got.map((p) => (p.cmd === 'publish' ? p.payload.toString() : p.cmd)),
      ['a'],
    );
    sub.send({ cmd: 'pingreq' });
    assert.equal((await sub.next('pingresp')).cmd, 'pingresp', 'control packets still flow');
    sub.send({ cmd: 'puback', messageId: (got[0] as { messageId: number }).messageId });
    const rest = await sub.drain();
    assert.deepEqual(
      rest.map((p) => (p.cmd === 'publish' ? p.payload.toString() : p.cmd)),
      ['b', 'c'],
    );
    await broker.close();
  });

  test('a subscriber that stops reading: the broker stops writing at the socket cap, queues up to the limit, drops QoS 0 first and counts', async () => {
    const broker = new Broker({ limits: { maxQueuedMessages: 50, maxSocketBufferBytes: 4096 } });
    const slow = new TestClient(broker, 4, { highWaterMark: 1024 });
    await slow.connect({ clientId: 'slow' });
    slow.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 1 }] });
    await slow.next('suback');
    slow.stream.pause();
    slow.stream.removeAllListeners('data');
    for (let i = 0; i < 2000; i++) await broker.publish({ topic: 'flood', payload, qos: i % 2 === 0 ? 0 : 1 });
    const session = brokerInternals(broker).sessions.get('slow');
    assert.ok(session !== undefined);
    assert.ok(session.queue.length <= 50, `queue bounded (${session.queue.length})`);
    assert.equal(session.queuedQos0, 0, 'QoS 0 messages were dropped before QoS 1 ones');
    const stats = broker.stats();
    assert.ok(stats.messagesDropped > 1500, `dropped ${stats.messagesDropped}`);
    assert.ok(stats.messagesOut < 200, `stopped writing (${stats.messagesOut} written)`);
    await broker.close();
  });

  test('writes of one tick are batched and all arrive', async () => {
    const broker = new Broker();
    const sub = await connected(broker, 4, { clientId: 's' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'b', qos: 0 }] });
    await sub.next('suback');
    const pub = await connected(broker, 4, { clientId: 'p' });
    const many = Buffer.concat(Array.from({ length: 500 }, () => Buffer.from([0x30, 0x04, 0x00, 0x01, 0x62, 0x78])));
    pub.raw(many);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sub.received.filter((p) => p.cmd === 'publish').length, 500);
    await broker.close();
  });
});

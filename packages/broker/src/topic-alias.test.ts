import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt-packet';
import { Broker } from './broker';
import { connected, type TestClient } from './testing/test-client';

async function subscriber(
  broker: Broker,
  clientId: string,
  topicAliasMaximum: number | undefined,
  filter = '#',
  extra: Record<string, unknown> = {},
): Promise<TestClient> {
  const properties = { ...(topicAliasMaximum === undefined ? {} : { topicAliasMaximum }), ...extra };
  const c = await connected(broker, 5, { clientId, properties });
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 2 }] });
  await c.next('suback');
  return c;
}

async function publishes(c: TestClient, n: number): Promise<IPublishPacket[]> {
  const out: IPublishPacket[] = [];
  while (out.length < n) {
    const p = await c.next();
    if (p.cmd !== 'publish') continue;
    out.push(p);
    if (p.qos === 1) c.send({ cmd: 'puback', messageId: p.messageId ?? 0 });
    if (p.qos === 2) c.send({ cmd: 'pubrec', messageId: p.messageId ?? 0 });
  }
  return out;
}

const shape = (p: IPublishPacket) => [p.topic, p.properties?.topicAlias];

describe('server-to-client topic aliases (v5 §3.3.2.3.4)', () => {
  test('Paho test_server_topic_alias, [MQTT-3.3.2-11] [MQTT-3.1.2-26]: with Topic Alias Maximum 1, the first PUBLISH carries the topic and alias, later ones alias 1 and an empty topic (QoS 0, 1, 2)', async () => {
    const broker = new Broker();
    const c = await subscriber(broker, 'server topic alias a', 1, 'TopicA');
    for (const qos of [0, 1, 2] as const)
      c.send({
        cmd: 'publish',
        topic: 'TopicA',
        payload: Buffer.from('topic alias 1'),
        qos,
        retain: false,
        dup: false,
        ...(qos > 0 ? { messageId: qos } : {}),
      });
    const got = await publishes(c, 3);
    assert.deepEqual(got.map(shape), [
      ['TopicA', 1],
      ['', 1],
      ['', 1],
    ]);
    assert.deepEqual(
      got.map((p) => p.qos),
      [0, 1, 2],
    );
    await broker.close();
  });

  test('Paho test_server_topic_alias, [MQTT-3.1.2-27]: without Topic Alias Maximum, or with 0, no Topic Alias is sent', async () => {
    const broker = new Broker();
    const absent = await subscriber(broker, 'absent', undefined, 'TopicA');
    const zero = await subscriber(broker, 'zero', 0, 'TopicA');
    for (const qos of [0, 1, 2] as const) await broker.publish({ topic: 'TopicA', payload: 'x', qos });
    for (const c of [absent, zero])
      assert.deepEqual((await publishes(c, 3)).map(shape), [
        ['TopicA', undefined],
        ['TopicA', undefined],
        ['TopicA', undefined],
      ]);
    await broker.close();
  });

  test('aliases are assigned until the maximum is reached, then topics go out in full', async () => {
    const broker = new Broker();
    const c = await subscriber(broker, 's', 2);
    for (const topic of ['a', 'b', 'c', 'a', 'c', 'b']) await broker.publish({ topic, payload: 'x' });
    assert.deepEqual((await publishes(c, 6)).map(shape), [
      ['a', 1],
      ['b', 2],
      ['c', undefined],
      ['', 1],
      ['c', undefined],
      ['', 2],
    ]);
    await broker.close();
  });

  test('the mapping lasts one connection: after a reconnect the resent and new messages carry the topic again', async () => {
    const broker = new Broker();
    const options = { clientId: 'p', clean: false, properties: { sessionExpiryInterval: 60, topicAliasMaximum: 4 } };
    const first = await connected(broker, 5, options);
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
    await first.next('suback');
    await broker.publish({ topic: 't', payload: '1', qos: 1 });
    await broker.publish({ topic: 't', payload: '2', qos: 1 });
    assert.deepEqual(
      (await first.drain()).map((p) => (p.cmd === 'publish' ? shape(p) : p.cmd)),
      [
        ['t', 1],
        ['', 1],
      ],
    );
    first.end();
    await first.waitClosed();
    const second = await connected(broker, 5, options);
    const resent = await publishes(second, 2);
    assert.deepEqual(resent.map(shape), [
      ['t', 1],
      ['', 1],
    ]);
    assert.deepEqual(
      resent.map((p) => p.dup),
      [true, true],
    );
    await broker.close();
  });

  test('the cached QoS 0 encoding is not aliased for the others: a v5 subscriber without aliases and a 3.1.1 subscriber get the full topic', async () => {
    const broker = new Broker();
    const aliased = await subscriber(broker, 'aliased', 8);
    const plain5 = await subscriber(broker, 'plain5', 0);
    const plain4 = await connected(broker, 4, { clientId: 'plain4' });
    plain4.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
    await plain4.next('suback');
    for (let i = 0; i < 2; i++) await broker.publish({ topic: 'same/topic', payload: 'x' });
    assert.deepEqual((await publishes(aliased, 2)).map(shape), [
      ['same/topic', 1],
      ['', 1],
    ]);
    assert.deepEqual((await publishes(plain5, 2)).map(shape), [
      ['same/topic', undefined],
      ['same/topic', undefined],
    ]);
    assert.deepEqual(
      (await publishes(plain4, 2)).map((p) => p.topic),
      ['same/topic', 'same/topic'],
    );
    await broker.close();
  });

  test('a message with properties is aliased the same way, its properties kept', async () => {
    const broker = new Broker();
    const c = await subscriber(broker, 's', 1);
    for (let i = 0; i < 2; i++) await broker.publish({ topic: 'p', payload: 'x', properties: { userProperties: { k: 'v' }, contentType: 'text/plain' } });
    const got = await publishes(c, 2);
    assert.deepEqual(got.map(shape), [
      ['p', 1],
      ['', 1],
    ]);
    assert.deepEqual(
      got.map((p) => [p.properties?.contentType, p.properties?.userProperties?.k]),
      [
        ['text/plain', 'v'],
        ['text/plain', 'v'],
      ],
    );
    await broker.close();
  });

  test('[MQTT-3.1.2-25] a message too large for the client is dropped without taking an alias: the next one still names the topic', async () => {
    const broker = new Broker();
    const c = await subscriber(broker, 's', 1, '#', { maximumPacketSize: 64 });
    await broker.publish({ topic: 'big', payload: Buffer.alloc(100) });
    await broker.publish({ topic: 'big', payload: 'small' });
    assert.deepEqual((await publishes(c, 1)).map(shape), [['big', 1]]);
    await broker.close();
  });

  test('limits.topicAliasMaximum also caps the aliases the broker assigns', async () => {
    const broker = new Broker({ limits: { topicAliasMaximum: 1 } });
    const c = await subscriber(broker, 's', 100);
    for (const topic of ['a', 'b']) await broker.publish({ topic, payload: 'x' });
    assert.deepEqual((await publishes(c, 2)).map(shape), [
      ['a', 1],
      ['b', undefined],
    ]);
    await broker.close();
  });
});

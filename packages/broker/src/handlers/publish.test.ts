import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, brokerInternals } from '../broker';
import { FakeClock } from '../testing/fake-clock';
import { connected } from '../testing/test-client';

const payload = Buffer.from('hello');

async function pair(broker: Broker, version: 4 | 5, qos: 0 | 1 | 2 = 2, filter = 't/#') {
  const sub = await connected(broker, version, { clientId: `sub${version}` });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] });
  await sub.next('suback');
  const pub = await connected(broker, version, { clientId: `pub${version}` });
  return { sub, pub };
}

describe('PUBLISH', () => {
  test('[MQTT-4.3.1-1] QoS 0 is delivered once with QoS 0, no acknowledgement', async () => {
    const broker = new Broker();
    const { sub, pub } = await pair(broker, 4);
    pub.send({ cmd: 'publish', topic: 't/a', payload, qos: 0, retain: false, dup: false });
    const p = await sub.next('publish');
    assert.equal(p.topic, 't/a');
    assert.equal(p.qos, 0);
    assert.deepEqual(await pub.drain(), []);
    await broker.close();
  });

  test('[MQTT-4.3.2-1] [MQTT-4.3.2-2] 3.1.1 QoS 1: PUBACK to the publisher; the subscriber gets a packet id and must PUBACK', async () => {
    const broker = new Broker();
    const { sub, pub } = await pair(broker, 4);
    pub.send({ cmd: 'publish', topic: 't/a', payload, qos: 1, messageId: 7, retain: false, dup: false });
    assert.equal((await pub.next('puback')).messageId, 7);
    const p = await sub.next('publish');
    assert.equal(p.qos, 1);
    assert.ok((p.messageId ?? 0) > 0);
    assert.equal(brokerInternals(broker).sessions.get('sub4')?.inflight.size, 1);
    sub.send({ cmd: 'puback', messageId: p.messageId ?? 0 });
    await sub.drain();
    assert.equal(brokerInternals(broker).sessions.get('sub4')?.inflight.size, 0);
    await broker.close();
  });

  test('[MQTT-4.3.3-10] [MQTT-4.3.3-11] v5 QoS 2: PUBREC, PUBREL, PUBCOMP both ways; a resent PUBLISH before PUBREL is not delivered twice', async () => {
    const broker = new Broker();
    const { sub, pub } = await pair(broker, 5);
    pub.send({ cmd: 'publish', topic: 't/a', payload, qos: 2, messageId: 9, retain: false, dup: false });
    assert.equal((await pub.next('pubrec')).messageId, 9);
    pub.send({ cmd: 'publish', topic: 't/a', payload, qos: 2, messageId: 9, retain: false, dup: true });
    assert.equal((await pub.next('pubrec')).messageId, 9);
    pub.send({ cmd: 'pubrel', messageId: 9 });
    assert.equal((await pub.next('pubcomp')).messageId, 9);
    const p = await sub.next('publish');
    assert.equal(p.qos, 2);
    sub.send({ cmd: 'pubrec', messageId: p.messageId ?? 0 });
    assert.equal((await sub.next('pubrel')).messageId, p.messageId);
    sub.send({ cmd: 'pubcomp', messageId: p.messageId ?? 0 });
    assert.deepEqual(await sub.drain(), [], 'exactly one delivery');
    assert.equal(brokerInternals(broker).sessions.get('sub5')?.inflight.size, 0);
    await broker.close();
  });

  test('[MQTT-3.8.4-6] 3.1.1: delivered QoS is the minimum of published and granted QoS', async () => {
    const broker = new Broker();
    const { sub, pub } = await pair(broker, 4, 1);
    pub.send({ cmd: 'publish', topic: 't/a', payload, qos: 2, messageId: 1, retain: false, dup: false });
    assert.equal((await sub.next('publish')).qos, 1);
    await broker.close();
  });

  test('[MQTT-3.3.2-2] 3.1.1: a wildcard in a PUBLISH topic closes the connection', async () => {
    const broker = new Broker();
    const { pub } = await pair(broker, 4);
    pub.send({ cmd: 'publish', topic: 't/+', payload, qos: 0, retain: false, dup: false });
    await pub.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.3.2-2] v5: a wildcard in a PUBLISH topic gets DISCONNECT 0x90', async () => {
    const broker = new Broker();
    const { pub } = await pair(broker, 5);
    pub.send({ cmd: 'publish', topic: 't/#', payload, qos: 0, retain: false, dup: false });
    assert.equal((await pub.next('disconnect')).reasonCode, 0x90);
    await broker.close();
  });

  test('[MQTT-1.5.4-1] ill-formed UTF-8 in a topic name is a malformed packet (v5 DISCONNECT 0x81)', async () => {
    const broker = new Broker();
    const { pub } = await pair(broker, 5);
    // PUBLISH QoS 0, topic "a" + 0xC3 0x28 (invalid 2-byte sequence), no properties, payload "x".
    pub.raw([0x30, 0x07, 0x00, 0x03, 0x61, 0xc3, 0x28, 0x00, 0x78]);
    assert.equal((await pub.next('disconnect')).reasonCode, 0x81);
    await pub.waitClosed();
    await broker.close();
  });

  test('[MQTT-4.7.3-2] [MQTT-1.5.3-2] 3.1.1: U+0000 in a topic name closes the connection', async () => {
    const broker = new Broker();
    const { pub } = await pair(broker, 4);
    pub.raw([0x30, 0x06, 0x00, 0x03, 0x61, 0x00, 0x62, 0x78]);
    await pub.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.3.1-4] 3.1.1: QoS 3 is a malformed packet and closes the connection', async () => {
    const broker = new Broker();
    const { pub } = await pair(broker, 4);
    pub.raw([0x36, 0x06, 0x00, 0x01, 0x61, 0x00, 0x01, 0x78]);
    await pub.waitClosed();
    await broker.close();
  });

  test('MQTT 5.0 §3.3.2.1: a zero-length topic without a Topic Alias is a protocol error (0x82)', async () => {
    const broker = new Broker();
    const { pub } = await pair(broker, 5);
    pub.raw([0x30, 0x04, 0x00, 0x00, 0x00, 0x78]);
    assert.equal((await pub.next('disconnect')).reasonCode, 0x82);
    await broker.close();
  });

  test('[MQTT-3.3.2-12] v5 topic alias: set with a topic, then used with an empty topic', async () => {
    const broker = new Broker();
    const { sub, pub } = await pair(broker, 5);
    pub.send({ cmd: 'publish', topic: 't/alias', payload, qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    pub.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    assert.equal((await sub.next('publish')).topic, 't/alias');
    const second = await sub.next('publish');
    assert.equal(second.topic, 't/alias');
    assert.equal(second.properties?.topicAlias, undefined, 'aliases are per connection, not forwarded');
    await broker.close();
  });

  test('[MQTT-3.3.2-9] v5: a topic alias above Topic Alias Maximum gets DISCONNECT 0x94', async () => {
    const broker = new Broker({ limits: { topicAliasMaximum: 2 } });
    const { pub } = await pair(broker, 5);
    pub.send({ cmd: 'publish', topic: 't/x', payload, qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    assert.equal((await pub.next('disconnect')).reasonCode, 0x94);
    await broker.close();
  });

  test('[MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20] v5 properties are forwarded: user properties, content type, payload format, response topic, correlation data', async () => {
    const broker = new Broker();
    const { sub, pub } = await pair(broker, 5);
    const properties = {
      payloadFormatIndicator: true,
      contentType: 'application/json',
      responseTopic: 'reply/here',
      correlationData: Buffer.from([1, 2, 3]),
      userProperties: { a: '1', b: ['2', '3'] },
    };
    pub.send({ cmd: 'publish', topic: 't/p', payload, qos: 1, messageId: 1, retain: false, dup: false, properties });
    const p = await sub.next('publish');
    const { userProperties, ...rest } = p.properties ?? {};
    assert.deepEqual({ ...userProperties }, properties.userProperties);
    const { userProperties: _u, ...expected } = properties;
    assert.deepEqual(rest, expected);
    await broker.close();
  });

  test('[MQTT-3.3.2-6] v5 message expiry: the forwarded interval is reduced by the time spent queued', async () => {
    const clock = new FakeClock();
    const broker = new Broker({ clock });
    const sub = await connected(broker, 5, { clientId: 's', clean: false, properties: { sessionExpiryInterval: 100 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'e/#', qos: 1 }] });
    await sub.next('suback');
    sub.send({ cmd: 'disconnect', reasonCode: 0 });
    await sub.waitClosed();
    const pub = await connected(broker, 5, { clientId: 'p' });
    pub.send({ cmd: 'publish', topic: 'e/1', payload, qos: 1, messageId: 1, retain: false, dup: false, properties: { messageExpiryInterval: 10 } });
    pub.send({ cmd: 'publish', topic: 'e/2', payload, qos: 1, messageId: 2, retain: false, dup: false, properties: { messageExpiryInterval: 2 } });
    await pub.next('puback');
    await pub.next('puback');
    clock.advance(4_000);
    const back = await connected(broker, 5, { clientId: 's', clean: false, properties: { sessionExpiryInterval: 100 } });
    const p = await back.next('publish');
    assert.equal(p.topic, 'e/1');
    assert.equal(p.properties?.messageExpiryInterval, 6);
    // [MQTT-3.3.2-5] the expired e/2 is not delivered.
    assert.deepEqual(await back.drain(), []);
    await broker.close();
  });

  test('[MQTT-3.1.2-25] v5: a message larger than the client Maximum Packet Size is not sent to it', async () => {
    const broker = new Broker();
    const small = await connected(broker, 5, { clientId: 'small', properties: { maximumPacketSize: 64 } });
    small.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'big/#', qos: 1 }] });
    await small.next('suback');
    const pub = await connected(broker, 5, { clientId: 'p' });
    pub.send({ cmd: 'publish', topic: 'big/1', payload: Buffer.alloc(200), qos: 1, messageId: 1, retain: false, dup: false });
    pub.send({ cmd: 'publish', topic: 'big/2', payload: Buffer.alloc(10), qos: 1, messageId: 2, retain: false, dup: false });
    const p = await small.next('publish');
    assert.equal(p.topic, 'big/2');
    assert.equal(broker.stats().messagesDropped, 1);
    assert.equal(brokerInternals(broker).sessions.get('small')?.inflight.size, 1, 'the dropped message is not left in flight');
    await broker.close();
  });

  test('[MQTT-3.3.4-7] v5: more unacknowledged QoS 2 PUBLISH than Receive Maximum gets DISCONNECT 0x93', async () => {
    const broker = new Broker({ limits: { receiveMaximum: 2 } });
    const pub = await connected(broker, 5, { clientId: 'p' });
    for (let id = 1; id <= 3; id++) pub.send({ cmd: 'publish', topic: 'x', payload, qos: 2, messageId: id, retain: false, dup: false });
    await pub.next('pubrec');
    await pub.next('pubrec');
    assert.equal((await pub.next('disconnect')).reasonCode, 0x93);
    await broker.close();
  });

  test('3.1.1 has no Receive Maximum: a client with more unreleased QoS 2 PUBLISH than ours is not disconnected (was closed)', async () => {
    const broker = new Broker({ limits: { receiveMaximum: 2 } });
    const pub = await connected(broker, 4, { clientId: 'p' });
    for (let id = 1; id <= 3; id++) pub.send({ cmd: 'publish', topic: 'x', payload, qos: 2, messageId: id, retain: false, dup: false });
    for (let id = 1; id <= 3; id++) assert.equal((await pub.next('pubrec')).messageId, id);
    assert.equal(pub.closed, false);
    await broker.close();
  });

  test('[MQTT-2.2.1-3] v5: a QoS 1 PUBLISH with packet id 0 is a protocol error', async () => {
    const broker = new Broker();
    const pub = await connected(broker, 5, { clientId: 'p' });
    pub.raw([0x32, 0x06, 0x00, 0x01, 0x61, 0x00, 0x00, 0x00]);
    assert.equal((await pub.next('disconnect')).reasonCode, 0x82);
    await broker.close();
  });

  test('broker.publish: a server-originated message reaches subscribers; invalid topics throw', async () => {
    const broker = new Broker();
    const sub = await connected(broker, 4, { clientId: 's' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rpc/+', qos: 1 }] });
    await sub.next('suback');
    await broker.publish({ topic: 'rpc/1', payload: '{"method":"x"}', qos: 1 });
    const p = await sub.next('publish');
    assert.equal(p.payload.toString(), '{"method":"x"}');
    await assert.rejects(broker.publish({ topic: 'a/#', payload: '' }), { code: 'THINGSTEAD_ERR_BROKER_TOPIC_INVALID' });
    await broker.close();
  });
});

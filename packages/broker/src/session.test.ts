import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from './broker';
import { MemoryPersistence } from './persistence/memory/memory-persistence';
import { FakeClock } from './testing/fake-clock';
import { connected, TestClient } from './testing/test-client';

const payload = Buffer.from('m');

async function persistentSubscriber(broker: Broker, version: 4 | 5, qos: 0 | 1 | 2 = 1) {
  const options = version === 5 ? { clientId: 's', clean: false, properties: { sessionExpiryInterval: 3600 } } : { clientId: 's', clean: false };
  const c = await connected(broker, version, options);
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos }] });
  await c.next('suback');
  return { c, options };
}

describe('sessions', () => {
  test('[MQTT-3.2.2-2] [MQTT-3.1.2-5] 3.1.1 persistent session: Session Present 1, QoS 1/2 queued while offline, QoS 0 not', async () => {
    const broker = new Broker();
    const { c, options } = await persistentSubscriber(broker, 4, 2);
    c.send({ cmd: 'disconnect' });
    await c.waitClosed();
    await broker.publish({ topic: 'q/0', payload, qos: 0 });
    await broker.publish({ topic: 'q/1', payload, qos: 1 });
    await broker.publish({ topic: 'q/2', payload, qos: 2 });
    const back = new TestClient(broker, 4);
    const ack = await back.connect(options);
    assert.equal(ack.sessionPresent, true);
    const got = (await back.drain()).map((p) => (p.cmd === 'publish' ? `${p.topic}@${p.qos}` : p.cmd));
    assert.deepEqual(got, ['q/1@1', 'q/2@2']);
    await broker.close();
  });

  test('[MQTT-3.1.2-4] [MQTT-3.2.2-2] v5 clean start discards the session: Session Present 0, no subscriptions', async () => {
    const broker = new Broker();
    const { c } = await persistentSubscriber(broker, 5);
    c.send({ cmd: 'disconnect', reasonCode: 0 });
    await c.waitClosed();
    const back = new TestClient(broker, 5);
    const ack = await back.connect({ clientId: 's', clean: true });
    assert.equal(ack.sessionPresent, false);
    assert.equal(broker.stats().subscriptions, 0);
    await broker.close();
  });

  test('[MQTT-4.4.0-1] [MQTT-3.3.1-1] v5: unacknowledged QoS 1 is resent with DUP on reconnect, PUBREL resent for QoS 2', async () => {
    const broker = new Broker();
    const { c, options } = await persistentSubscriber(broker, 5, 2);
    await broker.publish({ topic: 'q/a', payload, qos: 1 });
    await broker.publish({ topic: 'q/b', payload, qos: 2 });
    const first = await c.next('publish');
    const second = await c.next('publish');
    assert.equal(first.dup, false);
    c.send({ cmd: 'pubrec', messageId: second.messageId ?? 0 });
    await c.next('pubrel');
    c.stream.destroy();
    await c.waitClosed();
    const back = new TestClient(broker, 5);
    assert.equal((await back.connect(options)).sessionPresent, true);
    const again = await back.next('publish');
    assert.equal(again.topic, 'q/a');
    assert.equal(again.dup, true);
    assert.equal(again.messageId, first.messageId);
    assert.equal((await back.next('pubrel')).messageId, second.messageId);
    await broker.close();
  });

  test('[MQTT-3.1.2-23] v5 session expiry: the session is kept for the interval, then discarded', async () => {
    const clock = new FakeClock();
    const broker = new Broker({ clock });
    const options = { clientId: 'e', clean: false, properties: { sessionExpiryInterval: 10 } };
    const c = await connected(broker, 5, options);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 1 }] });
    await c.next('suback');
    c.send({ cmd: 'disconnect', reasonCode: 0 });
    await c.waitClosed();
    clock.advance(9_000);
    const back = new TestClient(broker, 5);
    assert.equal((await back.connect(options)).sessionPresent, true);
    back.send({ cmd: 'disconnect', reasonCode: 0 });
    await back.waitClosed();
    clock.advance(10_001);
    assert.equal(broker.stats().sessions, 0);
    const late = new TestClient(broker, 5);
    assert.equal((await late.connect(options)).sessionPresent, false);
    await broker.close();
  });

  test('MQTT 5.0 §3.1.2.11.2: session expiry 0 (absent): the session ends with the connection', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 'z', clean: false });
    c.send({ cmd: 'disconnect', reasonCode: 0 });
    await c.waitClosed();
    assert.equal(broker.stats().sessions, 0);
    await broker.close();
  });

  test('MQTT 5.0 §3.14.2.2.2: DISCONNECT raising Session Expiry from 0 is a protocol error', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 'z' });
    c.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    assert.equal((await c.next('disconnect')).reasonCode, 0x82);
    await broker.close();
  });

  test('v5: DISCONNECT can shorten the session expiry (to 0 ends the session)', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 'z', clean: false, properties: { sessionExpiryInterval: 60 } });
    c.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await c.waitClosed();
    assert.equal(broker.stats().sessions, 0);
    await broker.close();
  });

  test('offline queue limit: the oldest messages are dropped and counted', async () => {
    const broker = new Broker({ limits: { maxQueuedMessages: 3 } });
    const { c, options } = await persistentSubscriber(broker, 4);
    c.send({ cmd: 'disconnect' });
    await c.waitClosed();
    for (let i = 0; i < 5; i++) await broker.publish({ topic: `q/${i}`, payload, qos: 1 });
    assert.equal(broker.stats().messagesDropped, 2);
    const back = new TestClient(broker, 4);
    await back.connect(options);
    const got = (await back.drain()).map((p) => (p.cmd === 'publish' ? p.topic : p.cmd));
    assert.deepEqual(got, ['q/2', 'q/3', 'q/4']);
    await broker.close();
  });

  test('restart: subscriptions, queued messages and retained messages survive through the persistence port', async () => {
    const persistence = new MemoryPersistence();
    const first = new Broker({ persistence });
    const { c, options } = await persistentSubscriber(first, 5);
    c.send({ cmd: 'disconnect', reasonCode: 0 });
    await c.waitClosed();
    await first.publish({ topic: 'q/offline', payload, qos: 1 });
    await first.publish({ topic: 'keep', payload: 'retained', retain: true, properties: { contentType: 'text/plain' } });
    await first.close();

    const second = new Broker({ persistence });
    await second.ready;
    assert.equal(second.stats().sessions, 1);
    assert.equal(second.stats().subscriptions, 1);
    const back = new TestClient(second, 5);
    assert.equal((await back.connect(options)).sessionPresent, true);
    assert.equal((await back.next('publish')).topic, 'q/offline');
    await second.publish({ topic: 'q/live', payload, qos: 1 });
    assert.equal((await back.next('publish')).topic, 'q/live');
    const reader = await connected(second, 5, { clientId: 'r' });
    reader.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'keep', qos: 0 }] });
    await reader.next('suback');
    const retained = await reader.next('publish');
    assert.equal(retained.payload.toString(), 'retained');
    assert.equal(retained.properties?.contentType, 'text/plain');
    await second.close();
  });

  test('restart: in-flight messages of a session connected at close are redelivered after restart', async () => {
    const persistence = new MemoryPersistence();
    const first = new Broker({ persistence });
    const { c, options } = await persistentSubscriber(first, 4);
    await first.publish({ topic: 'q/inflight', payload, qos: 1 });
    await c.next('publish');
    await first.close();
    const second = new Broker({ persistence });
    const back = new TestClient(second, 4);
    assert.equal((await back.connect(options)).sessionPresent, true);
    const p = await back.next('publish');
    assert.equal(p.topic, 'q/inflight');
    assert.equal(p.dup, true);
    await second.close();
  });
});

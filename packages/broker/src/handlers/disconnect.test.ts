import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from '../broker';
import { FakeClock } from '../testing/fake-clock';
import { connected, type TestClient } from '../testing/test-client';

const will = { topic: 'will/t', payload: Buffer.from('gone'), qos: 1 as const, retain: false };

async function watcher(broker: Broker): Promise<TestClient> {
  const w = await connected(broker, 5, { clientId: 'watcher' });
  w.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 1 }] });
  await w.next('suback');
  return w;
}

describe('DISCONNECT and will messages', () => {
  test('[MQTT-3.1.2-8] 3.1.1: the will is published when the connection is lost', async () => {
    const broker = new Broker();
    const w = await watcher(broker);
    const c = await connected(broker, 4, { clientId: 'dev', will });
    c.stream.destroy();
    const p = await w.next('publish');
    assert.equal(p.topic, 'will/t');
    assert.equal(p.payload.toString(), 'gone');
    await broker.close();
  });

  test('[MQTT-3.1.2-10] [MQTT-3.14.4-3] 3.1.1: DISCONNECT discards the will', async () => {
    const broker = new Broker();
    const w = await watcher(broker);
    const c = await connected(broker, 4, { clientId: 'dev', will });
    c.send({ cmd: 'disconnect' });
    await c.waitClosed();
    assert.deepEqual(await w.drain(), []);
    await broker.close();
  });

  test('[MQTT-3.14.4-3] v5: DISCONNECT 0x00 discards the will, 0x04 publishes it', async () => {
    const broker = new Broker();
    const w = await watcher(broker);
    const quiet = await connected(broker, 5, { clientId: 'quiet', will });
    quiet.send({ cmd: 'disconnect', reasonCode: 0x00 });
    await quiet.waitClosed();
    assert.deepEqual(await w.drain(), []);
    const loud = await connected(broker, 5, { clientId: 'loud', will });
    loud.send({ cmd: 'disconnect', reasonCode: 0x04 });
    assert.equal((await w.next('publish')).topic, 'will/t');
    await broker.close();
  });

  test('[MQTT-3.1.3-9] v5 Will Delay Interval: sent after the delay, not sent if the session resumes first', async () => {
    const clock = new FakeClock();
    const broker = new Broker({ clock });
    const w = await watcher(broker);
    const options = { clientId: 'dev', clean: false, properties: { sessionExpiryInterval: 600 }, will: { ...will, properties: { willDelayInterval: 30 } } };
    const c = await connected(broker, 5, options);
    c.stream.destroy();
    await c.waitClosed();
    clock.advance(29_000);
    assert.deepEqual(await w.drain(), []);
    clock.advance(1_000);
    assert.equal((await w.next('publish')).topic, 'will/t');

    const again = await connected(broker, 5, options);
    again.stream.destroy();
    await again.waitClosed();
    clock.advance(10_000);
    await connected(broker, 5, options);
    clock.advance(60_000);
    assert.deepEqual(await w.drain(), [], 'the resumed session cancelled the delayed will');
    await broker.close();
  });

  test('[MQTT-3.1.2-8] v5: the will is sent when the session expires before the will delay', async () => {
    const clock = new FakeClock();
    const broker = new Broker({ clock });
    const w = await watcher(broker);
    const c = await connected(broker, 5, {
      clientId: 'dev',
      clean: false,
      properties: { sessionExpiryInterval: 5 },
      will: { ...will, properties: { willDelayInterval: 60 } },
    });
    c.stream.destroy();
    await c.waitClosed();
    clock.advance(5_000);
    assert.equal((await w.next('publish')).topic, 'will/t');
    await broker.close();
  });

  test('[MQTT-3.1.2-8] v5: the will is published after a keep-alive timeout, with its properties', async () => {
    const clock = new FakeClock();
    const broker = new Broker({ clock });
    const w = await watcher(broker);
    await connected(broker, 5, { clientId: 'dev', keepalive: 1, will: { ...will, properties: { contentType: 'text/plain', userProperties: { k: 'v' } } } });
    w.send({ cmd: 'pingreq' });
    await w.next('pingresp');
    clock.advance(1_600);
    const p = await w.next('publish');
    assert.equal(p.properties?.contentType, 'text/plain');
    assert.deepEqual({ ...p.properties.userProperties }, { k: 'v' });
    await broker.close();
  });

  test('a will on a topic refused by authorizePublish refuses the CONNECT (v5 0x87, 3.1.1 code 5)', async () => {
    const broker = new Broker({ hooks: { authorizePublish: (_c, p) => !p.topic.startsWith('will/') } });
    const { TestClient } = await import('../testing/test-client');
    const v5 = new TestClient(broker, 5);
    assert.equal((await v5.connect({ clientId: 'a', will })).reasonCode, 0x87);
    const v4 = new TestClient(broker, 4);
    assert.equal((await v4.connect({ clientId: 'b', will })).returnCode, 5);
    await broker.close();
  });
});

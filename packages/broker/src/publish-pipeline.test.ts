import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from './broker';
import type { PublishRequest } from './options';
import { connected } from './testing/test-client';

function deferred() {
  let resolve!: (v: undefined | { reasonCode: number; reasonString?: string }) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<undefined | { reasonCode: number; reasonString?: string }>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('publish hooks', () => {
  test('onPublish: PUBACK is sent only after the hook resolves, and the message is routed then', async () => {
    const pending: ReturnType<typeof deferred>[] = [];
    const broker = new Broker({
      hooks: {
        onPublish: () => {
          const d = deferred();
          pending.push(d);
          return d.promise;
        },
      },
    });
    const sub = await connected(broker, 4, { clientId: 's' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
    await sub.next('suback');
    const pub = await connected(broker, 5, { clientId: 'p' });
    pub.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    assert.deepEqual(await pub.drain(), []);
    assert.deepEqual(await sub.drain(), []);
    pending[0]?.resolve(undefined);
    assert.equal((await pub.next('puback')).reasonCode ?? 0, 0);
    assert.equal((await sub.next('publish')).topic, 't');
    await broker.close();
  });

  test('[MQTT-4.6.0-6] 3.1.1: routing keeps arrival order, and so do PUBACKs (MQTT §4.6), when hooks resolve out of order', async () => {
    const pending: ReturnType<typeof deferred>[] = [];
    const broker = new Broker({
      hooks: {
        onPublish: () => {
          const d = deferred();
          pending.push(d);
          return d.promise;
        },
      },
    });
    const sub = await connected(broker, 4, { clientId: 's' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't/+', qos: 1 }] });
    await sub.next('suback');
    const pub = await connected(broker, 4, { clientId: 'p' });
    for (let id = 1; id <= 3; id++) pub.send({ cmd: 'publish', topic: `t/${id}`, payload: Buffer.from('x'), qos: 1, messageId: id, retain: false, dup: false });
    await pub.drain();
    pending[2]?.resolve(undefined);
    pending[1]?.resolve(undefined);
    assert.deepEqual(await pub.drain(), [], 'nothing before the first resolves');
    pending[0]?.resolve(undefined);
    const acks = [await pub.next('puback'), await pub.next('puback'), await pub.next('puback')].map((a) => a.messageId);
    assert.deepEqual(acks, [1, 2, 3]);
    const routed = [await sub.next('publish'), await sub.next('publish'), await sub.next('publish')].map((p) => p.topic);
    assert.deepEqual(routed, ['t/1', 't/2', 't/3']);
    await broker.close();
  });

  test('onPublish refusal: v5 PUBACK/PUBREC carries the code (0x99) and reason string; nothing is routed', async () => {
    const broker = new Broker({
      hooks: {
        onPublish: (_c, p: PublishRequest) => Promise.resolve(p.payload.toString() === 'bad' ? { reasonCode: 0x99, reasonString: 'not JSON' } : undefined),
      },
    });
    const sub = await connected(broker, 5, { clientId: 's' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
    await sub.next('suback');
    const pub = await connected(broker, 5, { clientId: 'p' });
    pub.send({ cmd: 'publish', topic: 't', payload: Buffer.from('bad'), qos: 1, messageId: 1, retain: false, dup: false });
    const ack = await pub.next('puback');
    assert.equal(ack.reasonCode, 0x99);
    assert.equal(ack.properties?.reasonString, 'not JSON');
    pub.send({ cmd: 'publish', topic: 't', payload: Buffer.from('bad'), qos: 2, messageId: 2, retain: false, dup: false });
    assert.equal((await pub.next('pubrec')).reasonCode, 0x99);
    assert.deepEqual(await sub.drain(), []);
    assert.equal(broker.stats().messagesRefused, 2);
    await broker.close();
  });

  test('[MQTT-3.1.2-29] v5: no reason string when the client asked for no problem information', async () => {
    const broker = new Broker({ hooks: { onPublish: () => Promise.resolve({ reasonCode: 0x99, reasonString: 'not JSON' }) } });
    const pub = await connected(broker, 5, { clientId: 'p', properties: { requestProblemInformation: false } });
    pub.send({ cmd: 'publish', topic: 't', payload: Buffer.from('bad'), qos: 1, messageId: 1, retain: false, dup: false });
    const ack = await pub.next('puback');
    assert.equal(ack.reasonCode, 0x99);
    assert.equal(ack.properties?.reasonString, undefined);
    await broker.close();
  });

  test('onPublish refusal in 3.1.1: acknowledged and dropped (3.1.1 has no refusal code)', async () => {
    const broker = new Broker({ hooks: { onPublish: () => Promise.resolve({ reasonCode: 0x99 }) } });
    const sub = await connected(broker, 4, { clientId: 's' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
    await sub.next('suback');
    const pub = await connected(broker, 4, { clientId: 'p' });
    pub.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    await pub.next('puback');
    assert.deepEqual(await sub.drain(), []);
    await broker.close();
  });

  test('onPublish rejection: v5 PUBACK 0x80; 3.1.1 connection closed without PUBACK (nothing acknowledged is lost)', async () => {
    const broker = new Broker({ hooks: { onPublish: () => Promise.reject(new Error('db down')) } });
    const errors: unknown[] = [];
    broker.on('hookError', (e) => errors.push(e));
    const v5 = await connected(broker, 5, { clientId: 'a' });
    v5.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    assert.equal((await v5.next('puback')).reasonCode, 0x80);
    const v4 = await connected(broker, 4, { clientId: 'b' });
    v4.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    await v4.waitClosed();
    assert.deepEqual(v4.received, []);
    assert.equal(errors.length, 2);
    await broker.close();
  });

  test('authorizePublish refusal: v5 PUBACK 0x87 / PUBREC 0x87, 3.1.1 acknowledged and dropped', async () => {
    const broker = new Broker({ hooks: { authorizePublish: (_c, p) => p.topic !== 'forbidden' } });
    const sub = await connected(broker, 5, { clientId: 's' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 2 }] });
    await sub.next('suback');
    const v5 = await connected(broker, 5, { clientId: 'a' });
    v5.send({ cmd: 'publish', topic: 'forbidden', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    assert.equal((await v5.next('puback')).reasonCode, 0x87);
    v5.send({ cmd: 'publish', topic: 'forbidden', payload: Buffer.from('x'), qos: 2, messageId: 2, retain: false, dup: false });
    assert.equal((await v5.next('pubrec')).reasonCode, 0x87);
    const v4 = await connected(broker, 4, { clientId: 'b' });
    v4.send({ cmd: 'publish', topic: 'forbidden', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    await v4.next('puback');
    v4.send({ cmd: 'publish', topic: 'allowed', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    assert.equal((await sub.next('publish')).topic, 'allowed');
    assert.deepEqual(await sub.drain(), []);
    await broker.close();
  });

  test('maxPendingMessagesPerClient: reading stops while too many hook calls are pending, and resumes', async () => {
    const pending: ReturnType<typeof deferred>[] = [];
    const broker = new Broker({
      limits: { maxPendingMessagesPerClient: 2 },
      hooks: {
        onPublish: () => {
          const d = deferred();
          pending.push(d);
          return d.promise;
        },
      },
    });
    const pub = await connected(broker, 4, { clientId: 'p' });
    for (let i = 0; i < 5; i++) pub.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    await pub.drain();
    assert.ok(pending.length < 5, `only part was read (${pending.length})`);
    while (pending.length > 0) {
      pending.shift()?.resolve(undefined);
      await pub.drain(5);
    }
    assert.equal(broker.stats().messagesIn, 5);
    await broker.close();
  });
});

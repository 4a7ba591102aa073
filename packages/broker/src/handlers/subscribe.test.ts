import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ISubscription } from 'mqtt-packet';
import { Broker } from '../broker';
import { connected, type TestClient } from '../testing/test-client';

const payload = Buffer.from('v');

async function subscribe(c: TestClient, subscriptions: ISubscription[], properties?: { subscriptionIdentifier: number }) {
  c.send({ cmd: 'subscribe', messageId: 5, subscriptions, ...(properties ? { properties } : {}) });
  return c.next('suback');
}

function publish(c: TestClient, topic: string, options: { qos?: 0 | 1 | 2; retain?: boolean; body?: Buffer } = {}) {
  const qos = options.qos ?? 0;
  c.send({ cmd: 'publish', topic, payload: options.body ?? payload, qos, retain: options.retain ?? false, dup: false, ...(qos > 0 ? { messageId: 1 } : {}) });
}

describe('SUBSCRIBE / UNSUBSCRIBE', () => {
  test('[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-5] [MQTT-3.9.3-1] 3.1.1: SUBACK carries the packet id and one granted QoS per filter in order', async () => {
    const broker = new Broker();
    const c = await connected(broker, 4, { clientId: 's' });
    const ack = await subscribe(c, [
      { topic: 'a', qos: 2 },
      { topic: 'b', qos: 0 },
      { topic: 'c', qos: 1 },
    ]);
    assert.equal(ack.messageId, 5);
    assert.deepEqual(ack.granted, [2, 0, 1]);
    await broker.close();
  });

  test('MQTT 3.1.1 §4.7.1.2, §4.7.1.3: "+" matches one level, "#" any number including the parent', async () => {
    const broker = new Broker();
    const c = await connected(broker, 4, { clientId: 's' });
    await subscribe(c, [
      { topic: 'a/+/c', qos: 0 },
      { topic: 'x/#', qos: 0 },
    ]);
    for (const t of ['a/b/c', 'a/b/d', 'a/c', 'x', 'x/y/z']) publish(c, t);
    const topics = (await c.drain()).map((p) => (p.cmd === 'publish' ? p.topic : p.cmd));
    assert.deepEqual(topics, ['a/b/c', 'x', 'x/y/z']);
    await broker.close();
  });

  test('[MQTT-4.7.2-1] "$" topics are not matched by a wildcard in the first level', async () => {
    const broker = new Broker();
    const c = await connected(broker, 4, { clientId: 's' });
    await subscribe(c, [
      { topic: '#', qos: 0 },
      { topic: '+/info', qos: 0 },
    ]);
    publish(c, '$SYS/info');
    publish(c, 'a/info');
    const topics = (await c.drain()).map((p) => (p.cmd === 'publish' ? p.topic : p.cmd));
    assert.deepEqual(topics, ['a/info']);
    await subscribe(c, [{ topic: '$SYS/#', qos: 0 }]);
    publish(c, '$SYS/info');
    assert.equal((await c.next('publish')).topic, '$SYS/info');
    await broker.close();
  });

  test('[MQTT-4.7.1-1] [MQTT-4.7.1-2] v5: an invalid filter gets SUBACK 0x8F, the others are granted', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 's' });
    const ack = await subscribe(c, [
      { topic: 'a/#/b', qos: 1 },
      { topic: 'a/b+', qos: 1 },
      { topic: 'ok', qos: 1 },
    ]);
    assert.deepEqual(ack.granted, [0x8f, 0x8f, 1]);
    await broker.close();
  });

  test('[MQTT-4.8.0-1] 3.1.1: an invalid filter is a protocol violation and closes the connection', async () => {
    const broker = new Broker();
    const c = await connected(broker, 4, { clientId: 's' });
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#/b', qos: 0 }] });
    await c.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.8.1-1] 3.1.1: SUBSCRIBE reserved flags wrong closes the connection [MQTT-2.2.2-2]', async () => {
    const broker = new Broker();
    const c = await connected(broker, 4, { clientId: 's' });
    c.raw([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]);
    await c.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.9.3-2] authorizeSubscribe refusal: 3.1.1 gets 0x80, v5 the hook code (0x87)', async () => {
    const broker = new Broker({ hooks: { authorizeSubscribe: (_c, s) => !s.topic.startsWith('secret') } });
    const v4 = await connected(broker, 4, { clientId: 'a' });
    assert.deepEqual(
      (
        await subscribe(v4, [
          { topic: 'secret/#', qos: 1 },
          { topic: 'open', qos: 1 },
        ])
      ).granted,
      [0x80, 1],
    );
    const v5 = await connected(broker, 5, { clientId: 'b' });
    assert.deepEqual((await subscribe(v5, [{ topic: 'secret/x', qos: 1 }])).granted, [0x87]);
    publish(v5, 'secret/x');
    assert.deepEqual(await v4.drain(), []);
    await broker.close();
  });

  test('[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] [MQTT-3.3.1-10] 3.1.1 retained: set, replace, delete by empty payload; delivered with RETAIN=1 on subscribe', async () => {
    const broker = new Broker();
    const pub = await connected(broker, 4, { clientId: 'p' });
    publish(pub, 'r/1', { retain: true, body: Buffer.from('one') });
    publish(pub, 'r/1', { retain: true, body: Buffer.from('two') });
    publish(pub, 'r/2', { retain: true, body: Buffer.from('x') });
    publish(pub, 'r/2', { retain: true, body: Buffer.alloc(0) });
    await pub.drain();
    assert.equal(broker.stats().retained, 1);
    const sub = await connected(broker, 4, { clientId: 's' });
    await subscribe(sub, [{ topic: 'r/#', qos: 1 }]);
    const p = await sub.next('publish');
    assert.equal(p.payload.toString(), 'two');
    assert.equal(p.retain, true);
    assert.deepEqual(await sub.drain(), []);
    await broker.close();
  });

  test('[MQTT-3.3.1-9] 3.1.1: RETAIN is 0 when forwarding a retained publish to an existing subscription', async () => {
    const broker = new Broker();
    const sub = await connected(broker, 4, { clientId: 's' });
    await subscribe(sub, [{ topic: 'r', qos: 0 }]);
    publish(sub, 'r', { retain: true });
    assert.equal((await sub.next('publish')).retain, false);
    await broker.close();
  });

  test('[MQTT-3.3.1-12] [MQTT-3.3.1-13] v5 Retain As Published keeps RETAIN when forwarding', async () => {
    const broker = new Broker();
    const sub = await connected(broker, 5, { clientId: 's' });
    await subscribe(sub, [{ topic: 'rap', qos: 0, rap: true }]);
    await subscribe(sub, [{ topic: 'norap', qos: 0, rap: false }]);
    publish(sub, 'rap', { retain: true });
    publish(sub, 'norap', { retain: true });
    const [a, b] = await sub.drain();
    assert.ok(a?.cmd === 'publish' && a.retain);
    assert.ok(b?.cmd === 'publish' && !b.retain);
    await broker.close();
  });

  test('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] v5 Retain Handling 0, 1 and 2', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 's' });
    publish(c, 'h', { retain: true });
    await c.drain();
    await subscribe(c, [{ topic: 'h', qos: 0, rh: 1 }]);
    assert.equal((await c.drain()).length, 1, 'rh 1, new subscription: sent');
    await subscribe(c, [{ topic: 'h', qos: 0, rh: 1 }]);
    assert.equal((await c.drain()).length, 0, 'rh 1, existing subscription: not sent');
    await subscribe(c, [{ topic: 'h', qos: 0, rh: 0 }]);
    assert.equal((await c.drain()).length, 1, 'rh 0: always sent');
    await subscribe(c, [{ topic: 'h', qos: 0, rh: 2 }]);
    assert.equal((await c.drain()).length, 0, 'rh 2: never sent');
    await broker.close();
  });

  test('[MQTT-3.8.3-3] v5 No Local: own messages are not received back', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 'me' });
    const other = await connected(broker, 5, { clientId: 'other' });
    await subscribe(c, [{ topic: 'nl', qos: 0, nl: true }]);
    publish(c, 'nl');
    assert.deepEqual(await c.drain(), []);
    publish(other, 'nl');
    assert.equal((await c.next('publish')).topic, 'nl');
    await broker.close();
  });

  test('[MQTT-3.8.3-4] v5: No Local on a shared subscription is a protocol error', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 'me' });
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/a', qos: 0, nl: true }] });
    assert.equal((await c.next('disconnect')).reasonCode, 0x82);
    await broker.close();
  });

  test('[MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.3.4-4] v5 overlapping subscriptions: one copy, max QoS, all subscription identifiers', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 's' });
    await subscribe(c, [{ topic: 'o/#', qos: 0 }], { subscriptionIdentifier: 11 });
    await subscribe(c, [{ topic: 'o/+', qos: 2 }], { subscriptionIdentifier: 22 });
    const pub = await connected(broker, 5, { clientId: 'p' });
    publish(pub, 'o/x', { qos: 2 });
    const p = await c.next('publish');
    assert.equal(p.qos, 2);
    const ids = p.properties?.subscriptionIdentifier;
    assert.deepEqual(Array.isArray(ids) ? [...ids].sort() : ids, [11, 22]);
    assert.deepEqual(
      (await c.drain()).filter((x) => x.cmd === 'publish'),
      [],
    );
    await broker.close();
  });

  test('[MQTT-3.3.5-1] 3.1.1 overlapping subscriptions: delivered once at the maximum QoS', async () => {
    const broker = new Broker();
    const c = await connected(broker, 4, { clientId: 's' });
    await subscribe(c, [
      { topic: 'o/#', qos: 0 },
      { topic: 'o/+', qos: 1 },
    ]);
    publish(c, 'o/x', { qos: 1 });
    const all = (await c.drain()).filter((x) => x.cmd === 'publish');
    assert.equal(all.length, 1);
    assert.equal(all[0]?.cmd === 'publish' ? all[0].qos : -1, 1);
    await broker.close();
  });

  test('MQTT 5.0 §4.8.2, §3.3.1.3: shared subscriptions: round-robin across the group, no retained messages on subscribe', async () => {
    const broker = new Broker();
    const pub = await connected(broker, 5, { clientId: 'p' });
    publish(pub, 'jobs/0', { retain: true });
    await pub.drain();
    const a = await connected(broker, 5, { clientId: 'a' });
    const b = await connected(broker, 4, { clientId: 'b' });
    assert.deepEqual((await subscribe(a, [{ topic: '$share/g/jobs/+', qos: 1 }])).granted, [1]);
    assert.deepEqual((await subscribe(b, [{ topic: '$share/g/jobs/+', qos: 1 }])).granted, [1]);
    assert.deepEqual(await a.drain(), [], 'no retained message for a shared subscription');
    for (let i = 1; i <= 4; i++) publish(pub, `jobs/${i}`);
    const ta = (await a.drain()).map((p) => (p.cmd === 'publish' ? p.topic : ''));
    const tb = (await b.drain()).map((p) => (p.cmd === 'publish' ? p.topic : ''));
    assert.equal(ta.length, 2);
    assert.equal(tb.length, 2);
    assert.deepEqual([...ta, ...tb].sort(), ['jobs/1', 'jobs/2', 'jobs/3', 'jobs/4']);
    await broker.close();
  });

  test('[MQTT-3.8.4-3] 3.1.1: a SUBSCRIBE with the same filter replaces the subscription (new QoS)', async () => {
    const broker = new Broker();
    const c = await connected(broker, 4, { clientId: 's' });
    await subscribe(c, [{ topic: 'q', qos: 0 }]);
    await subscribe(c, [{ topic: 'q', qos: 1 }]);
    assert.equal(broker.stats().subscriptions, 1);
    publish(c, 'q', { qos: 1 });
    const all = (await c.drain()).filter((x) => x.cmd === 'publish');
    assert.equal(all.length, 1);
    await broker.close();
  });

  test('[MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-4] [MQTT-3.10.4-5] UNSUBSCRIBE: UNSUBACK with the id; v5 codes 0x00 / 0x11; delivery stops', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 's' });
    await subscribe(c, [{ topic: 'u', qos: 0 }]);
    c.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['u', 'never'] });
    const ack = await c.next('unsuback');
    assert.equal(ack.messageId, 3);
    assert.deepEqual(ack.granted, [0x00, 0x11]);
    publish(c, 'u');
    assert.deepEqual(await c.drain(), []);
    assert.equal(broker.stats().subscriptions, 0);
    await broker.close();
  });

  test('MQTT 5.0 §3.8.2.1.2: SUBSCRIBE with Subscription Identifier 0 is a protocol error', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 's' });
    // SUBSCRIBE id 1, properties: 0x0B subscription identifier = 0, filter "a" QoS 0.
    c.raw([0x82, 0x09, 0x00, 0x01, 0x02, 0x0b, 0x00, 0x00, 0x01, 0x61, 0x00]);
    assert.equal((await c.next('disconnect')).reasonCode, 0x82);
    await broker.close();
  });

  test('maxSubscriptionsPerClient: extra subscriptions get v5 0x97 quota exceeded', async () => {
    const broker = new Broker({ limits: { maxSubscriptionsPerClient: 1 } });
    const c = await connected(broker, 5, { clientId: 's' });
    assert.deepEqual(
      (
        await subscribe(c, [
          { topic: 'a', qos: 0 },
          { topic: 'b', qos: 0 },
        ])
      ).granted,
      [0, 0x97],
    );
    await broker.close();
  });

  test('found by the fuzzer (issue 6): a SUBSCRIBE still in authorizeSubscribe when the session is taken over adds nothing to the new session', async () => {
    let release: () => void = () => undefined;
    const pending = new Promise<void>((resolve) => (release = resolve));
    const broker = new Broker({
      hooks: {
        authorizeSubscribe: async () => {
          await pending;
          return true;
        },
      },
    });
    const old = await connected(broker, 4, { clientId: 'same' });
    old.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 0 }] });
    await new Promise((r) => setTimeout(r, 10));
    const next = await connected(broker, 4, { clientId: 'same' });
    await old.waitClosed();
    release();
    await new Promise((r) => setTimeout(r, 10));
    await broker.publish({ topic: 'a/1', payload });
    assert.deepEqual(await next.drain(), [], 'the new session never subscribed');
    assert.equal(broker.stats().subscriptions, 0);
    next.end();
    await next.waitClosed();
    assert.equal(broker.stats().subscriptions, 0, 'nothing left in the trie without a session');
    await broker.close();
  });
});

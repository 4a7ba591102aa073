import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from './broker';
import type { ForwardRequest, Subscriber } from './options';
import { connected, TestClient } from './testing/test-client';

const payload = Buffer.from('x');

async function subscriber(broker: Broker, version: 4 | 5, clientId: string, filter = 't/#', extra: Parameters<typeof connected>[2] = {}) {
  const c = await connected(broker, version, { clientId, ...extra });
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] });
  await c.next('suback');
  return c;
}

describe('authorizeForward: one call per copy about to be given to a subscriber session (ADR 0005)', () => {
  test('false / null drop that copy only; true / undefined keep it; the publisher is acknowledged either way', async () => {
    const calls: string[] = [];
    const verdicts: Record<string, boolean | null | undefined> = { keep: true, drop: false, nil: null, none: undefined };
    const broker = new Broker({
      hooks: {
        authorizeForward: (s: Subscriber, m: ForwardRequest) => {
          calls.push(`${s.clientId}:${m.topic}:${s.client === undefined ? 'offline' : 'online'}`);
          return verdicts[s.clientId];
        },
      },
    });
    const subs = await Promise.all(Object.keys(verdicts).map((id) => subscriber(broker, 5, id)));
    const pub = await connected(broker, 5, { clientId: 'pub' });
    pub.send({ cmd: 'publish', topic: 't/1', payload, qos: 1, messageId: 4, retain: false, dup: false });
    assert.equal((await pub.next('puback')).reasonCode, 0);
    const got = await Promise.all(subs.map(async (s) => (await s.drain()).filter((p) => p.cmd === 'publish').length));
    assert.deepEqual(got, [1, 0, 0, 1]);
    assert.deepEqual(calls.sort(), ['drop:t/1:online', 'keep:t/1:online', 'nil:t/1:online', 'none:t/1:online']);
    await broker.close();
  });

  test('an object replaces the payload and properties of that one copy', async () => {
    const broker = new Broker({
      hooks: {
        authorizeForward: (s) => (s.clientId === 'changed' ? { payload: Buffer.from('redacted'), properties: { contentType: 'text/plain' } } : true),
      },
    });
    const changed = await subscriber(broker, 5, 'changed');
    const plain = await subscriber(broker, 5, 'plain');
    await broker.publish({ topic: 't/1', payload: 'secret', qos: 0 });
    const a = await changed.next('publish');
    assert.equal(a.payload.toString(), 'redacted');
    assert.equal(a.properties?.contentType, 'text/plain');
    const b = await plain.next('publish');
    assert.equal(b.payload.toString(), 'secret');
    assert.equal(b.properties?.contentType, undefined);
    await broker.close();
  });

  test('called at routing time for an offline persistent session (client undefined), not again when the queue is sent', async () => {
    const calls: string[] = [];
    const broker = new Broker({
      hooks: {
        authorizeForward: (s, m) => {
          calls.push(`${s.client === undefined ? 'offline' : 'online'}:${m.topic}`);
          return m.topic !== 't/drop';
        },
      },
    });
    const options = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const s = await subscriber(broker, 5, 'away', 't/#', options);
    s.send({ cmd: 'disconnect', reasonCode: 0 });
    await s.waitClosed();
    await broker.publish({ topic: 't/keep', payload, qos: 1 });
    await broker.publish({ topic: 't/drop', payload, qos: 1 });
    assert.deepEqual(calls, ['offline:t/keep', 'offline:t/drop']);
    const back = new TestClient(broker, 5);
    await back.connect({ clientId: 'away', ...options });
    const p = await back.next('publish');
    assert.equal(p.topic, 't/keep');
    back.send({ cmd: 'puback', messageId: p.messageId ?? 0 });
    assert.deepEqual(await back.drain(), []);
    assert.deepEqual(calls, ['offline:t/keep', 'offline:t/drop'], 'not called again for the queued copy');
    await broker.close();
  });

  test('called for retained messages sent on SUBSCRIBE', async () => {
    const broker = new Broker({ hooks: { authorizeForward: (_s, m) => m.topic !== 't/hidden' } });
    await broker.publish({ topic: 't/shown', payload, retain: true });
    await broker.publish({ topic: 't/hidden', payload, retain: true });
    const s = await subscriber(broker, 4, 's');
    const got = (await s.drain()).map((p) => (p.cmd === 'publish' ? p.topic : p.cmd));
    assert.deepEqual(got, ['t/shown']);
    await broker.close();
  });

  test('sees the topic as the subscriber will, its mount point taken off', async () => {
    const seen: string[] = [];
    const broker = new Broker({
      hooks: {
        authenticate: ({ username }) => ({ ok: true, namespace: username ?? '', mountPoint: username === undefined ? '' : `devices/${username}/` }),
        authorizeForward: (s, m) => (seen.push(`${s.mountPoint}|${m.topic}`), true),
      },
    });
    const dev = await subscriber(broker, 5, 'dev', 'cmd/+', { username: 'abc' });
    await broker.publish({ topic: 'devices/abc/cmd/7', payload });
    assert.equal((await dev.next('publish')).topic, 'cmd/7');
    assert.deepEqual(seen, ['devices/abc/|cmd/7']);
    await broker.close();
  });

  for (const version of [4, 5] as const) {
    test(`v${version}: a throwing hook drops that copy, emits forwardError; the publisher is acknowledged and the others get theirs`, async () => {
      const broker = new Broker({
        hooks: {
          authorizeForward: (s) => {
            if (s.clientId === 'victim') throw new Error('hook bug');
            return true;
          },
        },
      });
      const errors: string[] = [];
      broker.on('forwardError', (e, s) => errors.push(`${s.clientId}: ${(e as Error).message}`));
      const victim = await subscriber(broker, version, 'victim');
      const other = await subscriber(broker, version, 'other');
      const pub = await connected(broker, version, { clientId: 'pub' });
      pub.send({ cmd: 'publish', topic: 't/1', payload, qos: 1, messageId: 9, retain: false, dup: false });
      assert.equal((await pub.next('puback')).messageId, 9);
      assert.equal((await other.next('publish')).topic, 't/1');
      assert.deepEqual(await victim.drain(), []);
      assert.equal(victim.closed, false, 'the subscriber stays connected');
      assert.deepEqual(errors, ['victim: hook bug']);
      assert.equal(broker.stats().messagesDropped, 1);
      assert.equal(broker.stats().clientErrors, 0);
      await broker.close();
    });
  }

  test('a hook that returns a promise (an async hook) is a bug: the copy is dropped and reported, not delivered', async () => {
    const broker = new Broker({ hooks: { authorizeForward: (() => Promise.resolve(true)) as unknown as () => boolean } });
    const errors: unknown[] = [];
    broker.on('forwardError', (e) => errors.push(e));
    const s = await subscriber(broker, 5, 's');
    await broker.publish({ topic: 't/1', payload });
    assert.deepEqual(await s.drain(), []);
    assert.match(String(errors[0]), /synchronously/);
    await broker.close();
  });

  test('invalid properties returned by the hook are its fault: the copy is dropped, the subscriber is not faulted', async () => {
    const broker = new Broker({
      hooks: { authorizeForward: () => ({ properties: { userProperties: { k: null } } as unknown as ForwardRequest['properties'] }) },
    });
    const errors: unknown[] = [];
    broker.on('forwardError', (e) => errors.push(e));
    const s = await subscriber(broker, 5, 's');
    await broker.publish({ topic: 't/1', payload });
    assert.deepEqual(await s.drain(), []);
    assert.equal(errors.length, 1);
    assert.equal(broker.stats().clientErrors, 0);
    await broker.close();
  });
});

describe('onPublish { route: false }: consumed by the application, acknowledged, neither routed nor retained', () => {
  for (const version of [4, 5] as const) {
    for (const qos of [0, 1, 2] as const) {
      test(`v${version} QoS ${qos}`, async () => {
        const broker = new Broker({ hooks: { onPublish: (_c, p) => Promise.resolve(p.topic === 't/raw' ? { route: false as const } : undefined) } });
        const s = await subscriber(broker, version, 's');
        const pub = await connected(broker, version, { clientId: 'pub' });
        pub.send({ cmd: 'publish', topic: 't/raw', payload, qos, ...(qos === 0 ? {} : { messageId: 5 }), retain: true, dup: false });
        if (qos === 1) assert.equal((await pub.next('puback')).reasonCode ?? 0, 0);
        if (qos === 2) {
          assert.equal((await pub.next('pubrec')).reasonCode ?? 0, 0);
          pub.send({ cmd: 'pubrel', messageId: 5 });
          assert.equal((await pub.next('pubcomp')).messageId, 5);
        }
        pub.send({ cmd: 'publish', topic: 't/routed', payload, qos: 0, retain: false, dup: false });
        assert.equal((await s.next('publish')).topic, 't/routed', 'other messages are routed as usual');
        assert.deepEqual(await s.drain(), []);
        assert.equal(broker.stats().retained, 0, 'not stored as retained');
        assert.equal(broker.stats().messagesRefused, 0);
        await broker.close();
      });
    }
  }
});

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from './broker';
import type { BrokerOptions, PublishRequest, SubscribeRequest } from './options';
import { MemoryPersistence } from './persistence/memory/memory-persistence';
import type { BrokerPersistence } from './persistence/persistence';
import { SqlitePersistence } from './persistence/sqlite/sqlite-persistence';
import { connected, TestClient } from './testing/test-client';

// ADR 0005: the authenticate hook may put a client under a mount point. Here the username names the device
// and the mount point is `devices/<username>/`; a client without a username is the platform's own, unmounted.

const dir = mkdtempSync(join(tmpdir(), 'broker-mount-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function mountedBroker(options: BrokerOptions = {}): Broker {
  return new Broker({
    ...options,
    hooks: {
      authenticate: ({ username }) => (username === undefined ? { ok: true } : { ok: true, namespace: username, mountPoint: `devices/${username}/` }),
      ...options.hooks,
    },
  });
}

const payload = Buffer.from('x');

async function device(broker: Broker, version: 4 | 5, name: string, filters: string[] = [], extra: Parameters<typeof connected>[2] = {}) {
  const c = await connected(broker, version, { clientId: `${name}-${version}`, username: name, ...extra });
  if (filters.length > 0) {
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })) });
    await c.next('suback');
  }
  return c;
}

async function platform(broker: Broker, filter: string) {
  const c = await connected(broker, 5, { clientId: 'platform' });
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] });
  await c.next('suback');
  return c;
}

describe('mount points (ADR 0005)', () => {
  for (const version of [4, 5] as const) {
    test(`v${version}: a mounted client's PUBLISH is routed as mountPoint + topic`, async () => {
      const broker = mountedBroker();
      const watcher = await platform(broker, 'devices/#');
      const a = await device(broker, version, 'a');
      a.send({ cmd: 'publish', topic: 'v1/devices/me/telemetry', payload, qos: 1, messageId: 3, retain: false, dup: false });
      assert.equal((await a.next('puback')).messageId, 3);
      assert.equal((await watcher.next('publish')).topic, 'devices/a/v1/devices/me/telemetry');
      await broker.close();
    });

    test(`v${version}: two clients with different mount points and identical filters each see only their own traffic`, async () => {
      const broker = mountedBroker();
      const a = await device(broker, version, 'a', ['v1/devices/me/attributes']);
      const b = await device(broker, version, 'b', ['v1/devices/me/attributes']);
      await broker.publish({ topic: 'devices/a/v1/devices/me/attributes', payload: 'for a', qos: 1 });
      const p = await a.next('publish');
      assert.equal(p.topic, 'v1/devices/me/attributes', 'the mount point is taken off on delivery');
      assert.equal(p.payload.toString(), 'for a');
      assert.deepEqual(await b.drain(), []);
      // A device publishing the same topic name reaches only its own subscription, not another device's.
      b.send({ cmd: 'publish', topic: 'v1/devices/me/attributes', payload: 'from b', qos: 0, retain: false, dup: false });
      assert.equal((await b.next('publish')).payload.toString(), 'from b');
      a.send({ cmd: 'puback', messageId: p.messageId ?? 0 });
      assert.deepEqual(await a.drain(), []);
      await broker.close();
    });

    test(`v${version}: broker.publish to a mounted topic reaches exactly that client, QoS 1 handshake unchanged`, async () => {
      const broker = mountedBroker();
      const abc = await device(broker, version, 'abc', ['v1/devices/me/rpc/request/+']);
      const other = await device(broker, version, 'other', ['v1/devices/me/rpc/request/+']);
      await broker.publish({ topic: 'devices/abc/v1/devices/me/rpc/request/7', payload: '{"method":"reboot"}', qos: 1 });
      const p = await abc.next('publish');
      assert.equal(p.topic, 'v1/devices/me/rpc/request/7');
      assert.equal(p.qos, 1);
      abc.send({ cmd: 'puback', messageId: p.messageId ?? 0 });
      assert.deepEqual(await other.drain(), []);
      assert.deepEqual(await abc.drain(), []);
      await broker.close();
    });

    test(`v${version}: UNSUBSCRIBE takes the mounted filter away`, async () => {
      const broker = mountedBroker();
      const a = await device(broker, version, 'a', ['cmd/#']);
      a.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['cmd/#'] });
      const ack = await a.next('unsuback');
      if (version === 5) assert.deepEqual(ack.granted, [0x00], '[MQTT-3.10.4-1] the subscription existed under its client name');
      assert.equal(broker.stats().subscriptions, 0);
      await broker.publish({ topic: 'devices/a/cmd/1', payload });
      assert.deepEqual(await a.drain(), []);
      await broker.close();
    });

    test(`v${version}: the will topic is mounted`, async () => {
      const broker = mountedBroker();
      const watcher = await platform(broker, 'devices/+/status');
      const a = await device(broker, version, 'a', [], { will: { topic: 'status', payload: Buffer.from('gone'), qos: 1, retain: false } });
      a.stream.destroy();
      const will = await watcher.next('publish');
      assert.equal(will.topic, 'devices/a/status');
      assert.equal(will.payload.toString(), 'gone');
      await broker.close();
    });

    test(`v${version}: retained messages are stored mounted and sent on SUBSCRIBE without the mount point`, async () => {
      const broker = mountedBroker();
      const a = await device(broker, version, 'a');
      a.send({ cmd: 'publish', topic: 'state', payload: Buffer.from('on'), qos: 1, messageId: 1, retain: true, dup: false });
      await a.next('puback');
      await broker.publish({ topic: 'devices/a', payload: 'the parent level', retain: true });
      const watcher = await platform(broker, 'devices/a/state');
      const stored = await watcher.next('publish');
      assert.equal(stored.topic, 'devices/a/state');
      assert.equal(stored.retain, true);
      const a2 = await device(broker, version, 'a', [], { clientId: 'a-second' });
      a2.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 1 }] });
      await a2.next('suback');
      const p = await a2.next('publish');
      assert.equal(p.topic, 'state');
      assert.equal(p.retain, true);
      a2.send({ cmd: 'puback', messageId: p.messageId ?? 0 });
      // `devices/a/#` matches `devices/a` itself (§4.7.1.2), which is outside the mount point: not delivered.
      assert.deepEqual(await a2.drain(), []);
      const b = await device(broker, version, 'b', ['state']);
      assert.deepEqual(await b.drain(), [], "another mount point does not see a's retained message");
      await broker.close();
    });

    test(`v${version}: a shared subscription is mounted inside $share/<group>/`, async () => {
      const broker = mountedBroker();
      const a = await device(broker, version, 'a', ['$share/g/cmd']);
      const b = await device(broker, version, 'b', ['$share/g/cmd']);
      for (let i = 0; i < 3; i++) await broker.publish({ topic: 'devices/a/cmd', payload: `${i}`, qos: 0 });
      const got = (await a.drain()).map((p) => (p.cmd === 'publish' ? `${p.topic}:${p.payload.toString()}` : p.cmd));
      assert.deepEqual(got, ['cmd:0', 'cmd:1', 'cmd:2'], 'the two groups are different filters, so a gets every message');
      assert.deepEqual(await b.drain(), []);
      a.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['$share/g/cmd'] });
      await a.next('unsuback');
      assert.equal(broker.stats().subscriptions, 1);
      await broker.close();
    });

    test(`v${version}: the offline queue of a persistent mounted session is delivered without the mount point`, async () => {
      const broker = mountedBroker();
      const options = version === 5 ? { clean: false, properties: { sessionExpiryInterval: 600 } } : { clean: false };
      const a = await device(broker, version, 'a', ['cmd/#'], options);
      a.send({ cmd: 'disconnect' });
      await a.waitClosed();
      await broker.publish({ topic: 'devices/a/cmd/1', payload: 'queued', qos: 1 });
      const back = new TestClient(broker, version);
      assert.equal((await back.connect({ clientId: `a-${version}`, username: 'a', ...options })).sessionPresent, true);
      const p = await back.next('publish');
      assert.equal(p.topic, 'cmd/1');
      assert.equal(p.payload.toString(), 'queued');
      await broker.close();
    });
  }

  for (const kind of ['memory', 'sqlite'] as const) {
    test(`${kind}: the mount point, the mounted subscriptions and the held copies survive a broker restart`, async () => {
      const path = join(dir, `restart-${kind}.sqlite`);
      const persistence = (): BrokerPersistence => (kind === 'memory' ? memory : new SqlitePersistence({ path }));
      const memory = new MemoryPersistence();
      const first = mountedBroker({ persistence: persistence() });
      const options = { clientId: 'dev', username: 'a', clean: false, properties: { sessionExpiryInterval: 3600 } };
      const c = await connected(first, 5, options);
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cmd/#', qos: 2 }] });
      await c.next('suback');
      c.send({ cmd: 'disconnect', reasonCode: 0 });
      await c.waitClosed();
      await first.publish({ topic: 'devices/a/cmd/1', payload: 'reboot', qos: 2 });
      await first.close();

      const second = mountedBroker({ persistence: persistence() });
      const back = new TestClient(second, 5);
      assert.equal((await back.connect(options)).sessionPresent, true);
      const p = await back.next('publish');
      assert.equal(p.topic, 'cmd/1');
      assert.equal(p.payload.toString(), 'reboot');
      back.send({ cmd: 'pubrec', messageId: p.messageId ?? 0 });
      await back.next('pubrel');
      back.send({ cmd: 'pubcomp', messageId: p.messageId ?? 0 });
      // The restored subscription is still mounted: the restored session gets its own traffic only.
      await second.publish({ topic: 'devices/a/cmd/2', payload: 'again', qos: 0 });
      await second.publish({ topic: 'cmd/3', payload: 'not mine', qos: 0 });
      const q = await back.next('publish');
      assert.equal(q.topic, 'cmd/2');
      assert.deepEqual(await back.drain(), []);
      await second.close();
    });
  }

  test('a session resumed under another mount point starts clean: its subscriptions belonged to the old one', async () => {
    let mount = 'devices/one/';
    const broker = new Broker({ hooks: { authenticate: () => ({ ok: true, mountPoint: mount }) } });
    const options = { clientId: 'dev', clean: false, properties: { sessionExpiryInterval: 3600 } };
    const c = await connected(broker, 5, options);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    await c.next('suback');
    c.send({ cmd: 'disconnect', reasonCode: 0 });
    await c.waitClosed();
    mount = 'devices/two/';
    const back = new TestClient(broker, 5);
    assert.equal((await back.connect(options)).sessionPresent, false);
    assert.equal(broker.stats().subscriptions, 0);
    await broker.close();
  });

  for (const bad of ['devices/+/', 'devices/#', 'dev\u0000/', 'no-slash', `${'x'.repeat(300)}/`]) {
    test(`a mount point ${JSON.stringify(bad.slice(0, 20))} is refused like a failing hook (0x88 / return code 3)`, async () => {
      const broker = new Broker({ hooks: { authenticate: () => ({ ok: true, mountPoint: bad }) } });
      const v5 = new TestClient(broker, 5);
      assert.equal((await v5.connect({ clientId: 'x' })).reasonCode, 0x88);
      const v4 = new TestClient(broker, 4);
      assert.equal((await v4.connect({ clientId: 'y' })).returnCode, 3);
      await broker.close();
    });
  }

  test('a topic that fits the limits but not once mounted is refused as an invalid topic name (v5 DISCONNECT 0x90)', async () => {
    const broker = mountedBroker({ limits: { maxTopicLevels: 4 } });
    const a = await device(broker, 5, 'a');
    a.send({ cmd: 'publish', topic: 'x/y/z', payload, qos: 0, retain: false, dup: false });
    assert.equal((await a.next('disconnect')).reasonCode, 0x90);
    await broker.close();
  });

  test('authorizePublish, authorizeSubscribe and onPublish see the topic as the client named it; client.mountPoint has the prefix', async () => {
    const published: string[] = [];
    const subscribed: string[] = [];
    const broker = mountedBroker({
      hooks: {
        authorizePublish: (client, p: PublishRequest) => {
          published.push(`authorize ${client.mountPoint}|${p.topic}`);
          return true;
        },
        authorizeSubscribe: (client, s: SubscribeRequest) => {
          subscribed.push(`${client.mountPoint}|${s.topic}`);
          return true;
        },
        onPublish: (_client, p) => {
          published.push(`onPublish ${p.topic}`);
          return Promise.resolve(undefined);
        },
      },
    });
    const a = await device(broker, 5, 'a', ['$share/g/cmd/+', 'cmd/#'], { will: { topic: 'status', payload: Buffer.from('bye'), qos: 0, retain: false } });
    a.send({ cmd: 'publish', topic: 'v1/devices/me/telemetry', payload, qos: 1, messageId: 1, retain: false, dup: false });
    await a.next('puback');
    assert.deepEqual(published, ['authorize devices/a/|status', 'authorize devices/a/|v1/devices/me/telemetry', 'onPublish v1/devices/me/telemetry']);
    assert.deepEqual(subscribed, ['devices/a/|$share/g/cmd/+', 'devices/a/|cmd/#']);
    await broker.close();
  });

  test('a resumed session is reauthorized with its filters as the client named them', async () => {
    const seen: string[] = [];
    const broker = mountedBroker({ hooks: { authorizeSubscribe: (_c, s) => (seen.push(s.topic), true) } });
    const options = { clientId: 'dev', clean: false, properties: { sessionExpiryInterval: 60 } };
    const a = await device(broker, 5, 'a', ['$share/g/cmd', 'up/#'], options);
    a.send({ cmd: 'disconnect', reasonCode: 0 });
    await a.waitClosed();
    seen.length = 0;
    const back = new TestClient(broker, 5);
    assert.equal((await back.connect({ ...options, username: 'a' })).sessionPresent, true);
    assert.deepEqual(seen.sort(), ['$share/g/cmd', 'up/#']);
    await broker.close();
  });

  test('v5 topic aliases: client aliases name client topics; aliases the broker assigns carry client topics', async () => {
    const broker = mountedBroker();
    const watcher = await platform(broker, 'devices/a/#');
    const a = await device(broker, 5, 'a', ['cmd/+'], { properties: { topicAliasMaximum: 4 } });
    a.send({ cmd: 'publish', topic: 'up', payload, qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    a.send({ cmd: 'publish', topic: '', payload, qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    assert.equal((await watcher.next('publish')).topic, 'devices/a/up');
    assert.equal((await watcher.next('publish')).topic, 'devices/a/up');
    await broker.publish({ topic: 'devices/a/cmd/1', payload: 'one' });
    await broker.publish({ topic: 'devices/a/cmd/1', payload: 'two' });
    const first = await a.next('publish');
    const second = await a.next('publish');
    assert.equal(first.topic, 'cmd/1');
    assert.equal(first.properties?.topicAlias, 1);
    assert.equal(second.topic, '', '[MQTT-3.3.2-12] the alias alone stands for the client topic');
    assert.equal(second.properties?.topicAlias, 1);
    await broker.close();
  });

  test('a stored session with an invalid mount point is dropped at load, like other invalid state', async () => {
    const persistence = new MemoryPersistence();
    const state = { clientId: 'bad', expiryIntervalSec: 3600, subscriptions: [], inboundQos2: [], mountPoint: 'devices/#' };
    persistence.apply([{ type: 'saveSession', key: 'bad', state }]);
    persistence.apply([{ type: 'saveSession', key: 'ok', state: { ...state, clientId: 'ok', mountPoint: 'devices/ok/' } }]);
    const broker = new Broker({ persistence });
    await broker.ready;
    assert.equal(broker.stats().stateDropped, 1);
    assert.equal(broker.stats().sessions, 1);
    await broker.close();
  });
});

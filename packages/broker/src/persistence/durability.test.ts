import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, brokerInternals } from '../broker';
import { FakeClock } from '../testing/fake-clock';
import { connected, TestClient } from '../testing/test-client';
import { MemoryPersistence } from './memory/memory-persistence';
import type { BrokerPersistence, LoadedState, PersistenceOp } from './persistence';

/** Memory persistence whose writes wait until the test lets them through (or fail). */
class GatedPersistence implements BrokerPersistence {
  readonly batches: PersistenceOp[][] = [];
  readonly inner = new MemoryPersistence();
  gated = false;
  fail = false;
  private release: (() => void)[] = [];

  load(): LoadedState {
    return this.inner.load();
  }

  close(): void {
    this.inner.close();
  }

  async apply(ops: readonly PersistenceOp[]): Promise<void> {
    this.batches.push([...ops]);
    if (this.fail) throw new Error('disk full');
    if (this.gated) await new Promise<void>((resolve) => this.release.push(resolve));
    this.inner.apply(ops);
  }

  open(): void {
    this.gated = false;
    for (const r of this.release.splice(0)) r();
  }
}

const persistent = { clientId: 'sub', clean: false, properties: { sessionExpiryInterval: 3600 } };

async function subscriber(broker: Broker) {
  const c = await connected(broker, 5, persistent);
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos: 1 }] });
  await c.next('suback');
  return c;
}

/** A persistent subscriber to q/# that went offline: what is published to it is queued (and stored). */
async function offlineSubscriber(broker: Broker): Promise<void> {
  const s = await subscriber(broker);
  s.send({ cmd: 'disconnect', reasonCode: 0 });
  await s.waitClosed();
}

describe('durability: nothing acknowledged is lost from persistent sessions', () => {
  test('PUBACK waits until the copy queued for an offline persistent session is stored', async () => {
    const persistence = new GatedPersistence();
    const broker = new Broker({ persistence });
    await offlineSubscriber(broker);
    persistence.gated = true;
    const pub = await connected(broker, 5, { clientId: 'pub' });
    pub.send({ cmd: 'publish', topic: 'q/1', payload: 'x', qos: 1, messageId: 7, retain: false, dup: false });
    assert.deepEqual(await pub.drain(50), [], 'no PUBACK before the write');
    persistence.open();
    const ack = await pub.next('puback');
    assert.equal(ack.messageId, 7);
    const stored = persistence.load().sessions[0]?.outgoing.map((o) => o.message.payload.toString());
    assert.deepEqual(stored, ['x']);
    await broker.close();
  });

  test("the in-flight window of a connected persistent session is stored before the publisher's PUBACK, and removed on its PUBACK", async () => {
    const persistence = new GatedPersistence();
    const broker = new Broker({ persistence });
    const s = await subscriber(broker);
    const pub = await connected(broker, 5, { clientId: 'pub' });
    persistence.gated = true;
    pub.send({ cmd: 'publish', topic: 'q/1', payload: 'x', qos: 1, messageId: 1, retain: false, dup: false });
    const delivered = await s.next('publish');
    assert.deepEqual(await pub.drain(50), [], 'the subscriber has it, but it is not stored yet: no PUBACK');
    persistence.open();
    await pub.next('puback');
    let stored = persistence.load().sessions[0]?.outgoing ?? [];
    assert.deepEqual(
      stored.map((o) => [o.message.payload.toString(), o.packetId]),
      [['x', delivered.messageId]],
    );
    s.send({ cmd: 'puback', messageId: delivered.messageId ?? 0 });
    for (let i = 0; i < 100 && stored.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
      await brokerInternals(broker).writer.drain();
      stored = persistence.load().sessions[0]?.outgoing ?? [];
    }
    assert.deepEqual(stored, [], 'acknowledged by the subscriber: gone from the store');
    await broker.close();
  });

  test('acks keep their order when one waits for a write and the next does not', async () => {
    const persistence = new GatedPersistence();
    const broker = new Broker({ persistence });
    await offlineSubscriber(broker);
    persistence.gated = true;
    const pub = await connected(broker, 5, { clientId: 'pub' });
    pub.send({ cmd: 'publish', topic: 'q/1', payload: 'x', qos: 1, messageId: 1, retain: false, dup: false });
    pub.send({ cmd: 'publish', topic: 'nobody/listens', payload: 'y', qos: 1, messageId: 2, retain: false, dup: false });
    assert.deepEqual(await pub.drain(50), []);
    persistence.open();
    assert.equal((await pub.next('puback')).messageId, 1);
    assert.equal((await pub.next('puback')).messageId, 2);
    await broker.close();
  });

  test('a message nobody persistent holds is acknowledged without a write', async () => {
    const persistence = new GatedPersistence();
    const broker = new Broker({ persistence });
    persistence.gated = true;
    const pub = await connected(broker, 5, { clientId: 'pub' });
    const before = persistence.batches.length;
    pub.send({ cmd: 'publish', topic: 'nobody/listens', payload: 'y', qos: 1, messageId: 2, retain: false, dup: false });
    assert.equal((await pub.next('puback')).messageId, 2);
    assert.equal(persistence.batches.length, before);
    persistence.open();
    await broker.close();
  });

  test('a failed write acknowledges nothing: the publisher is disconnected without PUBACK', async () => {
    const persistence = new GatedPersistence();
    const broker = new Broker({ persistence });
    broker.on('persistenceError', () => undefined);
    await offlineSubscriber(broker);
    persistence.fail = true;
    const pub = await connected(broker, 5, { clientId: 'pub' });
    pub.send({ cmd: 'publish', topic: 'q/1', payload: 'x', qos: 1, messageId: 1, retain: false, dup: false });
    const got = await pub.next();
    assert.equal(got.cmd, 'disconnect');
    assert.equal(got.reasonCode, 0x80);
    await pub.waitClosed();
    persistence.fail = false;
    await broker.close();
  });

  test('a retained message is stored before its PUBACK', async () => {
    const persistence = new GatedPersistence();
    const broker = new Broker({ persistence });
    persistence.gated = true;
    const pub = await connected(broker, 4, { clientId: 'pub' });
    pub.send({ cmd: 'publish', topic: 'state', payload: 'on', qos: 1, messageId: 3, retain: true, dup: false });
    assert.deepEqual(await pub.drain(50), []);
    persistence.open();
    await pub.next('puback');
    assert.deepEqual(
      persistence.load().retained.map((m) => m.payload.toString()),
      ['on'],
    );
    await broker.close();
  });

  test('crash: the in-flight and queued messages of a connected persistent session are redelivered by a broker started on the same store without close()', async () => {
    const persistence = new MemoryPersistence();
    const first = new Broker({ persistence, limits: { receiveMaximum: 2 } });
    await subscriber(first);
    for (let i = 0; i < 5; i++) await first.publish({ topic: `q/${i}`, payload: String(i), qos: 1 });
    // No close(): as after kill -9, only what was written is there.
    const second = new Broker({ persistence });
    const back = new TestClient(second, 5);
    assert.equal((await back.connect(persistent)).sessionPresent, true);
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await back.next('publish');
      got.push(p.payload.toString());
      back.send({ cmd: 'puback', messageId: p.messageId ?? 0 });
    }
    assert.deepEqual(got, ['0', '1', '2', '3', '4']);
    await second.close();
  });

  test('crash: the will of a persistent session whose connection the crash cut is published after the restart, after its delay [MQTT-3.1.2-8]', async () => {
    const persistence = new MemoryPersistence();
    const clock = new FakeClock();
    const first = new Broker({ persistence, clock });
    await connected(first, 5, {
      ...persistent,
      clientId: 'dev',
      will: { topic: 'status/dev', payload: Buffer.from('offline'), qos: 1, retain: true, properties: { willDelayInterval: 10 } },
    });
    await brokerInternals(first).writer.drain();
    const second = new Broker({ persistence, clock });
    await second.ready;
    assert.equal(brokerInternals(second).retained.get('status/dev'), undefined, 'not before the delay');
    clock.advance(10_000);
    assert.equal(brokerInternals(second).retained.get('status/dev')?.payload.toString(), 'offline');
    await brokerInternals(second).writer.drain();
    assert.equal(persistence.load().sessions.find((s) => s.clientId === 'dev')?.will, undefined, 'sent once: removed from the session');
    await second.close();
  });

  test('a will discarded by DISCONNECT 0x00 is removed from the stored session', async () => {
    const persistence = new MemoryPersistence();
    const broker = new Broker({ persistence });
    const c = await connected(broker, 5, {
      ...persistent,
      clientId: 'dev',
      will: { topic: 'status/dev', payload: Buffer.from('offline'), qos: 0, retain: false },
    });
    await brokerInternals(broker).writer.drain();
    assert.equal(persistence.load().sessions[0]?.will?.message.topic, 'status/dev');
    c.send({ cmd: 'disconnect', reasonCode: 0 });
    await c.waitClosed();
    await brokerInternals(broker).writer.drain();
    assert.equal(persistence.load().sessions[0]?.will, undefined);
    await broker.close();
  });
});

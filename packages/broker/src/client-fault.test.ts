import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, brokerInternals } from './broker';
import type { Client } from './options';
import { connected, TestClient } from './testing/test-client';

function breakWrites(broker: Broker, clientId: string): void {
  const client = brokerInternals(broker).getClient(clientId);
  assert.ok(client !== undefined);
  client.stream.write = () => {
    throw new Error('write failed');
  };
}

function recordErrors(broker: Broker): { error: unknown; client: Client }[] {
  const seen: { error: unknown; client: Client }[] = [];
  broker.on('clientError', (error, client) => seen.push({ error, client }));
  return seen;
}

describe('fault containment (DESIGN.md invariant 9: a fault stays with one client)', () => {
  test('a subscriber whose socket write throws is closed and counted; the publisher gets its PUBACK and the other subscriber its copy', async () => {
    const broker = new Broker();
    const errors = recordErrors(broker);
    const good = await connected(broker, 5, { clientId: 'good' });
    const bad = await connected(broker, 5, { clientId: 'bad' });
    for (const c of [good, bad]) {
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
      await c.next('suback');
    }
    breakWrites(broker, 'bad');
    const pub = await connected(broker, 4, { clientId: 'pub' });
    pub.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 5, retain: false, dup: false });
    assert.equal((await pub.next('puback')).messageId, 5);
    assert.equal((await good.next('publish')).payload.toString(), 'x');
    await bad.waitClosed();
    assert.equal(broker.stats().clientErrors, 1);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.client.id, 'bad');
    assert.equal(brokerInternals(broker).sessions.get('bad'), undefined, 'the clean session ended with the connection');
    await broker.close();
  });

  test('a promise rejection in an async handler (SUBSCRIBE answering on a broken socket) closes that connection only', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 'sub' });
    breakWrites(broker, 'sub');
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 0 }] });
    await c.waitClosed();
    assert.equal(broker.stats().clientErrors, 1);
    const other = await connected(broker, 4, { clientId: 'other' });
    other.send({ cmd: 'pingreq' });
    await other.next('pingresp');
    await broker.close();
  });

  test('an exception in CONNECT handling (a throwing "client" listener) gets v5 DISCONNECT 0x83, is counted and emitted', async () => {
    const broker = new Broker();
    const errors = recordErrors(broker);
    broker.on('client', (client) => {
      if (client.id === 'boom') throw new Error('listener failed');
    });
    const c = new TestClient(broker, 5);
    assert.equal((await c.connect({ clientId: 'boom' })).reasonCode, 0);
    assert.equal((await c.next('disconnect')).reasonCode, 0x83);
    await c.waitClosed();
    assert.equal(broker.stats().clientErrors, 1);
    assert.match(String(errors[0]?.error), /listener failed/);
    assert.equal(broker.stats().connections, 0);
    await connected(broker, 5, { clientId: 'fine' });
    await broker.close();
  });

  test('a throwing "clientDisconnect" listener, run from a socket event, is counted and not thrown', async () => {
    const broker = new Broker();
    broker.on('clientDisconnect', () => {
      throw new Error('listener failed');
    });
    const c = await connected(broker, 4, { clientId: 'leaves' });
    c.end();
    await c.waitClosed();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(broker.stats().clientErrors, 1);
    assert.equal(broker.stats().connections, 0);
    await broker.close();
  });

  test('a throwing clientError listener does not undo the containment', async () => {
    const broker = new Broker();
    broker.on('clientError', () => {
      throw new Error('listener failed too');
    });
    const c = await connected(broker, 4, { clientId: 'sub' });
    breakWrites(broker, 'sub');
    c.send({ cmd: 'pingreq' });
    await c.waitClosed();
    assert.equal(broker.stats().clientErrors, 1);
    await broker.close();
  });
});

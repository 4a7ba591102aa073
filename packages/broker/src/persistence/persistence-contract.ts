import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerPersistence, StoredMessage, StoredSessionState } from './persistence';

// The contract every BrokerPersistence adapter passes (run by each adapter's test file).
// `reopen` must return an adapter over the same storage, as after a process restart.

const message: StoredMessage = {
  topic: 'a/b',
  payload: Buffer.from([0, 1, 2, 255]),
  qos: 1,
  retain: false,
  expiresAt: 0,
  origin: 'pub',
  properties: { contentType: 'text/plain', correlationData: Buffer.from('corr'), userProperties: { k: 'v' }, messageExpiryInterval: 60 },
};

const session: StoredSessionState = {
  clientId: 'c1',
  expiryIntervalSec: 3600,
  disconnectedAt: 1000,
  subscriptions: [
    { filter: 'a/#', qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 0, subscriptionId: 7 },
    { filter: '$share/g/x', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 2 },
  ],
  inboundQos2: [3, 4],
};

export function persistenceContract(name: string, open: () => BrokerPersistence, reopen: (previous: BrokerPersistence) => BrokerPersistence): void {
  void test(`${name}: an empty store loads nothing`, async () => {
    const p = open();
    assert.deepEqual(await p.load(), { sessions: [], retained: [] });
    await p.close();
  });

  void test(`${name}: sessions with subscriptions and outgoing messages survive a reopen, in order`, async () => {
    const p = open();
    await p.saveSession(session);
    await p.appendOutgoing('c1', { message, qos: 1, retain: false, subscriptionIds: [7] });
    await p.appendOutgoing('c1', { message: { ...message, topic: 'a/c' }, qos: 1, retain: true });
    const again = reopen(p);
    const state = await again.load();
    assert.equal(state.sessions.length, 1);
    const s = state.sessions[0];
    assert.deepEqual({ ...s, outgoing: undefined }, { ...session, outgoing: undefined });
    assert.deepEqual(s?.outgoing.map((o) => o.message.topic), ['a/b', 'a/c']);
    assert.deepEqual(s.outgoing[0]?.message, message);
    assert.deepEqual(s.outgoing[0].subscriptionIds, [7]);
    assert.equal(s.outgoing[1]?.retain, true);
    await again.close();
  });

  void test(`${name}: replaceOutgoing replaces the list and keeps in-flight ids and states`, async () => {
    const p = open();
    await p.saveSession(session);
    await p.appendOutgoing('c1', { message, qos: 1, retain: false });
    await p.replaceOutgoing('c1', [{ message, qos: 2, retain: false, packetId: 12, state: 'pubrel' }]);
    const s = (await p.load()).sessions[0];
    assert.equal(s?.outgoing.length, 1);
    assert.equal(s.outgoing[0]?.packetId, 12);
    assert.equal(s.outgoing[0].state, 'pubrel');
    await p.close();
  });

  void test(`${name}: saveSession updates in place and keeps outgoing messages; deleteSession removes both`, async () => {
    const p = open();
    await p.saveSession(session);
    await p.appendOutgoing('c1', { message, qos: 1, retain: false });
    await p.saveSession({ ...session, subscriptions: [] });
    let s = (await p.load()).sessions[0];
    assert.deepEqual(s?.subscriptions, []);
    assert.equal(s.outgoing.length, 1);
    await p.deleteSession('c1');
    s = (await p.load()).sessions[0];
    assert.equal(s, undefined);
    await p.saveSession(session);
    assert.deepEqual((await p.load()).sessions[0]?.outgoing, [], 'no outgoing messages left behind');
    await p.close();
  });

  void test(`${name}: retained messages are set, replaced and deleted, and survive a reopen`, async () => {
    const p = open();
    await p.setRetained({ ...message, retain: true });
    await p.setRetained({ ...message, retain: true, payload: Buffer.from('new') });
    await p.setRetained({ ...message, topic: 'gone', retain: true });
    await p.deleteRetained('gone');
    const again = reopen(p);
    const { retained } = await again.load();
    assert.equal(retained.length, 1);
    assert.equal(retained[0]?.payload.toString(), 'new');
    assert.deepEqual(retained[0].properties, message.properties);
    await again.close();
  });
}

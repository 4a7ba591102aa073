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
  namespace: 'device:1',
  expiryIntervalSec: 3600,
  disconnectedAt: 1000,
  subscriptions: [
    { filter: 'a/#', qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 0, subscriptionId: 7 },
    { filter: '$share/g/x', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 2 },
  ],
  inboundQos2: [3, 4],
  will: { delaySec: 30, message: { ...message, topic: 'will', retain: true } },
};
const key = 'device:1\u0000c1';

export function persistenceContract(name: string, open: () => BrokerPersistence, reopen: (previous: BrokerPersistence) => BrokerPersistence): void {
  void test(`${name}: an empty store loads nothing`, async () => {
    const p = open();
    assert.deepEqual(await p.load(), { sessions: [], retained: [] });
    await p.close();
  });

  void test(`${name}: sessions with subscriptions, will and outgoing messages survive a reopen, in seq order`, async () => {
    const p = open();
    await p.apply([
      { type: 'saveSession', key, state: session },
      { type: 'putOutgoing', key, item: { seq: 5, message, qos: 1, retain: false, subscriptionIds: [7] } },
      { type: 'putOutgoing', key, item: { seq: 9, message: { ...message, topic: 'a/c' }, qos: 1, retain: true, packetId: 3, state: 'publish' } },
    ]);
    const again = reopen(p);
    const state = await again.load();
    assert.equal(state.sessions.length, 1);
    const s = state.sessions[0];
    assert.deepEqual({ ...s, outgoing: undefined }, { ...session, outgoing: undefined });
    assert.deepEqual(
      s?.outgoing.map((o) => [o.seq, o.message.topic]),
      [
        [5, 'a/b'],
        [9, 'a/c'],
      ],
    );
    assert.deepEqual(s.outgoing[0]?.message, message);
    assert.deepEqual(s.outgoing[0].subscriptionIds, [7]);
    assert.equal(s.outgoing[0].packetId, undefined);
    assert.equal(s.outgoing[1]?.retain, true);
    assert.equal(s.outgoing[1].packetId, 3);
    await again.close();
  });

  void test(`${name}: setInflight records the packet id and state; deleteOutgoing removes one message`, async () => {
    const p = open();
    await p.apply([
      { type: 'saveSession', key, state: session },
      { type: 'putOutgoing', key, item: { seq: 1, message, qos: 2, retain: false } },
      { type: 'putOutgoing', key, item: { seq: 2, message, qos: 1, retain: false } },
    ]);
    await p.apply([
      { type: 'setInflight', seq: 1, packetId: 12, state: 'pubrel' },
      { type: 'deleteOutgoing', seq: 2 },
    ]);
    const s = (await p.load()).sessions[0];
    assert.equal(s?.outgoing.length, 1);
    assert.equal(s.outgoing[0]?.packetId, 12);
    assert.equal(s.outgoing[0].state, 'pubrel');
    await p.close();
  });

  void test(`${name}: saveSession updates in place and keeps outgoing messages; deleteSession removes both`, async () => {
    const p = open();
    await p.apply([
      { type: 'saveSession', key, state: session },
      { type: 'putOutgoing', key, item: { seq: 1, message, qos: 1, retain: false } },
    ]);
    const { will: _will, ...withoutWill } = session;
    await p.apply([{ type: 'saveSession', key, state: { ...withoutWill, subscriptions: [] } }]);
    let s = (await p.load()).sessions[0];
    assert.deepEqual(s?.subscriptions, []);
    assert.equal(s.will, undefined);
    assert.equal(s.outgoing.length, 1);
    await p.apply([{ type: 'deleteSession', key }]);
    s = (await p.load()).sessions[0];
    assert.equal(s, undefined);
    await p.apply([{ type: 'saveSession', key, state: session }]);
    assert.deepEqual((await p.load()).sessions[0]?.outgoing, [], 'no outgoing messages left behind');
    await p.close();
  });

  void test(`${name}: sessions of equal client ids in different namespaces are kept apart`, async () => {
    const p = open();
    const { namespace: _ns, ...plain } = session;
    await p.apply([
      { type: 'saveSession', key, state: session },
      { type: 'saveSession', key: 'c1', state: plain },
      { type: 'putOutgoing', key: 'c1', item: { seq: 1, message, qos: 1, retain: false } },
    ]);
    const sessions = (await p.load()).sessions.sort((a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? ''));
    assert.deepEqual(
      sessions.map((s) => [s.namespace, s.outgoing.length]),
      [
        [undefined, 1],
        ['device:1', 0],
      ],
    );
    await p.close();
  });

  void test(`${name}: a batch is applied in order`, async () => {
    const p = open();
    await p.apply([
      { type: 'saveSession', key, state: session },
      { type: 'putOutgoing', key, item: { seq: 1, message, qos: 1, retain: false } },
      { type: 'deleteSession', key },
      { type: 'saveSession', key, state: { ...session, subscriptions: [] } },
    ]);
    const s = (await p.load()).sessions[0];
    assert.deepEqual(s?.subscriptions, []);
    assert.deepEqual(s.outgoing, []);
    await p.close();
  });

  void test(`${name}: retained messages are set, replaced and deleted, and survive a reopen`, async () => {
    const p = open();
    await p.apply([
      { type: 'setRetained', message: { ...message, retain: true } },
      { type: 'setRetained', message: { ...message, retain: true, payload: Buffer.from('new') } },
      { type: 'setRetained', message: { ...message, topic: 'gone', retain: true } },
      { type: 'deleteRetained', topic: 'gone' },
    ]);
    const again = reopen(p);
    const { retained } = await again.load();
    assert.equal(retained.length, 1);
    assert.equal(retained[0]?.payload.toString(), 'new');
    assert.deepEqual(retained[0].properties, message.properties);
    await again.close();
  });
}

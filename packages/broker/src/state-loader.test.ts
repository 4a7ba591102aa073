import Database from 'better-sqlite3';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, brokerInternals } from './broker';
import type { MessageProperties } from './message';
import { MemoryPersistence } from './persistence/memory/memory-persistence';
import type { StoredMessage, StoredSession } from './persistence/persistence';
import { SqlitePersistence } from './persistence/sqlite/sqlite-persistence';
import { BrokerError } from './reason-codes';
import { connected } from './testing/test-client';

const dir = mkdtempSync(join(tmpdir(), 'broker-state-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

// What the broker stored before the codec check for `300c000174062600016bffff6869` sent retained:
// mqtt-packet parsed the overrunning user property value as null.
const poisoned = { userProperties: { k: null } } as unknown as MessageProperties;

function retained(topic: string, properties?: MessageProperties): StoredMessage {
  return { topic, payload: Buffer.from('v'), qos: 0, retain: true, expiresAt: 0, origin: 'old', ...(properties === undefined ? {} : { properties }) };
}

function session(clientId: string, patch: Partial<StoredSession> = {}): StoredSession {
  return {
    clientId,
    expiryIntervalSec: 3600,
    subscriptions: [{ filter: 'a/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    inboundQos2: [],
    outgoing: [],
    ...patch,
  };
}

function errorsOf(broker: Broker): BrokerError[] {
  const seen: BrokerError[] = [];
  broker.on('persistenceError', (e) => {
    if (e instanceof BrokerError) seen.push(e);
  });
  return seen;
}

describe('loading persisted state: an entry that fails validation is dropped, counted and reported, never fatal', () => {
  test('issue 6: a retained message stored with a null user property value no longer crashes the next v5 subscription after a restart', async () => {
    const path = join(dir, 'poisoned.sqlite');
    const old = new SqlitePersistence({ path });
    old.apply([
      { type: 'setRetained', message: retained('t/bad', poisoned) },
      { type: 'setRetained', message: retained('t/good', { userProperties: { k: 'v' } }) },
    ]);
    old.close();

    const broker = new Broker({ persistence: new SqlitePersistence({ path }) });
    const errors = errorsOf(broker);
    await broker.ready;
    assert.equal(broker.stats().stateDropped, 1);
    assert.equal(broker.stats().retained, 1);
    assert.equal(errors[0]?.code, 'THINGSTEAD_ERR_BROKER_STATE_INVALID');
    assert.match(errors.map((e) => e.message).join('\n'), /retained message on t\/bad/);
    const sub = await connected(broker, 5, { clientId: 's' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't/#', qos: 0 }] });
    await sub.next('suback');
    const p = await sub.next('publish');
    assert.equal(p.topic, 't/good');
    assert.deepEqual(await sub.drain(), []);
    assert.equal(broker.stats().clientErrors, 0);
    await broker.close();

    // Dropped for good: the next start does not meet it again.
    const again = new Broker({ persistence: new SqlitePersistence({ path }) });
    await again.ready;
    assert.equal(again.stats().stateDropped, 0);
    assert.equal(again.stats().retained, 1);
    await again.close();
  });

  test('issue 6: the malformed user property sent retained over the wire is refused, so nothing is stored for the next start', async () => {
    const path = join(dir, 'wire.sqlite');
    const first = new Broker({ persistence: new SqlitePersistence({ path }) });
    const c = await connected(first, 5, { clientId: 'p' });
    c.raw(Buffer.from('310c000174062600016bffff6869', 'hex'));
    assert.equal((await c.next('disconnect')).reasonCode, 0x81);
    await first.close();
    const second = new Broker({ persistence: new SqlitePersistence({ path }) });
    await second.ready;
    assert.equal(second.stats().retained, 0);
    await second.close();
  });

  test('a stored session with an invalid subscription or packet id is dropped; the others load', async () => {
    const persistence = new MemoryPersistence();
    persistence.apply([{ type: 'saveSession', key: 'ok', state: session('ok') }]);
    persistence.apply([
      {
        type: 'saveSession',
        key: 'bad-filter',
        state: session('bad-filter', { subscriptions: [{ filter: 'a/#/b', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] }),
      },
    ]);
    persistence.apply([
      {
        type: 'saveSession',
        key: 'bad-qos',
        state: session('bad-qos', { subscriptions: [{ filter: 'a', qos: 7 as 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] }),
      },
    ]);
    persistence.apply([{ type: 'saveSession', key: 'bad-id', state: session('bad-id', { inboundQos2: [0] }) }]);
    const broker = new Broker({ persistence });
    const errors = errorsOf(broker);
    await broker.ready;
    assert.deepEqual([...brokerInternals(broker).sessions.keys()], ['ok']);
    assert.equal(broker.stats().stateDropped, 3);
    assert.equal(errors.length, 3);
    assert.equal(persistence.load().sessions.length, 1, 'dropped sessions are deleted from persistence');
    await broker.close();
  });

  test('a queued message of a stored session that fails validation is dropped; the session and its other messages are restored', async () => {
    const persistence = new MemoryPersistence();
    persistence.apply([{ type: 'saveSession', key: 'dev', state: session('dev') }]);
    persistence.apply([
      { type: 'putOutgoing', key: 'dev', item: { seq: 1, message: { ...retained('a/1', poisoned), retain: false, qos: 1 }, qos: 1, retain: false } },
      { type: 'putOutgoing', key: 'dev', item: { seq: 2, message: { ...retained('a/2'), retain: false, qos: 1 }, qos: 1, retain: false } },
    ]);
    const broker = new Broker({ persistence });
    await broker.ready;
    assert.equal(broker.stats().stateDropped, 1);
    const back = await connected(broker, 5, { clientId: 'dev', clean: false, properties: { sessionExpiryInterval: 3600 } });
    const p = await back.next('publish');
    assert.equal(p.topic, 'a/2');
    assert.equal(broker.stats().clientErrors, 0);
    await broker.close();
  });

  test('broker.publish with a property the encoder refuses throws THINGSTEAD_ERR_BROKER_MESSAGE_INVALID instead of failing every delivery', async () => {
    const broker = new Broker();
    await assert.rejects(
      broker.publish({ topic: 't', payload: 'x', properties: poisoned }),
      (e: unknown) => e instanceof BrokerError && e.code === 'THINGSTEAD_ERR_BROKER_MESSAGE_INVALID',
    );
    await assert.rejects(broker.publish({ topic: 't', payload: 'x', properties: { contentType: 'a\u0000b' } }), BrokerError);
    await broker.publish({ topic: 't', payload: 'x', properties: { userProperties: { k: ['1', '2'] }, contentType: 'text/plain' } });
    await broker.close();
  });

  test('a row of broker.db that is not even JSON is removed and reported; the rest loads', async () => {
    const path = join(dir, 'corrupt.sqlite');
    const p = new SqlitePersistence({ path });
    p.apply([
      { type: 'saveSession', key: 'ok', state: session('ok') },
      { type: 'saveSession', key: 'torn', state: session('torn') },
      { type: 'setRetained', message: retained('t/good') },
    ]);
    p.close();
    const raw = new Database(path);
    raw.prepare("UPDATE broker_sessions SET state = '{\"clientId\":' WHERE client_id = 'torn'").run();
    raw.close();
    const broker = new Broker({ persistence: new SqlitePersistence({ path }) });
    const errors = errorsOf(broker);
    await broker.ready;
    assert.deepEqual([...brokerInternals(broker).sessions.keys()], ['ok']);
    assert.equal(broker.stats().retained, 1);
    assert.equal(broker.stats().stateDropped, 1);
    assert.match(errors[0]?.message ?? '', /session torn/);
    await broker.close();
    const again = new Broker({ persistence: new SqlitePersistence({ path }) });
    await again.ready;
    assert.equal(again.stats().stateDropped, 0, 'removed for good');
    await again.close();
  });
});

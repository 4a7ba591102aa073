import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, brokerInternals } from './broker';
import type { BrokerHooks } from './options';
import { connected, TestClient } from './testing/test-client';

// DESIGN.md invariant 8: a session belongs to the principal that made it. Here the principal is the username
// and the authenticate hook names it as the namespace.
const byUsername: BrokerHooks = {
  authenticate: (req) => ({ ok: true, namespace: req.username ?? '' }),
};
const persistent = { clientId: 'app', clean: false, properties: { sessionExpiryInterval: 3600 } };

async function subscribed(broker: Broker, username: string, filter = 'data/#') {
  const c = await connected(broker, 5, { ...persistent, username });
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] });
  await c.next('suback');
  return c;
}

describe('session identity (namespaces from the authenticate hook)', () => {
  test('hijack: another principal with the same client id and clean start 0 does not resume the session nor get its messages', async () => {
    const broker = new Broker({ hooks: byUsername });
    const a = await subscribed(broker, 'tenant-a');
    a.send({ cmd: 'disconnect', reasonCode: 0 });
    await a.waitClosed();
    await broker.publish({ topic: 'data/1', payload: 'secret of A', qos: 1 });

    const b = new TestClient(broker, 5);
    const ack = await b.connect({ ...persistent, username: 'tenant-b' });
    assert.equal(ack.sessionPresent, false, "B must not see A's session");
    await broker.publish({ topic: 'data/2', payload: 'live of A', qos: 1 });
    assert.deepEqual(await b.drain(), [], 'B gets neither queued nor live messages of A');
    b.send({ cmd: 'disconnect', reasonCode: 0 });
    await b.waitClosed();

    const back = new TestClient(broker, 5);
    assert.equal((await back.connect({ ...persistent, username: 'tenant-a' })).sessionPresent, true);
    const got = (await back.drain()).map((p) => (p.cmd === 'publish' ? p.payload.toString() : p.cmd));
    assert.deepEqual(got, ['secret of A', 'live of A']);
    await broker.close();
  });

  test('hijack: a clean start under another principal does not wipe the session of the same client id', async () => {
    const broker = new Broker({ hooks: byUsername });
    const a = await subscribed(broker, 'tenant-a');
    a.send({ cmd: 'disconnect', reasonCode: 0 });
    await a.waitClosed();
    const b = await connected(broker, 5, { clientId: 'app', clean: true, username: 'tenant-b' });
    b.end();
    await b.waitClosed();
    assert.equal(broker.stats().sessions, 1);
    const back = new TestClient(broker, 5);
    assert.equal((await back.connect({ ...persistent, username: 'tenant-a' })).sessionPresent, true);
    await broker.close();
  });

  test('hijack: [MQTT-3.1.4-3] takeover happens only within a namespace: the same client id elsewhere does not kick (0x8E) the online client', async () => {
    const broker = new Broker({ hooks: byUsername });
    const a = await subscribed(broker, 'tenant-a');
    const b = await connected(broker, 5, { clientId: 'app', username: 'tenant-b' });
    assert.deepEqual(await a.drain(), [], 'A is still connected and got no DISCONNECT');
    assert.equal(a.closed, false);
    assert.equal(broker.getClient('app', 'tenant-a')?.username, 'tenant-a');
    assert.equal(broker.getClient('app', 'tenant-b')?.username, 'tenant-b');
    // A second connection of the same principal still takes over [MQTT-3.1.4-3].
    const a2 = await connected(broker, 5, { ...persistent, username: 'tenant-a' });
    const disconnect = await a.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x8e);
    assert.equal(b.closed, false);
    a2.end();
    b.end();
    await broker.close();
  });

  test('No Local compares sessions, not client ids: the same client id of another principal still receives', async () => {
    const broker = new Broker({ hooks: byUsername });
    const a = await connected(broker, 5, { clientId: 'same', username: 'a' });
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 0, nl: true }] });
    await a.next('suback');
    const b = await connected(broker, 5, { clientId: 'same', username: 'b' });
    b.send({ cmd: 'publish', topic: 't', payload: 'x', qos: 0, retain: false, dup: false });
    assert.equal((await a.next('publish')).payload.toString(), 'x');
    a.send({ cmd: 'publish', topic: 't', payload: 'own', qos: 0, retain: false, dup: false });
    assert.deepEqual(await a.drain(), [], '[MQTT-3.8.3-3] not back to the publishing session');
    await broker.close();
  });

  test("a resumed session's subscriptions are authorized again; refused ones go, with what was queued for them", async () => {
    let allowed = new Set(['data/#', 'alarms/#']);
    const broker = new Broker({
      hooks: { ...byUsername, authorizeSubscribe: (_c, sub) => allowed.has(sub.topic) },
    });
    const c = await subscribed(broker, 'u', 'data/#');
    c.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'alarms/#', qos: 1 }] });
    await c.next('suback');
    c.send({ cmd: 'disconnect', reasonCode: 0 });
    await c.waitClosed();
    await broker.publish({ topic: 'data/1', payload: 'd', qos: 1 });
    await broker.publish({ topic: 'alarms/1', payload: 'a', qos: 1 });
    allowed = new Set(['alarms/#']);

    const back = new TestClient(broker, 5);
    assert.equal((await back.connect({ ...persistent, username: 'u' })).sessionPresent, true);
    const got = (await back.drain()).map((p) => (p.cmd === 'publish' ? p.topic : p.cmd));
    assert.deepEqual(got, ['alarms/1'], 'the message for the withdrawn subscription is not delivered');
    await broker.publish({ topic: 'data/2', payload: 'd', qos: 1 });
    assert.deepEqual(await back.drain(), [], 'the refused subscription is gone');
    assert.deepEqual([...(brokerInternals(broker).sessions.get('u\u0000app')?.subscriptions.keys() ?? [])], ['alarms/#']);
    await broker.close();
  });

  test('endSessions disconnects a namespace with the reason code and, when asked, deletes its sessions and wills', async () => {
    const broker = new Broker({ hooks: byUsername });
    const a = await connected(broker, 5, { ...persistent, username: 'gone', will: { topic: 'will', payload: Buffer.from('w'), qos: 0, retain: false } });
    const watcher = await connected(broker, 5, { clientId: 'w', username: 'other' });
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will', qos: 0 }] });
    await watcher.next('suback');
    const closed = broker.endSessions((ns) => ns === 'gone', { reasonCode: 0x87, reasonString: 'revoked', deleteSessions: true });
    assert.equal(closed, 1);
    const d = await a.next('disconnect');
    assert.equal(d.reasonCode, 0x87);
    assert.equal(d.properties?.reasonString, 'revoked');
    await a.waitClosed();
    assert.deepEqual(await watcher.drain(), [], 'the will of a deleted principal is not published');
    assert.equal(brokerInternals(broker).sessions.has('gone\u0000app'), false);
    await broker.close();
  });

  test('sessions per namespace are bounded: one more is refused with CONNACK 0x97, a resumed or taken-over one is not', async () => {
    const broker = new Broker({ hooks: byUsername, limits: { maxSessionsPerPrincipal: 2 } });
    await subscribed(broker, 'u');
    const second = await connected(broker, 5, { ...persistent, clientId: 'app-2', username: 'u' });
    second.send({ cmd: 'disconnect', reasonCode: 0 });
    await second.waitClosed();
    const third = new TestClient(broker, 5);
    const refused = await third.connect({ ...persistent, clientId: 'app-3', username: 'u' });
    assert.equal(refused.reasonCode, 0x97);
    await third.waitClosed();
    const v3 = new TestClient(broker, 4);
    assert.equal((await v3.connect({ clientId: 'app-4', clean: false, username: 'u' })).returnCode, 3);
    // The same ids are fine: resuming, taking over and clean start replace, they do not add.
    assert.equal((await connected(broker, 5, { ...persistent, clientId: 'app-2', username: 'u' })).closed, false);
    assert.equal((await connected(broker, 5, { clientId: 'app', clean: true, username: 'u' })).closed, false);
    // Other principals have their own allowance.
    await connected(broker, 5, { ...persistent, clientId: 'app-3', username: 'v' });
    assert.equal(brokerInternals(broker).sessionCount('u'), 2);
    await broker.close();
  });
});

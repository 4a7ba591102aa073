import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from '../broker';
import { FakeClock } from '../testing/fake-clock';
import { connected, TestClient } from '../testing/test-client';

describe('CONNECT', () => {
  test('[MQTT-3.2.0-1] 3.1.1 and 5.0 clients on the same broker get CONNACK', async () => {
    const broker = new Broker();
    const v4 = new TestClient(broker, 4);
    assert.equal((await v4.connect({ clientId: 'a' })).returnCode, 0);
    const v5 = new TestClient(broker, 5);
    const ack = await v5.connect({ clientId: 'b' });
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.properties?.receiveMaximum, broker.limits.receiveMaximum);
    assert.equal(ack.properties.maximumPacketSize, broker.limits.maxPacketBytes);
    assert.equal(ack.properties.topicAliasMaximum, broker.limits.topicAliasMaximum);
    const v3 = new TestClient(broker, 3);
    assert.equal((await v3.connect({ clientId: 'c' })).returnCode, 0, 'MQTT 3.1 (MQIsdp) accepted');
    assert.equal(broker.stats().clientsConnected, 3);
    await broker.close();
  });

  test('[MQTT-3.1.2-2] 3.1.1: an unsupported protocol level gets return code 1 and the connection closes', async () => {
    const broker = new Broker();
    const c = new TestClient(broker, 4);
    // CONNECT with protocol name MQTT, level 6.
    c.raw([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61]);
    const ack = await c.next('connack');
    assert.equal(ack.returnCode, 1);
    await c.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.1.2-1] a wrong protocol name closes the connection', async () => {
    const broker = new Broker();
    const c = new TestClient(broker, 4);
    c.raw([0x10, 0x0d, 0x00, 0x04, 0x58, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61]);
    await c.drain();
    await c.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.1.0-1] a packet before CONNECT closes the connection', async () => {
    const broker = new Broker();
    const c = new TestClient(broker, 4);
    c.send({ cmd: 'pingreq' });
    await c.waitClosed();
    assert.equal(c.received.length, 0);
    await broker.close();
  });

  test('[MQTT-3.1.0-2] a second CONNECT is a protocol error: v5 DISCONNECT 0x82, then close', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 'twice' });
    c.send({ cmd: 'connect', clientId: 'twice', protocolVersion: 5 });
    const d = await c.next('disconnect');
    assert.equal(d.reasonCode, 0x82);
    await c.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.1.3-8] 3.1.1: an empty client id with clean session 0 is refused with return code 2', async () => {
    const broker = new Broker();
    const c = new TestClient(broker, 4);
    // mqtt-packet refuses to generate this CONNECT, so it is written by hand.
    c.raw([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]);
    const ack = await c.next('connack');
    assert.equal(ack.returnCode, 2);
    assert.equal(ack.sessionPresent, false);
    await c.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.1.3-6] 3.1.1: an empty client id with clean session 1 is accepted with a unique id', async () => {
    const broker = new Broker();
    const c = new TestClient(broker, 4);
    assert.equal((await c.connect({ clientId: '', clean: true })).returnCode, 0);
    const [client] = [...broker.clients];
    assert.ok(client !== undefined && client.id.length > 0);
    await broker.close();
  });

  test('[MQTT-3.2.2-16] v5: an empty client id gets an Assigned Client Identifier', async () => {
    const broker = new Broker();
    const c = new TestClient(broker, 5);
    const ack = await c.connect({ clientId: '', clean: true });
    assert.equal(ack.reasonCode, 0);
    const assigned = ack.properties?.assignedClientIdentifier;
    assert.ok(assigned !== undefined && broker.getClient(assigned) !== undefined);
    await broker.close();
  });

  test('[MQTT-3.1.4-3] session takeover: the old v5 connection gets DISCONNECT 0x8E', async () => {
    const broker = new Broker();
    const old = await connected(broker, 5, { clientId: 'dup' });
    const fresh = await connected(broker, 5, { clientId: 'dup' });
    assert.equal((await old.next('disconnect')).reasonCode, 0x8e);
    await old.waitClosed();
    assert.equal(fresh.closed, false);
    assert.equal(broker.stats().clientsConnected, 1);
    await broker.close();
  });

  test('[MQTT-3.1.4-2] 3.1.1 session takeover closes the existing connection', async () => {
    const broker = new Broker();
    const old = await connected(broker, 4, { clientId: 'dup' });
    await connected(broker, 4, { clientId: 'dup' });
    await old.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.2.2-7] authenticate hook refusal: v5 reason code and reason string, then close', async () => {
    const broker = new Broker({
      hooks: { authenticate: (r) => (r.username === 'ok' ? { ok: true, user: { name: 'ok' } } : { ok: false, reasonCode: 0x86, reasonString: 'nope' }) },
    });
    const bad = new TestClient(broker, 5);
    const ack = await bad.connect({ clientId: 'x', username: 'bad', password: Buffer.from('p') });
    assert.equal(ack.reasonCode, 0x86);
    assert.equal(ack.properties?.reasonString, 'nope');
    await bad.waitClosed();
    await connected(broker, 5, { clientId: 'y', username: 'ok' });
    assert.deepEqual(broker.getClient('y')?.user, { name: 'ok' });
    await broker.close();
  });

  test('[MQTT-3.2.2-5] 3.1.1: v5 refusal codes map to 3.1.1 return codes (0x86 -> 4, 0x87 -> 5)', async () => {
    for (const [code, expected] of [
      [0x86, 4],
      [0x87, 5],
      [0x88, 3],
      [0x85, 2],
    ] as const) {
      const broker = new Broker({ hooks: { authenticate: () => ({ ok: false, reasonCode: code }) } });
      const c = new TestClient(broker, 4);
      assert.equal((await c.connect({ clientId: 'x' })).returnCode, expected);
      await c.waitClosed();
      await broker.close();
    }
  });

  test('[MQTT-4.12.0-1] v5: CONNECT with an authentication method is refused with 0x8C', async () => {
    const broker = new Broker();
    const c = new TestClient(broker, 5);
    const ack = await c.connect({ clientId: 'x', properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    assert.equal(ack.reasonCode, 0x8c);
    await broker.close();
  });

  test('MQTT §3.1.4 (3.1.1 and 5.0): no CONNECT within the connect timeout closes the connection', async () => {
    const clock = new FakeClock();
    const broker = new Broker({ clock, limits: { connectTimeoutMs: 1000 } });
    const c = new TestClient(broker, 4);
    clock.advance(999);
    await c.drain(5);
    assert.equal(c.closed, false);
    clock.advance(2);
    await c.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.1.2-24] 3.1.1 keep-alive: silence for 1.5 x Keep Alive closes the connection', async () => {
    const clock = new FakeClock();
    const broker = new Broker({ clock });
    const c = await connected(broker, 4, { clientId: 'ka', keepalive: 10 });
    clock.advance(14_000);
    await c.drain(5);
    assert.equal(c.closed, false, 'still open before 15 s');
    c.send({ cmd: 'pingreq' });
    await c.next('pingresp');
    clock.advance(14_000);
    await c.drain(5);
    assert.equal(c.closed, false, 'activity re-armed the keep-alive');
    clock.advance(1_001);
    await c.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.1.2-22] v5 keep-alive timeout sends DISCONNECT 0x8D', async () => {
    const clock = new FakeClock();
    const broker = new Broker({ clock });
    const c = await connected(broker, 5, { clientId: 'ka', keepalive: 2 });
    clock.advance(3_000);
    assert.equal((await c.next('disconnect')).reasonCode, 0x8d);
    await broker.close();
  });

  test('[MQTT-3.2.2-21] v5 Server Keep Alive caps a too long keep-alive', async () => {
    const broker = new Broker({ limits: { maxKeepAliveSec: 30 } });
    const c = new TestClient(broker, 5);
    const ack = await c.connect({ clientId: 'x', keepalive: 600 });
    assert.equal(ack.properties?.serverKeepAlive, 30);
    assert.equal(broker.getClient('x')?.keepAliveSec, 30);
    await broker.close();
  });

  test('[MQTT-3.12.4-1] PINGREQ is answered with PINGRESP', async () => {
    const broker = new Broker();
    const c = await connected(broker, 4, { clientId: 'p' });
    c.send({ cmd: 'pingreq' });
    await c.next('pingresp');
    await broker.close();
  });

  test('maxConnections: connections beyond the limit are closed at once', async () => {
    const broker = new Broker({ limits: { maxConnections: 1 } });
    await connected(broker, 4, { clientId: 'one' });
    const two = new TestClient(broker, 4);
    await two.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.1.3-5] [MQTT-3.1.3-8] v5: client ids up to 23 bytes are always allowed; longer than maxClientIdLength are refused (0x85)', async () => {
    const broker = new Broker({ limits: { maxClientIdLength: 23 } });
    const ok = new TestClient(broker, 5);
    assert.equal((await ok.connect({ clientId: 'x'.repeat(23) })).reasonCode, 0);
    const c = new TestClient(broker, 5);
    assert.equal((await c.connect({ clientId: 'y'.repeat(24) })).reasonCode, 0x85);
    await c.waitClosed();
    await broker.close();
  });

  test('[MQTT-3.1.3-5] maxClientIdLength below 23 is refused as a configuration error', () => {
    assert.throws(() => new Broker({ limits: { maxClientIdLength: 8 } }), /maxClientIdLength/);
  });

  test('client and clientDisconnect events fire with the reason', async () => {
    const broker = new Broker();
    const events: string[] = [];
    broker.on('client', (c) => events.push(`up ${c.id}`));
    broker.on('clientDisconnect', (c, r) => events.push(`down ${c.id} ${r.reasonCode} ${r.byClient}`));
    const c = await connected(broker, 5, { clientId: 'ev' });
    c.send({ cmd: 'disconnect', reasonCode: 0 });
    await c.waitClosed();
    assert.deepEqual(events, ['up ev', 'down ev 0 true']);
    await broker.close();
  });

  test('client.disconnect(reasonCode) sends a v5 DISCONNECT with that code', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 'kick' });
    broker.getClient('kick')?.disconnect(0x98, 'bye');
    const d = await c.next('disconnect');
    assert.equal(d.reasonCode, 0x98);
    assert.equal(d.properties?.reasonString, 'bye');
    await broker.close();
  });

  test('Paho test_server_keep_alive, [MQTT-3.2.2-21]: with maxKeepAliveSec 60, keep-alive 120 gets Server Keep Alive 60 and the connection is held to it', async () => {
    const clock = new FakeClock();
    const broker = new Broker({ clock, limits: { maxKeepAliveSec: 60 } });
    const c = new TestClient(broker, 5);
    assert.equal((await c.connect({ clientId: 'ka', keepalive: 120 })).properties?.serverKeepAlive, 60);
    clock.advance(89_000);
    await c.drain(5);
    assert.equal(c.closed, false);
    clock.advance(1_001);
    assert.equal((await c.next('disconnect')).reasonCode, 0x8d);
    await broker.close();
  });

  test('[MQTT-3.2.2-21] v5 keep-alive 0 (none) gets Server Keep Alive = maxKeepAliveSec; a shorter one is kept and not answered; limits above 65535 are refused', async () => {
    const broker = new Broker({ limits: { maxKeepAliveSec: 60 } });
    assert.equal((await new TestClient(broker, 5).connect({ clientId: 'zero', keepalive: 0 })).properties?.serverKeepAlive, 60);
    assert.equal(broker.getClient('zero')?.keepAliveSec, 60);
    assert.equal((await new TestClient(broker, 5).connect({ clientId: 'short', keepalive: 30 })).properties?.serverKeepAlive, undefined);
    assert.equal(broker.getClient('short')?.keepAliveSec, 30);
    await new TestClient(broker, 4).connect({ clientId: 'v4', keepalive: 600 });
    assert.equal(broker.getClient('v4')?.keepAliveSec, 600, '3.1.1 cannot be told');
    assert.throws(() => new Broker({ limits: { maxKeepAliveSec: 70_000 } }), /maxKeepAliveSec/);
    await broker.close();
  });
});

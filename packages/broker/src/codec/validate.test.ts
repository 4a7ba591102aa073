import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from '../broker';
import { connected, TestClient } from '../testing/test-client';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Sends `bytes` after a valid CONNECT and returns what the broker answered before it closed the connection. */
async function refusal(broker: Broker, version: 4 | 5, bytes: Buffer): Promise<number | 'closed'> {
  const c = await connected(broker, version, { clientId: `bad-${version}` });
  c.raw(bytes);
  await c.waitClosed();
  const p = c.received.shift();
  if (p === undefined) return 'closed';
  assert.equal(p.cmd, 'disconnect', `expected DISCONNECT, got ${JSON.stringify(p)}`);
  return p.reasonCode ?? 0;
}

/** A v5 subscriber to '#' that must see nothing of the refused packets and stay connected. */
async function bystander(broker: Broker): Promise<TestClient> {
  const sub = await connected(broker, 5, { clientId: 'bystander' });
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
  await sub.next('suback');
  return sub;
}

async function stillServing(broker: Broker, sub: TestClient): Promise<void> {
  assert.deepEqual(await sub.drain(), [], 'the bystander got nothing');
  sub.send({ cmd: 'pingreq' });
  await sub.next('pingresp');
  assert.equal(broker.stats().clientErrors, 0, 'validation refused it; no exception had to be contained');
}

// [bytes after CONNECT, v5 DISCONNECT code] (3.1.1 clients are just disconnected).
const afterConnect: [string, string, number][] = [
  ['issue 6: PUBREC `50 00` without a packet identifier (mqtt-packet yields id -1) is malformed', '50 00', 0x81],
  ['issue 6: PUBREL `62 00` without a packet identifier is malformed', '62 00', 0x81],
  ['PUBACK and PUBCOMP without a packet identifier are malformed', '40 00 70 00', 0x81],
  ['PUBACK of Remaining Length 1 (half a packet identifier) is malformed', '40 01 00', 0x81],
  ['[MQTT-2.2.1-5] PUBACK with packet identifier 0 is a protocol error', '40 02 00 00', 0x82],
  ['[MQTT-2.2.1-5] PUBREL with packet identifier 0 is a protocol error', '62 02 00 00', 0x82],
  ['[MQTT-2.2.1-3] SUBSCRIBE with packet identifier 0 is a protocol error', '82 07 0000 00 0001 74 00', 0x82],
  ['[MQTT-2.2.1-3] UNSUBSCRIBE with packet identifier 0 is a protocol error', 'a2 06 0000 00 0001 74', 0x82],
];

describe('codec boundary: every field mqtt-packet hands over is checked first', () => {
  for (const [title, bytes, code] of afterConnect) {
    test(`${title} (v5 DISCONNECT 0x${code.toString(16)}, 3.1.1 close); the broker and other clients carry on`, async () => {
      const broker = new Broker();
      const sub = await bystander(broker);
      assert.equal(await refusal(broker, 5, hex(bytes)), code);
      // 3.1.1 has no packet identifier 0 rule for acks of its own; it shares [MQTT-2.3.1-1] for SUBSCRIBE/UNSUBSCRIBE.
      const v4 = bytes.replace(/^82 07 0000 00/, '82 06 0000').replace(/^a2 06 0000 00/, 'a2 05 0000');
      assert.equal(await refusal(broker, 4, hex(v4)), 'closed');
      await stillServing(broker, sub);
      await broker.close();
    });
  }

  test('issue 6: a PUBLISH whose user property value length overruns the packet is malformed (0x81): not routed, not retained', async () => {
    const broker = new Broker();
    const sub = await bystander(broker);
    // `300c000174062600016bffff6869`: user property "k" whose value claims 65535 bytes.
    assert.equal(await refusal(broker, 5, hex('300c000174062600016bffff6869')), 0x81);
    assert.equal(await refusal(broker, 5, hex('310c000174062600016bffff6869')), 0x81);
    assert.equal(broker.stats().retained, 0);
    await stillServing(broker, sub);
    await broker.close();
  });

  const v5Publish: [string, string, number][] = [
    ['v5 §3.3.2.3.4: a duplicate Content Type is a protocol error', '30 0d 0001 74 08 03 0001 61 03 0001 62 78', 0x82],
    ['v5 §3.3.2.3.4: a duplicate Topic Alias is a protocol error', '30 0b 0001 74 06 23 0001 23 0001 78', 0x82],
    ['[MQTT-2.2.2-2] Session Expiry Interval is not a PUBLISH property: malformed', '30 0a 0001 74 05 11 00000005 78', 0x81],
    ['[MQTT-2.2.2-2] an unknown property identifier is malformed', '30 07 0001 74 02 7f 00 78', 0x81],
    ['[MQTT-3.3.4-6] a Subscription Identifier in a client PUBLISH is a protocol error', '30 07 0001 74 02 0b 01 78', 0x82],
    ['a property value that runs past the property length is malformed', '30 0c 0001 74 03 03 0005 6162636465', 0x81],
    ['a property length that runs past the packet is malformed', '30 06 0001 74 7f 03 00', 0x81],
    ['v5 §3.3.2.3.2: Payload Format Indicator 2 is a protocol error', '30 07 0001 74 02 01 02 78', 0x82],
    ['[MQTT-3.3.2-14] a wildcard in the Response Topic is a protocol error', '30 0b 0001 74 06 08 0003 612f23 78', 0x82],
    ['[MQTT-1.5.4-1] ill-formed UTF-8 in a user property value is malformed', '30 0d 0001 74 08 26 0001 6b 0002 c328 78', 0x81],
    ['[MQTT-1.5.4-2] U+0000 in a user property name is malformed', '30 0c 0001 74 07 26 0001 00 0001 76 78', 0x81],
  ];
  for (const [title, bytes, code] of v5Publish) {
    test(`PUBLISH: ${title}`, async () => {
      const broker = new Broker();
      const sub = await bystander(broker);
      assert.equal(await refusal(broker, 5, hex(bytes)), code);
      await stillServing(broker, sub);
      await broker.close();
    });
  }

  const v5Other: [string, string, number][] = [
    ['v5 §3.4.2.1: PUBACK reason code 0x05 is not a PUBACK code: protocol error', '40 03 0001 05', 0x82],
    ['v5 §3.6.2.1: PUBREL reason code 0x10 is not a PUBREL code: protocol error', '62 03 0001 10', 0x82],
    ['[MQTT-2.2.1-5] PUBREC with reason code and packet identifier 0 is a protocol error', '50 03 0000 00', 0x82],
    ['PUBACK properties that overrun the packet are malformed', '40 05 0001 00 05 1f', 0x81],
    ['[MQTT-2.2.2-2] Topic Alias is not a PUBACK property: malformed', '40 07 0001 00 03 230001', 0x81],
    ['PUBACK with bytes after its properties is malformed', '40 05 0001 00 00 ff', 0x81],
    ['v5 §3.8.3.1: Retain Handling 3 is a protocol error', '82 07 0001 00 0001 74 30', 0x82],
    ['v5 §3.8.3.1: a subscription with QoS 3 is a protocol error', '82 07 0001 00 0001 74 03', 0x82],
    ['[MQTT-3.8.3-5] reserved subscription option bits are malformed', '82 07 0001 00 0001 74 40', 0x81],
    ['v5 §3.8.2.1.2: a duplicate Subscription Identifier is a protocol error', '82 0b 0001 04 0b01 0b02 0001 74 00', 0x82],
    ['[MQTT-3.8.3-2] SUBSCRIBE without a filter is a protocol error', '82 03 0001 00', 0x82],
    ['[MQTT-3.10.3-2] UNSUBSCRIBE without a filter is a protocol error', 'a2 03 0001 00', 0x82],
    ['v5 §3.14.2.1: DISCONNECT reason code 0x05 is a protocol error', 'e0 01 05', 0x82],
    ['v5 §3.15: AUTH of Remaining Length 0 (reason Success) is a protocol error here, not malformed: no enhanced authentication', 'f0 00', 0x82],
  ];
  for (const [title, bytes, code] of v5Other) {
    test(title, async () => {
      const broker = new Broker();
      const sub = await bystander(broker);
      assert.equal(await refusal(broker, 5, hex(bytes)), code);
      await stillServing(broker, sub);
      await broker.close();
    });
  }

  test('3.1.1 §3.4.1 / §3.14.1: PUBACK of Remaining Length 3 and DISCONNECT with a body are malformed: the connection is closed', async () => {
    const broker = new Broker();
    assert.equal(await refusal(broker, 4, hex('40 03 0001 00')), 'closed');
    assert.equal(await refusal(broker, 4, hex('e0 01 00')), 'closed');
    await broker.close();
  });

  test('valid v5 forms pass: PUBACK with reason code, Reason String and user properties; a repeated user property key', async () => {
    const broker = new Broker();
    const sub = await bystander(broker);
    const c = await connected(broker, 5, { clientId: 'good' });
    c.send({ cmd: 'puback', messageId: 9, reasonCode: 0x10, properties: { reasonString: 'none', userProperties: { a: ['1', '2'] } } });
    c.send({ cmd: 'pubrec', messageId: 9, reasonCode: 0x80 });
    c.send({
      cmd: 'publish',
      topic: 'u',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { userProperties: { k: ['1', '2'] }, contentType: 'text/plain' },
    });
    const p = await sub.next('publish');
    assert.deepEqual({ ...p.properties?.userProperties }, { k: ['1', '2'] });
    // The unknown PUBREC is answered (v5 §4.3.3), not refused.
    assert.equal((await c.next('pubrel')).reasonCode, 0x92);
    c.send({ cmd: 'pingreq' });
    await c.next('pingresp');
    await broker.close();
  });
});

// A CONNECT with a bad field: v5 gets CONNACK with the code [MQTT-4.13.1-1], 3.1.1 is closed.
const connects: [string, 4 | 5, string, number | 'closed'][] = [
  ['v5 §3.1.2.11.2: a duplicate Session Expiry Interval is a protocol error', 5, '10 18 0004 4d515454 05 02 0000 0a 1100000001 1100000002 0001 63', 0x82],
  ['[MQTT-2.2.2-2] Topic Alias is not a CONNECT property: malformed', 5, '10 11 0004 4d515454 05 02 0000 03 230001 0001 63', 0x81],
  ['[MQTT-3.1.2-12] will QoS 3 is malformed', 5, '10 14 0004 4d515454 05 1e 0000 00 0001 63 00 0001 77 0000', 0x81],
  ['v5 §3.1.2.11.3: Receive Maximum 0 is a protocol error', 5, '10 11 0004 4d515454 05 02 0000 03 210000 0001 63', 0x82],
  ['[MQTT-1.5.4-2] U+0000 in the client identifier is malformed', 5, '10 0e 0004 4d515454 05 02 0000 00 0001 00', 0x81],
  ['3.1.1 [MQTT-3.1.2-22] a password without a user name is malformed', 4, '10 10 0004 4d515454 04 42 0000 0001 63 0001 70', 'closed'],
  ['3.1.1 [MQTT-3.1.2-14] will QoS 3 is malformed', 4, '10 12 0004 4d515454 04 1e 0000 0001 63 0001 77 0000', 'closed'],
  ['CONNECT with bytes after its payload is malformed', 4, '10 0e 0004 4d515454 04 02 0000 0001 63 ff', 'closed'],
];

describe('codec boundary: CONNECT', () => {
  for (const [title, version, bytes, expected] of connects) {
    test(title, async () => {
      const broker = new Broker();
      const c = new TestClient(broker, version);
      c.raw(hex(bytes));
      await c.waitClosed();
      const got = c.received.shift();
      if (expected === 'closed') assert.equal(got, undefined);
      else assert.deepEqual(got?.cmd === 'connack' ? got.reasonCode : got, expected);
      assert.equal(broker.stats().sessions, 0);
      await broker.close();
    });
  }

  test('[MQTT-3.1.0-2] a second CONNECT still gets DISCONNECT 0x82, not a CONNACK', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 'twice' });
    c.send({ cmd: 'connect', clientId: 'twice', protocolVersion: 5, protocolId: 'MQTT', clean: true, keepalive: 0 });
    assert.equal((await c.next('disconnect')).reasonCode, 0x82);
    await broker.close();
  });
});

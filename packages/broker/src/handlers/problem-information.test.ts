import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from 'mqtt-packet';
import { Broker } from '../broker';
import { connected } from '../testing/test-client';

// [MQTT-3.1.2-29]: with Request Problem Information 0 the server MUST NOT send a Reason String
// or User Properties on any packet other than PUBLISH, CONNACK or DISCONNECT. Every packet the
// broker sends with a reason code (audited: PUBACK and PUBREC refusals from authorizePublish,
// onPublish verdicts and rejections, SUBACK refusals, PUBREL/PUBCOMP 0x92) is checked both ways.

function brokerWithRefusals(): Broker {
  return new Broker({
    hooks: {
      authorizePublish: (_c, p) => !p.topic.startsWith('denied'),
      authorizeSubscribe: (_c, s) => s.topic !== 'denied',
      onPublish: async (_c, p) => {
        if (p.topic === 'invalid') return { reasonCode: 0x99, reasonString: 'payload is not JSON' };
        if (p.topic === 'throws') throw new Error('store failed');
        return undefined;
      },
    },
  });
}

async function replies(rpi: boolean | undefined): Promise<Packet[]> {
  const broker = brokerWithRefusals();
  const c = await connected(broker, 5, { clientId: `rpi-${String(rpi)}`, ...(rpi === undefined ? {} : { properties: { requestProblemInformation: rpi } }) });
  const out: Packet[] = [];
  const publish = (topic: string, qos: 1 | 2, messageId: number) => {
    c.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos, messageId, retain: false, dup: false });
  };
  publish('denied/a', 1, 1);
  out.push(await c.next('puback'));
  publish('denied/b', 2, 2);
  out.push(await c.next('pubrec'));
  publish('invalid', 1, 3);
  out.push(await c.next('puback'));
  publish('throws', 1, 4);
  out.push(await c.next('puback'));
  c.send({
    cmd: 'subscribe',
    messageId: 5,
    subscriptions: [
      { topic: 'denied', qos: 0 },
      { topic: 'ok', qos: 0 },
    ],
  });
  out.push(await c.next('suback'));
  c.send({ cmd: 'pubrec', messageId: 77 });
  out.push(await c.next('pubrel'));
  c.send({ cmd: 'pubrel', messageId: 78 });
  out.push(await c.next('pubcomp'));
  await broker.close();
  return out;
}

const problemProperties = (p: Packet) => {
  const props = (p as { properties?: { reasonString?: string; userProperties?: unknown } }).properties;
  return [p.cmd, props?.reasonString !== undefined || props?.userProperties !== undefined];
};

describe('Request Problem Information', () => {
  test('[MQTT-3.1.2-29] Request Problem Information 0: no Reason String or User Properties on PUBACK, PUBREC, SUBACK, PUBREL, PUBCOMP', async () => {
    const got = await replies(false);
    assert.deepEqual(
      got.map((p) => (p as { reasonCode?: number }).reasonCode ?? (p.cmd === 'suback' ? p.granted : undefined)),
      [0x87, 0x87, 0x99, 0x80, [0x87, 0], 0x92, 0x92],
    );
    assert.deepEqual(got.map(problemProperties), [
      ['puback', false],
      ['pubrec', false],
      ['puback', false],
      ['puback', false],
      ['suback', false],
      ['pubrel', false],
      ['pubcomp', false],
    ]);
  });

  test('v5 §3.1.2.11.7: Request Problem Information 1 (and absent: default 1) gets the Reason Strings of refusals', async () => {
    for (const rpi of [true, undefined]) {
      const got = await replies(rpi);
      assert.deepEqual(got.map(problemProperties), [
        ['puback', true],
        ['pubrec', true],
        ['puback', true],
        ['puback', true],
        ['suback', true],
        ['pubrel', false],
        ['pubcomp', false],
      ]);
    }
  });

  test('[MQTT-3.1.2-29] Request Problem Information 0: the DISCONNECT of a protocol error carries no Reason String either (allowed, but not asked for)', async () => {
    const broker = new Broker();
    const c = await connected(broker, 5, { clientId: 'd', properties: { requestProblemInformation: false } });
    c.raw([0x40, 0x02, 0x00, 0x00]);
    const d = await c.next('disconnect');
    assert.equal(d.reasonCode, 0x82);
    assert.equal(d.properties?.reasonString, undefined);
    await broker.close();
  });
});

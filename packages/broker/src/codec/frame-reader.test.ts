import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Packet } from 'mqtt-packet';
import mqttPacket from 'mqtt-packet';
import { Broker } from '../broker';
import { connected, TestClient } from '../testing/test-client';
import { FrameReader } from './frame-reader';

function reader(maxPacketSize = 1024) {
  const packets: Packet[] = [];
  const errors: number[] = [];
  const r = new FrameReader({ onPacket: (p) => packets.push(p), onFrameError: (code) => errors.push(code) }, maxPacketSize);
  return { r, packets, errors };
}

describe('frame reader and bad input', () => {
  test('packets split across chunks at every byte boundary are reassembled', () => {
    const connect = mqttPacket.generate({ cmd: 'connect', clientId: 'abc', protocolVersion: 4 });
    const publish = mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(300, 7), qos: 1, messageId: 4, retain: false, dup: false });
    const all = Buffer.concat([connect, publish, publish]);
    for (let cut = 1; cut < all.length; cut += 7) {
      const { r, packets, errors } = reader();
      r.push(all.subarray(0, cut));
      r.push(all.subarray(cut));
      assert.deepEqual(errors, []);
      assert.deepEqual(
        packets.map((p) => p.cmd),
        ['connect', 'publish', 'publish'],
      );
    }
  });

  test('[MQTT-3.2.2-15] v5: a Remaining Length above the maximum packet size is refused from the fixed header, before buffering', () => {
    const { r, packets, errors } = reader(1024);
    // PUBLISH announcing 268,435,455 bytes (the maximum encodable), followed by 3 bytes only.
    r.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01, 0x61]));
    assert.deepEqual(errors, [0x95]);
    assert.deepEqual(packets, []);
  });

  test('MQTT 5.0 §1.5.5 / 3.1.1 §2.2.3: a variable byte integer longer than 4 bytes is malformed', () => {
    const { r, errors } = reader(1 << 30);
    r.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.deepEqual(errors, [0x81]);
  });

  test('[MQTT-2.1.3-1] (v5) [MQTT-2.2.2-2] (3.1.1): reserved flag bits set wrong are malformed and close the connection', () => {
    for (const header of [0x13, 0x41, 0x60, 0x81, 0xa0, 0xc1, 0xe1]) {
      const { r, errors } = reader();
      r.push(Buffer.from([header, 0x02, 0x00, 0x01]));
      assert.deepEqual(errors, [0x81], `header 0x${header.toString(16)}`);
    }
  });

  test('packet types a client never sends (CONNACK, SUBACK, reserved 0) are malformed', () => {
    for (const header of [0x00, 0x20, 0x90, 0xb0, 0xd0]) {
      const { r, errors } = reader();
      r.push(Buffer.from([header, 0x02, 0x00, 0x01]));
      assert.deepEqual(errors, [0x81]);
    }
  });

  test('[MQTT-3.3.1-2] DUP set on a QoS 0 PUBLISH is malformed', () => {
    const { r, errors } = reader();
    r.push(Buffer.from([0x38, 0x04, 0x00, 0x01, 0x61, 0x78]));
    assert.deepEqual(errors, [0x81]);
  });

  test('[MQTT-1.5.3-1] 3.1.1: ill-formed UTF-8 in a SUBSCRIBE filter or CONNECT client id is malformed', () => {
    const sub = reader();
    sub.r.protocolVersion = 4;
    sub.r.push(Buffer.from([0x82, 0x07, 0x00, 0x01, 0x00, 0x02, 0xc3, 0x28, 0x00]));
    assert.deepEqual(sub.errors, [0x81]);
    const con = reader();
    con.r.push(Buffer.from([0x10, 0x0e, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00, 0x00, 0x02, 0xff, 0xfe]));
    assert.deepEqual(con.errors, [0x81]);
  });

  test('[MQTT-3.2.2-15] v5: an oversize packet after CONNECT gets DISCONNECT 0x95', async () => {
    const broker = new Broker({ limits: { maxPacketBytes: 128 } });
    const c = await connected(broker, 5, { clientId: 'big' });
    c.send({ cmd: 'publish', topic: 'a', payload: Buffer.alloc(200), qos: 0, retain: false, dup: false });
    assert.equal((await c.next('disconnect')).reasonCode, 0x95);
    await c.waitClosed();
    await broker.close();
  });

  test('garbage bytes never crash the broker; it keeps serving other clients', async () => {
    const broker = new Broker({ limits: { maxPacketBytes: 4096 } });
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 200; i++) {
      const c = new TestClient(broker, 4);
      if (i % 2 === 0) c.send({ cmd: 'connect', clientId: `g${i}`, protocolVersion: 4 });
      const junk = Buffer.alloc(1 + (rand() % 64));
      for (let k = 0; k < junk.length; k++) junk[k] = rand() & 0xff;
      c.raw(junk);
      c.end();
    }
    await new Promise((r) => setTimeout(r, 50));
    const ok = await connected(broker, 5, { clientId: 'still-alive' });
    ok.send({ cmd: 'pingreq' });
    await ok.next('pingresp');
    await broker.close();
  });
});

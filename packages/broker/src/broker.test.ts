import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqttPacket from 'mqtt-packet';
import mqtt from 'mqtt';
import { Broker } from './broker';
import { listenTcp } from './listeners';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function rawClient(port: number, id: string): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  s.on('error', () => undefined);
  s.write(mqttPacket.generate({ cmd: 'connect', clientId: id, protocolVersion: 4, clean: true, keepalive: 0 }));
  await new Promise((resolve) => s.once('data', resolve));
  return s;
}

async function roundTrip(url: string): Promise<number> {
  const started = Date.now();
  const c = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
  await c.subscribeAsync('probe', { qos: 1 });
  const got = new Promise((resolve) => c.on('message', resolve));
  await c.publishAsync('probe', 'x', { qos: 1 });
  await got;
  await c.endAsync();
  return Date.now() - started;
}

const FLOOD_MS = 5000;

describe('broker under load', () => {
  test('flood: 4 clients send QoS 0 as fast as they can for 5 s; the broker stays responsive and memory returns near its start', async () => {
    const broker = new Broker({ limits: { maxQueuedMessages: 1000 } });
    const listener = await listenTcp(broker, { port: 0, host: '127.0.0.1' });
    const url = `mqtt://127.0.0.1:${listener.port}`;
    const baseline = heapAfterGc();

    // One subscriber reads everything, one never reads: neither may make memory grow without bound.
    const reader = await rawClient(listener.port, 'reader');
    reader.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos: 0 }] }));
    reader.on('data', () => undefined);
    const stuck = await rawClient(listener.port, 'stuck');
    stuck.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos: 0 }] }));
    stuck.pause();

    let running = true;
    const batch = Buffer.concat(
      Array.from({ length: 256 }, (_, i) =>
        mqttPacket.generate({ cmd: 'publish', topic: `flood/${i % 4}`, payload: Buffer.alloc(64, i), qos: 0, retain: false, dup: false }),
      ),
    );
    const publishers = await Promise.all([0, 1, 2, 3].map((i) => rawClient(listener.port, `flood-${i}`)));
    const pumps = publishers.map(async (s) => {
      while (running) {
        if (!s.write(batch)) await new Promise((resolve) => s.once('drain', resolve));
        else await new Promise((resolve) => setImmediate(resolve));
      }
    });

    const floodStarted = Date.now();
    await new Promise((r) => setTimeout(r, 2500));
    const duringMs = await roundTrip(url);
    await new Promise((r) => setTimeout(r, Math.max(0, FLOOD_MS - (Date.now() - floodStarted))));
    running = false;
    await Promise.all(pumps);
    for (const s of [...publishers, reader, stuck]) s.destroy();
    await new Promise((r) => setTimeout(r, 200));

    const stats = broker.stats();
    assert.ok(stats.messagesIn > 50_000, `messages in: ${stats.messagesIn}`);
    assert.ok(stats.messagesDropped > 0, 'the stuck subscriber had messages dropped, not buffered');
    assert.ok(duringMs < 3000, `round trip during the flood took ${duringMs} ms`);
    assert.ok((await roundTrip(url)) < 1000, 'responsive after the flood');
    const growth = heapAfterGc() - baseline;
    assert.ok(growth < 16 * 1024 * 1024, `heap grew by ${(growth / 1048576).toFixed(1)} MiB`);
    const closed = listener.close();
    await broker.close();
    await closed;
  });

  test('stats() counts clients, subscriptions, retained messages and bytes', async () => {
    const broker = new Broker();
    await broker.publish({ topic: 'r', payload: 'x', retain: true });
    const s = broker.stats();
    assert.equal(s.retained, 1);
    assert.equal(s.messagesIn, 1);
    assert.equal(s.clientsConnected, 0);
    await broker.close();
    await assert.rejects(broker.publish({ topic: 'r', payload: 'x' }), { code: 'THINGSTEAD_ERR_BROKER_CLOSED' });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic } from '../../packages/server/src/transports/mqtt/topics';
import { startHarness, type Harness } from './harness';

/** Every device uses the same ThingsBoard topic names; inside the broker each has its own (mount point, ADR 0005). */
describe('per-device topic spaces', () => {
  let h: Harness;
  let token: string;
  const clients: MqttClient[] = [];
  const device = (name: string) => h.createDevice(token, name);
  const connect = async (username: string, protocolVersion: 4 | 5, clientId: string) => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.app.mqttPorts?.tcp ?? 0}`, { username, protocolVersion, clientId, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  };
  const received = (c: MqttClient) => {
    const got: { topic: string; payload: string }[] = [];
    c.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
    return got;
  };
  const settle = () => new Promise((r) => setTimeout(r, 150));

  before(async () => {
    h = await startHarness();
    token = await h.login();
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await h.stop();
  });

  test('two devices on identical filters (3.1.1 and 5) each get only what is published for them, under their own names', async () => {
    const [a, b] = [await device('topics-a'), await device('topics-b')];
    const ca = await connect(a.accessToken, 4, 'same-client-id');
    const cb = await connect(b.accessToken, 5, 'same-client-id');
    for (const c of [ca, cb]) await c.subscribeAsync(['v1/devices/me/attributes', 'v1/devices/me/rpc/request/+'], { qos: 1 });
    const [gotA, gotB] = [received(ca), received(cb)];
    const broker = h.app.broker;
    assert.ok(broker);
    await broker.publish({ topic: deviceTopic(a.id, 'v1/devices/me/rpc/request/7'), payload: Buffer.from('{"method":"reboot"}'), qos: 1 });
    await broker.publish({ topic: deviceTopic(b.id, 'v1/devices/me/attributes'), payload: Buffer.from('{"fan":"on"}'), qos: 1 });
    await settle();
    assert.deepEqual(gotA, [{ topic: 'v1/devices/me/rpc/request/7', payload: '{"method":"reboot"}' }]);
    assert.deepEqual(gotB, [{ topic: 'v1/devices/me/attributes', payload: '{"fan":"on"}' }]);
  });

  test('a message for an offline device with a persistent session is queued and delivered when it returns', async () => {
    const d = await device('topics-offline');
    const c = await connect(d.accessToken, 5, 'offline-dev');
    c.end(true);
    const url = `mqtt://127.0.0.1:${h.app.mqttPorts?.tcp ?? 0}`;
    const persistentSession = {
      username: d.accessToken,
      protocolVersion: 5,
      clientId: 'offline-dev',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      reconnectPeriod: 0,
    } as const;
    const persistent = await mqtt.connectAsync(url, persistentSession);
    await persistent.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
    await persistent.endAsync();
    await h.app.broker?.publish({ topic: deviceTopic(d.id, 'v1/devices/me/rpc/request/1'), payload: Buffer.from('{"method":"ping"}'), qos: 1 });
    const back = mqtt.connect(url, persistentSession);
    clients.push(back);
    const [topic, payload] = await new Promise<[string, Buffer]>((resolve) =>
      back.once('message', (t, p) => {
        resolve([t, p]);
      }),
    );
    assert.equal(topic, 'v1/devices/me/rpc/request/1');
    assert.equal(payload.toString(), '{"method":"ping"}');
  });

  test("a device's raw telemetry is consumed: acknowledged, stored, not routed and never kept as retained", async () => {
    const d = await device('topics-raw');
    const c = await connect(d.accessToken, 5, 'raw-dev');
    const before = h.app.broker?.stats();
    await c.publishAsync('v1/devices/me/telemetry', '{"t":1}', { qos: 1, retain: true });
    const after = h.app.broker?.stats();
    assert.equal(after?.retained, before?.retained, 'no retained message was stored');
    assert.equal(after?.messagesOut, before?.messagesOut, 'nothing was sent to anyone');
    const latest = await h.call('GET', `/api/devices/${d.id}/telemetry/latest?keys=t`, { token });
    assert.equal((latest.body as { data: { t: { value: number } } }).data.t.value, 1);
  });
});

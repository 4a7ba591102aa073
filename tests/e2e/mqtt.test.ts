import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startHarness, type Harness } from './harness';

const run = promisify(execFile);

/** MQTT as the device transport, with real clients: mqtt.js (3.1.1 and 5) and mosquitto_pub/sub. */
describe('MQTT device transport', () => {
  let h: Harness;
  let token: string;
  let deviceId: string;
  let deviceToken: string;
  let port: number;
  const clients: MqttClient[] = [];

  const connect = async (o: IClientOptions): Promise<MqttClient> => {
    const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, ...o });
    clients.push(c);
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => {
        resolve();
      });
      c.once('error', reject);
    });
    return c;
  };
  const refusal = (o: IClientOptions): Promise<{ code: number | undefined }> =>
    new Promise((resolve) => {
      const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, ...o });
      clients.push(c);
      c.once('connect', () => {
        resolve({ code: 0 });
      });
      c.once('error', (e: Error & { code?: number }) => {
        resolve({ code: e.code });
      });
    });
  /** mqtt.js rejects a v5 refusal; a 3.1.1 refusal is a granted QoS of 0x80. */
  const subscribeRefused = async (c: MqttClient, filter: string): Promise<boolean> => {
    try {
      const granted = await c.subscribeAsync(filter, { qos: 1 });
      return granted[0]!.qos >= 0x80;
    } catch {
      return true;
    }
  };
  const latest = async (key: string) => (await h.call('GET', `/api/devices/${deviceId}/telemetry/latest?keys=${key}`, { token })).body.data[key];

  before(async () => {
    h = await startHarness();
    port = h.app.mqttPorts!.tcp;
    token = await h.login();
    deviceId = (await h.call('POST', '/api/devices', { token, body: { name: 'mqtt-sensor' } })).body.id;
    deviceToken = (await h.call('GET', `/api/devices/${deviceId}/credentials`, { token })).body.accessToken;
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await h.stop();
  });

  test('mqtt.js 3.1.1: the access token as username; telemetry is in the REST API once PUBACK arrives', async () => {
    const c = await connect({ protocolVersion: 4, username: deviceToken, clientId: 'dev-v4' });
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ v4temp: 21.5 }), { qos: 1 });
    assert.equal((await latest('v4temp')).value, 21.5);
    const conn = await h.call('GET', `/api/devices/${deviceId}/connectivity`, { token });
    assert.equal(conn.body.connected, true);
    assert.ok(conn.body.lastConnectAt > 0);
    await c.endAsync();
  });

  test('mqtt.js 5: QoS 2 telemetry in the {ts, values} form; a malformed payload gets PUBACK 0x99 and nothing is stored', async () => {
    const c = await connect({ protocolVersion: 5, username: deviceToken, clientId: 'dev-v5' });
    const ts = Date.now() - 1000;
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ ts, values: { v5hum: 40 } }), { qos: 2 });
    assert.deepEqual(await latest('v5hum'), { ts, value: 40 });
    await assert.rejects(c.publishAsync('v1/devices/me/telemetry', '{"broken":', { qos: 1 }), (e: Error & { code?: number }) => e.code === 0x99);
    await assert.rejects(
      c.publishAsync('v1/devices/me/telemetry', JSON.stringify([{ ok: 1 }, { bad: null }]), { qos: 1 }),
      (e: Error & { code?: number }) => e.code === 0x99,
    );
    assert.equal(await latest('ok'), undefined, 'nothing of the refused message is stored');
    await c.endAsync();
  });

  test('mqtt.js 3.1.1: a malformed payload closes the connection without an ack', async () => {
    const c = await connect({ protocolVersion: 4, username: deviceToken, clientId: 'dev-v4-bad' });
    const closed = new Promise<void>((resolve) =>
      c.once('close', () => {
        resolve();
      }),
    );
    c.publish('v1/devices/me/telemetry', 'not json', { qos: 1 });
    await closed;
    assert.equal(await latest('not'), undefined);
  });

  test('wrong credentials are refused: 3.1.1 return code 5, v5 reason 0x87; nothing is stored', async () => {
    assert.equal((await refusal({ protocolVersion: 4, username: 'not-a-real-token-xxxxxxxx', clientId: 'bad4' })).code, 5);
    assert.equal((await refusal({ protocolVersion: 5, username: 'not-a-real-token-xxxxxxxx', clientId: 'bad5' })).code, 0x87);
    assert.equal((await refusal({ protocolVersion: 5, clientId: 'anonymous' })).code, 0x87);
  });

  test('devices publish and subscribe only on their own device API topics', async () => {
    const c = await connect({ protocolVersion: 5, username: deviceToken, clientId: 'dev-acl' });
    for (const filter of ['#', '+/#', '$SYS/#', 'tenants/+/devices/#', 'v1/devices/+/attributes']) {
      assert.ok(await subscribeRefused(c, filter), `${filter} must be refused`);
    }
    const v4 = await connect({ protocolVersion: 4, username: deviceToken, clientId: 'dev-acl-4' });
    assert.ok(await subscribeRefused(v4, '#'), '3.1.1 SUBACK failure code 0x80');
    await v4.endAsync();
    const ok = await c.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
    assert.equal(ok[0]!.qos, 1);
    await assert.rejects(c.publishAsync('tenants/x/devices/y/telemetry', '{}', { qos: 1 }), (e: Error & { code?: number }) => e.code === 0x87);
    await c.endAsync();
  });

  test('mosquitto_pub publishes telemetry with the token; mosquitto_sub as an application (API key) receives it', async () => {
    const key = (await h.call('POST', '/api/api-keys', { token, body: { name: 'mqtt-app' } })).body.key;
    const tenantId = (await h.call('GET', '/api/auth/me', { token })).body.user.tenantId;
    const sub = spawn('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-V',
      'mqttv311',
      '-u',
      key,
      '-t',
      `tenants/${tenantId}/devices/+/telemetry`,
      '-q',
      '1',
      '-C',
      '1',
      '-W',
      '10',
      '-i',
      'app-1',
    ]);
    let out = '';
    sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // 'close', not 'exit': the process can exit before its stdout was read to the end (the output was then empty).
    const exited = new Promise<number | null>((resolve) => sub.on('close', resolve));
    // Publish once the subscription exists (a fixed wait was too short on a loaded machine).
    const filterTopic = `tenants/${tenantId}/devices/${deviceId}/telemetry`;
    for (let i = 0; i < 500 && h.app.broker?.hasSubscribers(filterTopic) !== true; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.app.broker?.hasSubscribers(filterTopic), true, 'mosquitto_sub subscribed');
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-V',
      'mqttv5',
      '-u',
      deviceToken,
      '-i',
      'dev-mosq',
      '-q',
      '1',
      '-t',
      'v1/devices/me/telemetry',
      '-m',
      '{"mosq":7}',
    ]);
    assert.equal(await exited, 0);
    const [entry] = JSON.parse(out) as { ts: number; values: Record<string, unknown> }[];
    assert.deepEqual(entry!.values, { mosq: 7 });
    assert.equal((await latest('mosq')).value, 7);
    const wrong = await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-u',
      'wrong-token-wrong-token',
      '-t',
      'v1/devices/me/telemetry',
      '-m',
      '{"x":1}',
    ]).catch((e: unknown) => e);
    assert.notEqual((wrong as { code?: number }).code ?? 0, 0, 'mosquitto_pub fails with a wrong token');
  });

  test('an application client cannot read another tenant nor publish', async () => {
    await h.call('POST', '/api/users', { token, body: { email: 'ops@example.com', password: 'password-123', role: 'tenant-admin' } });
    const opsToken = await h.login('ops@example.com', 'password-123');
    const key = (await h.call('POST', '/api/api-keys', { token: opsToken, body: { name: 'mqtt-app-2' } })).body.key;
    const tenantId = (await h.call('GET', '/api/auth/me', { token: opsToken })).body.user.tenantId;
    const c = await connect({ protocolVersion: 5, username: key, clientId: 'app-2' });
    assert.ok(await subscribeRefused(c, 'tenants/some-other-tenant/devices/#'));
    assert.ok(await subscribeRefused(c, 'tenants/+/devices/#'));
    assert.ok(await subscribeRefused(c, '#'));
    assert.ok(!(await subscribeRefused(c, `tenants/${tenantId}/devices/#`)));
    await assert.rejects(c.publishAsync('v1/devices/me/telemetry', '{"x":1}', { qos: 1 }), (e: Error & { code?: number }) => e.code === 0x87);
    await c.endAsync();
  });

  test('MQTT over WebSocket at /mqtt on the HTTP port', async () => {
    const c = mqtt.connect(`ws://127.0.0.1:${h.app.httpPort}/mqtt`, { protocolVersion: 5, username: deviceToken, clientId: 'dev-ws', reconnectPeriod: 0 });
    clients.push(c);
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => {
        resolve();
      });
      c.once('error', reject);
    });
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ overWs: true }), { qos: 1 });
    assert.equal((await latest('overWs')).value, true);
    await c.endAsync();
  });

  test('MQTT basic credentials (username/password) as an alternative to the token', async () => {
    const d = (await h.call('POST', '/api/devices', { token, body: { name: 'basic-dev' } })).body.id;
    await h.call('POST', `/api/devices/${d}/credentials/rotate`, {
      token,
      body: { type: 'mqtt-basic', username: 'basic-user', password: 'basic-pass', clientId: 'basic-client' },
    });
    assert.equal((await refusal({ protocolVersion: 4, username: 'basic-user', password: 'wrong', clientId: 'basic-client' })).code, 5);
    assert.equal((await refusal({ protocolVersion: 4, username: 'basic-user', password: 'basic-pass', clientId: 'other-client' })).code, 5);
    const c = await connect({ protocolVersion: 4, username: 'basic-user', password: 'basic-pass', clientId: 'basic-client' });
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ basic: 1 }), { qos: 1 });
    const r = await h.call('GET', `/api/devices/${d}/telemetry/latest`, { token });
    assert.equal(r.body.data.basic.value, 1);
    await c.endAsync();
  });

  test('client-id credentials: a device known by its MQTT client id alone', async () => {
    const d = (await h.call('POST', '/api/devices', { token, body: { name: 'clientid-dev' } })).body.id;
    const rotated = await h.call('POST', `/api/devices/${d}/credentials/rotate`, { token, body: { type: 'mqtt-basic', clientId: 'plc-0042' } });
    assert.equal(rotated.status, 200);
    assert.deepEqual(rotated.body, { deviceId: d, type: 'mqtt-basic', clientId: 'plc-0042', username: null, hasPassword: false });
    assert.equal((await refusal({ protocolVersion: 5, clientId: 'plc-0043' })).code, 0x87);
    const c = await connect({ protocolVersion: 5, clientId: 'plc-0042' });
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ plc: 42 }), { qos: 1 });
    assert.equal((await h.call('GET', `/api/devices/${d}/telemetry/latest`, { token })).body.data.plc.value, 42);
    await c.endAsync();
  });

  test('broker statistics are Prometheus metrics', async () => {
    const r = await h.call('GET', '/metrics');
    assert.match(r.body, /thingstead_mqtt_clients_connected \d+/);
    assert.match(r.body, /# TYPE thingstead_mqtt_messages_received_total counter\n/);
    assert.match(r.body, /thingstead_mqtt_messages_received_total [1-9]\d*/);
    assert.match(r.body, /thingstead_telemetry_points_total\{transport="mqtt"\} [1-9]/);
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startHarness, type Harness } from './harness';

const certDir = mkdtempSync(join(tmpdir(), 'thingstead-tls-'));
const cert = join(certDir, 'cert.pem');
const key = join(certDir, 'key.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], {
  stdio: 'ignore',
});

async function connect(url: string, o: IClientOptions): Promise<MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...o });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => {
      resolve();
    });
    c.once('error', reject);
  });
  return c;
}

describe('MQTT over TLS, and sessions that survive a restart of Thingstead', () => {
  let h: Harness;
  let token: string;
  let deviceToken: string;
  let tenantId: string;

  before(async () => {
    h = await startHarness({ THINGSTEAD_MQTTS_PORT: '0', THINGSTEAD_MQTTS_CERT_FILE: cert, THINGSTEAD_MQTTS_KEY_FILE: key });
    token = await h.login();
    tenantId = (await h.call('GET', '/api/auth/me', { token })).body.user.tenantId;
    const id = (await h.call('POST', '/api/devices', { token, body: { name: 'tls-dev' } })).body.id;
    deviceToken = (await h.call('GET', `/api/devices/${id}/credentials`, { token })).body.accessToken;
  });
  after(async () => {
    await h.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('a device publishes telemetry over mqtts://', async () => {
    const port = h.app.mqttPorts!.tls!;
    assert.ok(port > 0);
    const c = await connect(`mqtts://127.0.0.1:${port}`, { protocolVersion: 5, username: deviceToken, clientId: 'tls-1', rejectUnauthorized: false });
    await c.publishAsync('v1/devices/me/telemetry', '{"overTls":1}', { qos: 1 });
    await c.endAsync();
    const latest = await h.call('GET', `/api/devices/${(await h.call('GET', '/api/devices?search=tls-dev', { token })).body.items[0].id}/telemetry/latest`, {
      token,
    });
    assert.equal(latest.body.data.overTls.value, 1);
  });

  test('a persistent application session keeps its QoS 1 messages across a restart', async () => {
    const apiKey = (await h.call('POST', '/api/api-keys', { token, body: { name: 'durable-app' } })).body.key;
    const filter = `tenants/${tenantId}/devices/+/telemetry`;
    const app = await connect(`mqtt://127.0.0.1:${h.app.mqttPorts!.tcp}`, {
      protocolVersion: 5,
      username: apiKey,
      clientId: 'durable-app',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    await app.subscribeAsync(filter, { qos: 1 });
    await app.endAsync();

    const dev = await connect(`mqtt://127.0.0.1:${h.app.mqttPorts!.tcp}`, { protocolVersion: 4, username: deviceToken, clientId: 'tls-dev-plain' });
    await dev.publishAsync('v1/devices/me/telemetry', '{"whileAway":42}', { qos: 1 });
    await dev.endAsync();

    await h.restart();

    const received = new Promise<string>((resolve) => {
      const again = mqtt.connect(`mqtt://127.0.0.1:${h.app.mqttPorts!.tcp}`, {
        protocolVersion: 5,
        username: apiKey,
        clientId: 'durable-app',
        clean: false,
        reconnectPeriod: 0,
        properties: { sessionExpiryInterval: 3600 },
      });
      again.on('message', (_topic, payload) => {
        again.end(true);
        resolve(payload.toString());
      });
    });
    const [entry] = JSON.parse(await received) as { values: Record<string, unknown> }[];
    assert.deepEqual(entry!.values, { whileAway: 42 });
  });
});

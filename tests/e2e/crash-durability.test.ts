import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import mqtt from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { crash, listening, runCli, startCli, waitFor, type CliProcess } from './cli-process';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'thingstead-crash-'));
  dirs.push(d);
  return d;
}

/** A subscriber over a raw socket that receives PUBLISH packets and never acknowledges them. */
async function silentSubscriber(port: number, o: { clientId: string; username?: string; filter: string }): Promise<{ socket: Socket; published: Packet[] }> {
  const socket = tcpConnect(port, '127.0.0.1');
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const received: Packet[] = [];
  const published: Packet[] = [];
  parser.on('packet', (p: Packet) => {
    if (p.cmd === 'publish') published.push(p);
    else received.push(p);
  });
  socket.on('data', (d: Buffer) => parser.parse(d));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const send = (p: Packet) => socket.write(mqttPacket.generate(p, { protocolVersion: 5 }));
  send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId: o.clientId,
    clean: false,
    keepalive: 0,
    properties: { sessionExpiryInterval: 3600 },
    ...(o.username === undefined ? {} : { username: o.username }),
  });
  send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: o.filter, qos: 1 }] });
  const end = Date.now() + 5000;
  while (!received.some((p) => p.cmd === 'suback')) {
    if (Date.now() > end) throw new Error(`no SUBACK: ${JSON.stringify(received)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { socket, published };
}

async function until(what: string, f: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reconnects the session with mqtt.js (which acknowledges) and collects what it is given. */
async function collect(port: number, o: { clientId: string; username?: string }, expected: number): Promise<Set<string>> {
  const got = new Set<string>();
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 5,
    clientId: o.clientId,
    clean: false,
    reconnectPeriod: 0,
    properties: { sessionExpiryInterval: 3600 },
    ...(o.username === undefined ? {} : { username: o.username }),
  });
  c.on('message', (_t, payload) => got.add(payload.toString()));
  try {
    await until(`${expected} redelivered messages (got ${got.size})`, () => got.size >= expected);
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    await c.endAsync();
  }
  return got;
}

const count = 500;

describe('kill -9: messages held for a connected persistent subscriber survive a crash', () => {
  test('standalone broker: all 500 acknowledged QoS 1 messages in the unacknowledged in-flight window are redelivered after kill -9', async () => {
    const dataDir = tempDir();
    const start = (): [CliProcess, Promise<number>] => {
      const run = runCli(['broker', '--port', '0', '--host', '127.0.0.1', '--allow-anonymous', '--data-dir', dataDir]);
      const port = waitFor(
        () =>
          run.lines
            .map((l: { text?: unknown }) => (typeof l.text === 'string' ? /listening on [^:]+:(\d+)/.exec(l.text)?.[1] : undefined))
            .find((x) => x !== undefined),
        'listening',
      );
      return [run, port.then(Number)];
    };
    let [run, portP] = start();
    let port = await portP;
    const sub = await silentSubscriber(port, { clientId: 'dashboard', filter: 'plant/#' });
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'sensor', reconnectPeriod: 0 });
    for (let i = 0; i < count; i++) await pub.publishAsync(`plant/${i % 7}`, `m${i}`, { qos: 1 });
    await until('the subscriber received every message', () => sub.published.length === count);
    await crash(run);
    sub.socket.destroy();
    pub.end(true);

    [run, portP] = start();
    port = await portP;
    const got = await collect(port, { clientId: 'dashboard' }, count);
    assert.equal(got.size, count, 'every acknowledged message is redelivered');
    run.child.kill('SIGTERM');
    await run.exit;
  });

  test('platform: forwarded telemetry held for a connected persistent application session is redelivered after kill -9, and every acknowledged value is stored', async () => {
    const dataDir = tempDir();
    const env = {
      THINGSTEAD_DATA_DIR: dataDir,
      THINGSTEAD_HOST: '127.0.0.1',
      THINGSTEAD_HTTP_PORT: '0',
      THINGSTEAD_MQTT_PORT: '0',
      THINGSTEAD_ADMIN_EMAIL: 'admin@example.com',
      THINGSTEAD_ADMIN_PASSWORD: 'correct horse battery staple',
      THINGSTEAD_LOG_LEVEL: 'info',
    };
    const start = () => {
      const run = startCli(env);
      const ports = listening(run).then((p) => ({ http: p.httpPort, mqtt: p.mqttPort }));
      return { run, ports };
    };
    let { run, ports } = start();
    let p = await ports;
    const api = async (method: string, path: string, token?: string, body?: unknown) => {
      const r = await fetch(`http://127.0.0.1:${p.http}${path}`, {
        method,
        headers: {
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await r.json()) as Record<string, any>;
    };
    const token = (await api('POST', '/api/auth/login', undefined, { email: env.THINGSTEAD_ADMIN_EMAIL, password: env.THINGSTEAD_ADMIN_PASSWORD }))
      .token as string;
    const tenantId = (await api('GET', '/api/auth/me', token)).user.tenantId as string;
    const deviceId = (await api('POST', '/api/devices', token, { name: 'meter' })).id as string;
    const deviceToken = (await api('GET', `/api/devices/${deviceId}/credentials`, token)).accessToken as string;
    const apiKey = (await api('POST', '/api/api-keys', token, { name: 'dashboard' })).key as string;

    const sub = await silentSubscriber(p.mqtt, { clientId: 'dashboard', username: apiKey, filter: `tenants/${tenantId}/devices/+/telemetry` });
    const dev = await mqtt.connectAsync(`mqtt://127.0.0.1:${p.mqtt}`, { username: deviceToken, clientId: 'meter', reconnectPeriod: 0 });
    for (let i = 0; i < count; i++)
      await dev.publishAsync('v1/devices/me/telemetry', JSON.stringify({ ts: 1_700_000_000_000 + i, values: { n: i } }), { qos: 1 });
    await until('the application received every forwarded message', () => sub.published.length === count);
    // Forwarded copies are stored a turn of the event loop after they are routed (after the device's PUBACK).
    await new Promise((r) => setTimeout(r, 100));
    await crash(run);
    sub.socket.destroy();
    dev.end(true);

    ({ run, ports } = start());
    p = await ports;
    const got = await collect(p.mqtt, { clientId: 'dashboard', username: apiKey }, count);
    assert.equal(got.size, count, 'every forwarded message is redelivered');
    const again = (await api('POST', '/api/auth/login', undefined, { email: env.THINGSTEAD_ADMIN_EMAIL, password: env.THINGSTEAD_ADMIN_PASSWORD }))
      .token as string;
    const stored = await api('GET', `/api/devices/${deviceId}/telemetry?keys=n&limit=1000`, again);
    assert.equal((stored.data.n as unknown[]).length, count, 'every acknowledged value is stored');
    run.child.kill('SIGTERM');
    await run.exit;
  });
});

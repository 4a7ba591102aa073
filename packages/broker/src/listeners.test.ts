import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { WebSocketServer } from 'ws';
import { Broker } from './broker';
import { handleWebSocket, listenTcp, listenTls, selectMqttSubprotocol, type Listener } from './listeners';

const run = promisify(execFile);
const haveMosquitto = existsSync('/usr/bin/mosquitto_pub') && existsSync('/usr/bin/mosquitto_sub');

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('interoperability over real sockets', () => {
  let broker: Broker;
  let tcp: Listener<NetServer>;
  let url: string;

  before(async () => {
    broker = new Broker();
    tcp = await listenTcp(broker, { port: 0, host: '127.0.0.1' });
    url = `mqtt://127.0.0.1:${tcp.port}`;
  });
  after(async () => {
    const closed = tcp.close();
    await broker.close();
    await closed;
  });

  for (const protocolVersion of [4, 5] as const) {
    test(`mqtt.js v${protocolVersion === 4 ? '3.1.1' : '5'}: QoS 0/1/2 round trip, retained, will`, async () => {
      const sub = await mqtt.connectAsync(url, { protocolVersion, clientId: `js-sub-${protocolVersion}`, reconnectPeriod: 0 });
      await sub.subscribeAsync(`js${protocolVersion}/#`, { qos: 2 });
      const received: string[] = [];
      sub.on('message', (topic, payload, packet) => received.push(`${topic}:${payload.toString()}:${packet.qos}`));
      const pub = await mqtt.connectAsync(url, {
        protocolVersion,
        reconnectPeriod: 0,
        will: { topic: `js${protocolVersion}/will`, payload: Buffer.from('bye'), qos: 1, retain: false },
      });
      for (const qos of [0, 1, 2] as const) await pub.publishAsync(`js${protocolVersion}/q${qos}`, `m${qos}`, { qos });
      await until(() => received.length === 3);
      assert.deepEqual(received.sort(), [`js${protocolVersion}/q0:m0:0`, `js${protocolVersion}/q1:m1:1`, `js${protocolVersion}/q2:m2:2`]);
      await pub.publishAsync(`js${protocolVersion}/retained`, 'kept', { qos: 1, retain: true });
      pub.stream.destroy();
      await until(() => received.some((r) => r.startsWith(`js${protocolVersion}/will:bye`)));
      const late = await mqtt.connectAsync(url, { protocolVersion, reconnectPeriod: 0 });
      const retained = new Promise<boolean>((resolve) =>
        late.on('message', (_t, _p, packet) => {
          resolve(packet.retain);
        }),
      );
      await late.subscribeAsync(`js${protocolVersion}/retained`, { qos: 1 });
      assert.equal(await retained, true);
      await late.endAsync();
      await sub.endAsync();
    });
  }

  test('mqtt.js v5: persistent session receives messages published while it was offline', async () => {
    const opts = { protocolVersion: 5 as const, clientId: 'js-persist', clean: false, properties: { sessionExpiryInterval: 60 }, reconnectPeriod: 0 };
    const first = await mqtt.connectAsync(url, opts);
    await first.subscribeAsync('persist/#', { qos: 1 });
    await first.endAsync();
    const pub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    await pub.publishAsync('persist/x', 'while-away', { qos: 1 });
    await pub.endAsync();
    const again = mqtt.connect(url, opts);
    const payload = await new Promise<string>((resolve) =>
      again.on('message', (_t, p) => {
        resolve(p.toString());
      }),
    );
    assert.equal(payload, 'while-away');
    await again.endAsync();
  });

  for (const version of ['mqttv311', 'mqttv5'] as const) {
    test(`mosquitto_pub/mosquitto_sub (${version}): QoS 2 and retained`, { skip: !haveMosquitto }, async () => {
      const topic = `mosq/${version}`;
      const before = broker.stats().subscriptions;
      const sub = spawn('/usr/bin/mosquitto_sub', ['-h', '127.0.0.1', '-p', String(tcp.port), '-V', version, '-q', '2', '-t', topic, '-C', '2', '-v']);
      let out = '';
      sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => sub.on('exit', resolve));
      await until(() => broker.stats().subscriptions > before);
      await run('/usr/bin/mosquitto_pub', ['-h', '127.0.0.1', '-p', String(tcp.port), '-V', version, '-q', '2', '-t', topic, '-m', 'one']);
      await run('/usr/bin/mosquitto_pub', ['-h', '127.0.0.1', '-p', String(tcp.port), '-V', version, '-q', '1', '-r', '-t', topic, '-m', 'two']);
      assert.equal(await exited, 0);
      assert.equal(out, `${topic} one\n${topic} two\n`);
      const { stdout } = await run('/usr/bin/mosquitto_sub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(tcp.port),
        '-V',
        version,
        '-t',
        topic,
        '-C',
        '1',
        '--retained-only',
      ]);
      assert.equal(stdout, 'two\n');
    });
  }
});

describe('TLS and WebSocket listeners', () => {
  test('listenTls serves MQTT over TLS (mqtt.js, v5)', { skip: !existsSync('/usr/bin/openssl') }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'broker-tls-'));
    try {
      execFileSync(
        '/usr/bin/openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
        ],
        {
          stdio: 'ignore',
        },
      );
      const broker = new Broker();
      const tls = await listenTls(broker, { port: 0, host: '127.0.0.1', cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) });
      const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${tls.port}`, { protocolVersion: 5, rejectUnauthorized: false, reconnectPeriod: 0 });
      await c.subscribeAsync('tls', { qos: 1 });
      const got = new Promise<string>((resolve) =>
        c.on('message', (_t, p) => {
          resolve(p.toString());
        }),
      );
      await c.publishAsync('tls', 'secure', { qos: 1 });
      assert.equal(await got, 'secure');
      assert.equal([...broker.clients][0]?.transport, 'tls');
      await c.endAsync();
      const closed = tls.close();
      await broker.close();
      await closed;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('handleWebSocket serves MQTT over WebSocket at /mqtt with subprotocol mqtt', async () => {
    const broker = new Broker();
    const http: Server = createServer();
    const wss = new WebSocketServer({ server: http, path: '/mqtt', handleProtocols: selectMqttSubprotocol });
    wss.on('connection', (ws, req) => {
      handleWebSocket(broker, ws, req.socket.remoteAddress === undefined ? {} : { remoteAddress: req.socket.remoteAddress });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    const c = await mqtt.connectAsync(`ws://127.0.0.1:${port}/mqtt`, { protocolVersion: 4, reconnectPeriod: 0 });
    await c.subscribeAsync('ws/+', { qos: 2 });
    const got = new Promise<string>((resolve) =>
      c.on('message', (t) => {
        resolve(t);
      }),
    );
    await c.publishAsync('ws/a', 'x', { qos: 2 });
    assert.equal(await got, 'ws/a');
    assert.equal([...broker.clients][0]?.transport, 'ws');
    await c.endAsync();
    await broker.close();
    wss.close();
    await new Promise((resolve) => http.close(resolve));
  });
});

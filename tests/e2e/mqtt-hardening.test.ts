import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { WebSocket } from 'ws';
import { startStandaloneBroker, type StandaloneBroker } from '../../packages/broker/src/standalone';
import { loadConfig } from '../../packages/server/src/config/load';
import { startHarness, type Harness } from './harness';

/** A raw MQTT connection (TCP socket or WebSocket) that records every packet the server sends. */
interface Raw {
  send: (bytes: Buffer) => void;
  next: () => Promise<Packet | 'closed'>;
  close: () => void;
}

interface Recorder {
  push: (chunk: Buffer) => void;
  closed: () => void;
  next: () => Promise<Packet | 'closed'>;
}

function recorder(version: 4 | 5): Recorder {
  const packets: (Packet | 'closed')[] = [];
  const waiting: ((p: Packet | 'closed') => void)[] = [];
  const deliver = (p: Packet | 'closed') => {
    const w = waiting.shift();
    if (w) w(p);
    else packets.push(p);
  };
  const parser = mqttPacket.parser({ protocolVersion: version });
  parser.on('packet', deliver);
  return {
    push: (chunk) => {
      parser.parse(chunk);
    },
    closed: () => {
      deliver('closed');
    },
    next: () => {
      const p = packets.shift();
      if (p !== undefined) return Promise.resolve(p);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          reject(new Error('no packet within 5 s'));
        }, 5000);
        waiting.push((x) => {
          clearTimeout(t);
          resolve(x);
        });
      });
    },
  };
}

async function rawTcp(port: number, version: 4 | 5): Promise<Raw> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  const r = recorder(version);
  socket.on('data', r.push);
  socket.on('close', r.closed);
  socket.on('error', () => undefined);
  return {
    send: (b) => {
      socket.write(b);
    },
    next: r.next,
    close: () => {
      socket.destroy();
    },
  };
}

async function rawWs(url: string, version: 4 | 5): Promise<Raw> {
  const ws = new WebSocket(url, 'mqtt');
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const r = recorder(version);
  ws.on('message', (data: Buffer) => {
    r.push(data);
  });
  ws.on('close', r.closed);
  return {
    send: (b) => {
      ws.send(b);
    },
    next: r.next,
    close: () => {
      ws.terminate();
    },
  };
}

const connectPacket = (version: 4 | 5, username?: string) =>
  mqttPacket.generate(
    {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clientId: `raw-${version}-${Math.random()}`,
      clean: true,
      keepalive: 0,
      ...(username === undefined ? {} : { username }),
    },
    { protocolVersion: version },
  );

/** CONNECT, CONNACK 0, then the two bytes: v5 gets DISCONNECT 0x81, 3.1.1 is just closed. */
async function twoBytes(open: (version: 4 | 5) => Promise<Raw>, bytes: number[], username?: string): Promise<void> {
  for (const version of [4, 5] as const) {
    const c = await open(version);
    try {
      await refusedAfterConnect(c, version, bytes, username);
    } finally {
      c.close();
    }
  }
}

async function refusedAfterConnect(c: Raw, version: 4 | 5, bytes: number[], username: string | undefined): Promise<void> {
  c.send(connectPacket(version, username));
  const ack = await c.next();
  assert.ok(ack !== 'closed' && ack.cmd === 'connack' && (ack.reasonCode ?? ack.returnCode) === 0, JSON.stringify(ack));
  c.send(Buffer.from(bytes));
  const reply = await c.next();
  if (version === 5) {
    assert.ok(reply !== 'closed' && reply.cmd === 'disconnect', JSON.stringify(reply));
    assert.equal(reply.reasonCode, 0x81);
    assert.equal(await c.next(), 'closed');
  } else {
    assert.equal(reply, 'closed');
  }
}

describe('issue 6 against the platform over real sockets', () => {
  let h: Harness;
  let deviceToken: string;
  let port: number;

  before(async () => {
    h = await startHarness({ THINGSTEAD_MQTT_MAX_KEEP_ALIVE_SEC: '60' });
    port = h.app.mqttPorts!.tcp;
    const token = await h.login();
    const id = (await h.call('POST', '/api/devices', { token, body: { name: 'hardening' } })).body.id;
    deviceToken = (await h.call('GET', `/api/devices/${id}/credentials`, { token })).body.accessToken;
  });
  after(async () => {
    await h.stop();
  });

  const stillServing = async () => {
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: 5, username: deviceToken, reconnectPeriod: 0 });
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ alive: 1 }), { qos: 1 });
    await c.endAsync();
    const metrics = (await h.call('GET', '/metrics')).body as string;
    assert.match(metrics, /^thingstead_mqtt_client_errors_total 0$/m, 'refused by validation, nothing had to be contained');
  };

  test('`50 00` (PUBREC without packet identifier) and `62 00` (PUBREL) after CONNECT over TCP close that connection (v5 0x81); the platform keeps serving', async () => {
    await twoBytes((v) => rawTcp(port, v), [0x50, 0x00], deviceToken);
    await twoBytes((v) => rawTcp(port, v), [0x62, 0x00], deviceToken);
    await stillServing();
  });

  test('the same two bytes over MQTT over WebSocket (/mqtt) close that connection; the platform keeps serving', async () => {
    const url = `ws://127.0.0.1:${h.app.httpPort}/mqtt`;
    await twoBytes((v) => rawWs(url, v), [0x50, 0x00], deviceToken);
    await twoBytes((v) => rawWs(url, v), [0x62, 0x00], deviceToken);
    await stillServing();
  });

  test('Paho test_server_keep_alive, [MQTT-3.2.2-21]: mqtt.maxKeepAliveSec 60 reaches the broker: keep-alive 120 (mqtt.js) and 0 (raw) get Server Keep Alive 60', async () => {
    const c = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: 5, username: deviceToken, keepalive: 120, reconnectPeriod: 0 });
    try {
      const connack = await new Promise<{ properties?: { serverKeepAlive?: number } }>((resolve, reject) => {
        c.once('connect', resolve);
        c.once('error', reject);
      });
      assert.equal(connack.properties?.serverKeepAlive, 60);
    } finally {
      await c.endAsync();
    }
    const raw = await rawTcp(port, 5);
    try {
      raw.send(
        mqttPacket.generate(
          { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'ka', clean: true, keepalive: 0, username: deviceToken },
          { protocolVersion: 5 },
        ),
      );
      const ack = await raw.next();
      assert.ok(ack !== 'closed' && ack.cmd === 'connack');
      assert.equal(ack.properties?.serverKeepAlive, 60, 'keep-alive 0 (none) is capped too');
    } finally {
      raw.close();
    }
  });

  test('mqtt.maxKeepAliveSec defaults to 1200 s', () => {
    assert.equal(loadConfig({ env: {}, cwd: h.dataDir }).mqtt.maxKeepAliveSec, 1200);
  });
});

describe('issue 6 against the standalone broker (thingstead broker)', () => {
  let b: StandaloneBroker;
  before(async () => {
    b = await startStandaloneBroker({ port: 0, host: '127.0.0.1', allowAnonymous: true });
  });
  after(async () => {
    await b.close();
  });

  test('an anonymous client sending `50 00` or `62 00` after CONNECT is disconnected; the broker keeps serving', async () => {
    await twoBytes((v) => rawTcp(b.port, v), [0x50, 0x00]);
    await twoBytes((v) => rawTcp(b.port, v), [0x62, 0x00]);
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 4, reconnectPeriod: 0 });
    await c.publishAsync('t', 'x', { qos: 1 });
    await c.endAsync();
    assert.equal(b.broker.stats().clientErrors, 0);
  });
});

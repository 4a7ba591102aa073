import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import mqtt from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { WebSocketServer } from 'ws';
import { Broker } from './broker';
import { handleWebSocket, listenTcp, selectMqttSubprotocol } from './listeners';
import { ReasonCode } from './reason-codes';

const haveMosquitto = existsSync('/usr/bin/mosquitto_sub');

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves with how long `p` took, or rejects when it takes longer than `ms` (the old hang). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => {
            reject(new Error(`${what} did not finish within ${ms} ms`));
          }, ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A raw TCP MQTT connection that records every packet it receives. */
async function rawClient(port: number, version: 4 | 5): Promise<{ socket: Socket; packets: Packet[]; closed: () => boolean }> {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const packets: Packet[] = [];
  let closed = false;
  const parser = mqttPacket.parser({ protocolVersion: version });
  parser.on('packet', (p: Packet) => packets.push(p));
  socket.on('data', (d: Buffer) => parser.parse(d));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  return { socket, packets, closed: () => closed };
}

const connectPacket = (version: 4 | 5, clientId: string): Buffer =>
  mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId, clean: true, keepalive: 0 }, { protocolVersion: version });

describe('shutdown with connected clients', () => {
  test('listener.close() ends an idle connection; net.Server.close() alone waited for it forever', async () => {
    const broker = new Broker();
    const tcp = await listenTcp(broker, { port: 0, host: '127.0.0.1' });
    const idle = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcp.port}`, { protocolVersion: 4, reconnectPeriod: 0 });
    await within(tcp.close(100), 3000, 'listener.close()');
    await until(() => idle.stream.destroyed, 'the client socket to close');
    await broker.close();
    idle.end(true);
  });

  test(
    'Broker.close() + listeners: idle mosquitto_sub (TCP), mqtt.js over WebSocket and a v5 client all disconnect; v5 gets DISCONNECT 0x8B',
    { skip: !haveMosquitto },
    async () => {
      const broker = new Broker();
      const tcp = await listenTcp(broker, { port: 0, host: '127.0.0.1' });
      const http = createHttpServer();
      const wss = new WebSocketServer({ server: http, path: '/mqtt', handleProtocols: selectMqttSubprotocol });
      wss.on('connection', (ws) => {
        handleWebSocket(broker, ws);
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      const wsPort = (http.address() as AddressInfo).port;

      // 3.1.1 has no server DISCONNECT: this one just loses its connection (and would reconnect; it is killed below).
      const sub = spawn('/usr/bin/mosquitto_sub', ['-h', '127.0.0.1', '-p', String(tcp.port), '-t', 'idle/#', '-q', '1']);
      const sub5 = spawn('stdbuf', [
        '-o0',
        '/usr/bin/mosquitto_sub',
        '-d',
        '-V',
        'mqttv5',
        '-h',
        '127.0.0.1',
        '-p',
        String(tcp.port),
        '-t',
        'idle/#',
        '-q',
        '1',
      ]);
      let sub5Out = '';
      sub5.stdout.on('data', (d: Buffer) => (sub5Out += d.toString()));
      const sub5Exit = new Promise<number | null>((resolve) => sub5.on('exit', resolve));
      const ws = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, { protocolVersion: 4, reconnectPeriod: 0 });
      const v5 = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcp.port}`, { protocolVersion: 5, reconnectPeriod: 0 });
      const disconnect = new Promise<number | undefined>((resolve) =>
        v5.on('disconnect', (p) => {
          resolve(p.reasonCode);
        }),
      );
      await until(() => broker.stats().clientsConnected === 4, 'four connected clients');

      const started = Date.now();
      await within(Promise.all([broker.close(), tcp.close()]), 3000, 'Broker.close() + listener.close()');
      assert.equal(await within(disconnect, 1000, 'the DISCONNECT'), ReasonCode.ServerShuttingDown);
      await until(() => ws.stream.destroyed, 'the WebSocket to close');
      assert.equal(await within(sub5Exit, 3000, 'mosquitto_sub -V mqttv5 to exit'), 0);
      assert.match(sub5Out, /Received DISCONNECT \(139\)/);
      assert.equal(broker.stats().connections, 0, 'every connection closed, the idle 3.1.1 mosquitto_sub too');
      sub.kill();
      await within(new Promise((resolve) => http.close(resolve)), 3000, 'the HTTP server to close (upgraded sockets count)');
      assert.ok(Date.now() - started < 3000);
      wss.close();
      v5.end(true);
      ws.end(true);
    },
  );

  test('drain: every CONNECT is refused with CONNACK 0x88 (v5) / 3 (3.1.1), also on new connections; a PUBLISH read before is acked; then DISCONNECT 0x8B', async () => {
    let release: () => void = () => undefined;
    const committed = new Promise<void>((resolve) => (release = resolve));
    const broker = new Broker({
      hooks: {
        onPublish: async () => {
          await committed;
          return undefined;
        },
      },
    });
    const tcp = await listenTcp(broker, { port: 0, host: '127.0.0.1' });
    const early5 = await rawClient(tcp.port, 5);
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcp.port}`, { protocolVersion: 5, reconnectPeriod: 0 });
    const disconnect = new Promise<number | undefined>((resolve) =>
      pub.on('disconnect', (p) => {
        resolve(p.reasonCode);
      }),
    );
    const acks: number[] = [];
    pub.on('packetreceive', (p) => {
      if (p.cmd === 'puback') acks.push(p.reasonCode ?? 0);
    });
    pub.publish('t/1', 'before the signal', { qos: 1 });
    await until(() => broker.pendingPublishes === 1, 'the PUBLISH to wait for its hook');

    const drained = broker.drain(5000);
    const late4 = await rawClient(tcp.port, 4);
    early5.socket.write(connectPacket(5, 'early-v5'));
    late4.socket.write(connectPacket(4, 'late-v4'));
    await until(() => early5.packets.length === 1 && late4.packets.length === 1, 'both CONNACKs');
    // v5 §3.2.2.2: 0x88 Server unavailable; 3.1.1 §3.2.2.3: return code 3. [MQTT-3.2.2-7] then close.
    assert.deepEqual(
      early5.packets.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]),
      [['connack', ReasonCode.ServerUnavailable]],
    );
    assert.deepEqual(
      late4.packets.map((p) => [p.cmd, (p as { returnCode?: number }).returnCode]),
      [['connack', 3]],
    );
    await until(() => early5.closed() && late4.closed(), 'refused connections to close');
    pub.publish('t/2', 'after the signal: not read', { qos: 1 });

    release();
    assert.equal(await within(drained, 3000, 'drain'), 0, 'nothing pending after the hook resolved');
    await broker.close();
    await tcp.close();
    assert.equal(await within(disconnect, 1000, 'the DISCONNECT'), ReasonCode.ServerShuttingDown);
    assert.deepEqual(acks, [0], 'the PUBLISH read before the drain was acknowledged, before the DISCONNECT; the later one not at all');
    pub.end(true);
  });

  test('drain gives up after its timeout and reports what is still pending; close() then cuts it', async () => {
    const broker = new Broker({ hooks: { onPublish: () => new Promise(() => undefined) } });
    const tcp = await listenTcp(broker, { port: 0, host: '127.0.0.1' });
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcp.port}`, { protocolVersion: 4, reconnectPeriod: 0 });
    pub.publish('t/1', 'never committed', { qos: 1 });
    await until(() => broker.pendingPublishes === 1, 'the PUBLISH to wait for its hook');
    const started = Date.now();
    assert.equal(await broker.drain(200), 1);
    assert.ok(Date.now() - started < 1000);
    await within(Promise.all([broker.close(), tcp.close(100)]), 3000, 'close after a cut drain');
    await until(() => pub.stream.destroyed, 'the client socket to close');
    pub.end(true);
  });
});

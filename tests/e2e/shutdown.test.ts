// Graceful shutdown of the real CLI with clients connected (issue 6: "Shutdown hangs while any MQTT client is
// connected"). Each test starts `thingstead start` in a child process on free ports and a temporary data dir.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { listening, startCli, waitFor, type CliProcess } from './cli-process';

const haveMosquitto = existsSync('/usr/bin/mosquitto_sub');
const admin = { email: 'admin@example.com', password: 'correct horse battery staple' };
const dirs: string[] = [];
const children: ChildProcess[] = [];

function env(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    THINGSTEAD_DATA_DIR: dataDir,
    THINGSTEAD_HTTP_PORT: '0',
    THINGSTEAD_MQTT_PORT: '0',
    THINGSTEAD_HOST: '127.0.0.1',
    THINGSTEAD_ADMIN_EMAIL: admin.email,
    THINGSTEAD_ADMIN_PASSWORD: admin.password,
    THINGSTEAD_STORAGE_SQLITE_SYNCHRONOUS: 'normal',
    ...extra,
  };
}

function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'thingstead-shutdown-'));
  dirs.push(d);
  return d;
}

function start(dataDir: string, extra: Record<string, string> = {}): CliProcess {
  const p = startCli(env(dataDir, extra));
  children.push(p.child);
  return p;
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

/** Logs in, creates a device, returns its id and access token and an admin token. */
async function setup(base: string): Promise<{ auth: string; deviceId: string; token: string }> {
  const login = await json(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) });
  const auth = `Bearer ${login.body.token as string}`;
  const dev = await json(`${base}/api/devices`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `d-${Date.now()}` }),
  });
  const creds = await json(`${base}/api/devices/${dev.body.id as string}/credentials`, { headers: { authorization: auth } });
  return { auth, deviceId: dev.body.id as string, token: creds.body.accessToken as string };
}

async function latest(base: string, deviceId: string): Promise<Record<string, { value: unknown }>> {
  const login = await json(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) });
  const r = await json(`${base}/api/devices/${deviceId}/telemetry/latest`, { headers: { authorization: `Bearer ${login.body.token as string}` } });
  return r.body.data as Record<string, { value: unknown }>;
}

/** A telemetry POST whose body is only half sent: the request is in flight until finish() sends the rest. */
async function slowPost(port: number, token: string, body: string): Promise<{ finish: () => void; response: Promise<string>; socket: Socket }> {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  const response = new Promise<string>((resolve) =>
    socket.on('close', () => {
      resolve(text);
    }),
  );
  socket.on('error', () => undefined);
  const half = Math.floor(body.length / 2);
  socket.write(
    `POST /api/v1/${token}/telemetry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`,
  );
  return { finish: () => socket.write(body.slice(half)), response, socket };
}

function mosquittoSub(port: number, token: string, version: 'mqttv311' | 'mqttv5'): { proc: ChildProcess; out: () => string; exit: Promise<number | null> } {
  // stdbuf: mosquitto_sub's -d lines are stdio-buffered on a pipe.
  const proc = spawn('stdbuf', [
    '-o0',
    '/usr/bin/mosquitto_sub',
    '-d',
    '-V',
    version,
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-u',
    token,
    '-t',
    'v1/devices/me/attributes',
    '-q',
    '1',
  ]);
  children.push(proc);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, out: () => out, exit: new Promise((resolve) => proc.on('exit', resolve)) };
}

const closedEvent = (c: MqttClient): Promise<void> =>
  new Promise((resolve) =>
    c.once('close', () => {
      resolve();
    }),
  );

describe('graceful shutdown of thingstead start', () => {
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test(
    'SIGTERM with an idle mosquitto_sub (TCP), mqtt.js over WebSocket and a v5 client connected exits 0; it used to hang with /healthz ok and ingest accepted',
    { skip: !haveMosquitto },
    async () => {
      const dataDir = freshDir();
      const drainMs = 8000;
      const srv = start(dataDir, { THINGSTEAD_SHUTDOWN_DRAIN_TIMEOUT_MS: String(drainMs) });
      const { httpPort, mqttPort } = await listening(srv);
      const base = `http://127.0.0.1:${httpPort}`;
      const { deviceId, token, auth } = await setup(base);

      // Connected before the signal: idle mosquitto_sub 3.1.1 and v5, mqtt.js over WebSocket (3.1.1) and over TCP (v5).
      const sub4 = mosquittoSub(mqttPort, token, 'mqttv311');
      const sub5 = mosquittoSub(mqttPort, token, 'mqttv5');
      const ws = await mqtt.connectAsync(`ws://127.0.0.1:${httpPort}/mqtt`, { protocolVersion: 4, username: token, reconnectPeriod: 0 });
      const v5 = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 5, username: token, reconnectPeriod: 0 });
      const wsClosed = closedEvent(ws);
      const v5Closed = closedEvent(v5);
      const v5Disconnect = new Promise<number | undefined>((resolve) =>
        v5.on('disconnect', (p) => {
          resolve(p.reasonCode);
        }),
      );
      await waitFor(() => sub4.out().includes('received SUBACK') && sub5.out().includes('received SUBACK'), 'both mosquitto_sub to subscribe');

      // Acknowledged before the signal, over each transport. The HTTP one leaves an idle keep-alive connection.
      await v5.publishAsync('v1/devices/me/telemetry', JSON.stringify({ viaV5: 1 }), { qos: 1 });
      await ws.publishAsync('v1/devices/me/telemetry', JSON.stringify({ viaWs: 2 }), { qos: 1 });
      const agent = new http.Agent({ keepAlive: true });
      const keepAlive = await new Promise<Socket>((resolve, reject) => {
        let socket: Socket | undefined;
        const req = http.request(
          { host: '127.0.0.1', port: httpPort, path: `/api/v1/${token}/telemetry`, method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            assert.equal(res.statusCode, 200);
            res.resume();
            res.on('end', () => {
              if (socket) resolve(socket);
            });
          },
        );
        req.on('socket', (s) => (socket = s));
        req.on('error', reject);
        req.end(JSON.stringify({ viaHttp: 3 }));
      });
      const keepAliveClosed = new Promise<void>((resolve) =>
        keepAlive.once('close', () => {
          resolve();
        }),
      );
      // In flight at the signal: its body is not complete yet, so the drain waits for it.
      const slow = await slowPost(httpPort, token, JSON.stringify({ inFlight: 4 }));
      await new Promise((r) => setTimeout(r, 200));

      const signalAt = performance.now();
      srv.child.kill('SIGTERM');
      await waitFor(() => srv.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('shutting down')), 'the shutting-down log line');

      // Draining: new work is refused, with answers.
      // Readiness fails, naming why, so a load balancer moves on; liveness holds, so nothing restarts the drain.
      const ready = await json(`${base}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, 'error');
      assert.equal(ready.body.checks.server, 'shutting down');
      assert.equal(ready.body.checks.database, 'ok');
      assert.equal(ready.body.checks.mqtt, 'ok');
      const live = await json(`${base}/healthz`);
      assert.equal(live.status, 200);
      const ingest = await json(`${base}/api/v1/${token}/telemetry`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refused: 5 }),
      });
      assert.equal(ingest.status, 503);
      assert.equal(ingest.body.code, 'THINGSTEAD_ERR_UNAVAILABLE');
      assert.equal(typeof ingest.body.hint, 'string');
      assert.equal(ingest.headers.get('retry-after'), '5');
      const adminRoute = await json(`${base}/api/devices`, { headers: { authorization: auth } });
      assert.equal(adminRoute.status, 503);
      assert.equal(adminRoute.headers.get('retry-after'), '5');
      // v5 §3.2.2.2: CONNACK 0x88 Server unavailable (0x8B is a DISCONNECT code); 3.1.1 §3.2.2.3: return code 3.
      await assert.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 5, username: token, reconnectPeriod: 0 }), { code: 0x88 });
      await assert.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 4, username: token, reconnectPeriod: 0 }), { code: 3 });
      const upgrade = await new Promise<number | undefined>((resolve) => {
        const sock = new WebSocket(`ws://127.0.0.1:${httpPort}/mqtt`, 'mqtt');
        sock.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode);
        });
        sock.on('open', () => {
          sock.close();
          resolve(101);
        });
        sock.on('error', () => {
          resolve(undefined);
        });
      });
      assert.equal(upgrade, 503);

      // The request in flight at the signal completes, after its commit.
      slow.finish();
      assert.match(await slow.response, /^HTTP\/1\.1 200 /);

      assert.equal(await srv.exit, 0, `exit code (stderr: ${srv.stderr()})`);
      assert.ok(srv.exitedAt() - signalAt < drainMs, `exited ${Math.round(srv.exitedAt() - signalAt)} ms after SIGTERM`);
      assert.ok(srv.lines.some((l) => l.msg === 'Thingstead stopped'));
      assert.ok(!srv.lines.some((l) => typeof l.msg === 'string' && l.msg.includes('ran out')), 'nothing was cut');
      assert.equal(await v5Disconnect, 0x8b, 'the v5 client got DISCONNECT 0x8B Server shutting down');
      await Promise.all([wsClosed, v5Closed, keepAliveClosed]);
      assert.equal(await sub5.exit, 0);
      assert.match(sub5.out(), /Received DISCONNECT \(139\)/);
      sub4.proc.kill();
      agent.destroy();

      // Everything acknowledged before (and during) the shutdown is in the database.
      const again = start(dataDir);
      const restarted = await listening(again);
      const data = await latest(`http://127.0.0.1:${restarted.httpPort}`, deviceId);
      assert.deepEqual(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.value])), { viaV5: 1, viaWs: 2, viaHttp: 3, inFlight: 4 });
      again.child.kill('SIGINT');
      assert.equal(await again.exit, 0);
    },
  );

  test('when the drain time runs out, what is left is cut, logged, and the process still exits 0; queued values are committed', async () => {
    const dataDir = freshDir();
    const drainMs = 300;
    // A long group-commit delay keeps one MQTT message waiting for its commit past the drain time.
    const srv = start(dataDir, { THINGSTEAD_SHUTDOWN_DRAIN_TIMEOUT_MS: String(drainMs), THINGSTEAD_TELEMETRY_GROUP_COMMIT_MAX_DELAY_MS: '1000' });
    const { httpPort, mqttPort } = await listening(srv);
    const base = `http://127.0.0.1:${httpPort}`;
    const { deviceId, token } = await setup(base);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 4, username: token, reconnectPeriod: 0 });
    const acks: number[] = [];
    c.on('packetreceive', (p) => {
      if (p.cmd === 'puback') acks.push(p.messageId ?? 0);
    });
    c.publish('v1/devices/me/telemetry', JSON.stringify({ queued: 6 }), { qos: 1 });
    const slow = await slowPost(httpPort, token, JSON.stringify({ never: 7 }));
    await new Promise((r) => setTimeout(r, 200));
    const signalAt = performance.now();
    srv.child.kill('SIGTERM');
    assert.equal(await srv.exit, 0, `exit code (stderr: ${srv.stderr()})`);
    assert.ok(srv.exitedAt() - signalAt < drainMs + 2500, `exited ${Math.round(srv.exitedAt() - signalAt)} ms after SIGTERM`);
    const cut = srv.lines.find((l) => typeof l.msg === 'string' && l.msg.includes('ran out'));
    assert.ok(cut, 'a log line says what was cut');
    assert.equal(cut.httpRequests, 1);
    assert.equal(cut.mqttMessages, 1);
    assert.deepEqual(acks, [], 'the cut message was not acknowledged');
    assert.doesNotMatch(await slow.response, /^HTTP\/1\.1 200 /);
    c.end(true);

    const again = start(dataDir);
    const restarted = await listening(again);
    const data = await latest(`http://127.0.0.1:${restarted.httpPort}`, deviceId);
    assert.equal(data.queued?.value, 6, 'the value that had reached the ingest queue was committed at shutdown');
    assert.equal(data.never, undefined);
    again.child.kill('SIGTERM');
    assert.equal(await again.exit, 0);
  });

  test('a second signal during the drain exits at once with 128 + signal number', async () => {
    const dataDir = freshDir();
    const srv = start(dataDir, { THINGSTEAD_SHUTDOWN_DRAIN_TIMEOUT_MS: '60000' });
    const { httpPort } = await listening(srv);
    const { token } = await setup(`http://127.0.0.1:${httpPort}`);
    const slow = await slowPost(httpPort, token, JSON.stringify({ held: 1 }));
    await new Promise((r) => setTimeout(r, 200));
    srv.child.kill('SIGTERM');
    await waitFor(() => srv.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('shutting down')), 'the shutting-down log line');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(srv.child.exitCode, null, 'still draining: the held request keeps it open');
    const secondAt = performance.now();
    srv.child.kill('SIGINT');
    assert.equal(await srv.exit, 130);
    assert.ok(srv.exitedAt() - secondAt < 2000);
    // The CLI's own lines are JSON log lines like the server's.
    const again = srv.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('SIGINT again: exiting at once'));
    assert.ok(again, 'the second signal is logged');
    assert.equal(again.level, 40);
    assert.equal(again.signal, 'SIGINT');
    assert.ok(srv.lines.some((l) => l.msg === 'SIGTERM: shutting down (send it again to exit at once)' && l.level === 30));
    assert.doesNotMatch(srv.stderr(), /shutting down/);
    slow.socket.destroy();
  });
});

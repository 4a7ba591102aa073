// Talking back to devices (issue 10): attributes over the device API (MQTT and HTTP) and RPC both ways, with
// real clients: mqtt.js (3.1.1 and 5, TCP and WebSocket), mosquitto_sub and fetch.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { startHarness, type Harness } from './harness';

const haveMosquitto = existsSync('/usr/bin/mosquitto_sub');

/** The next message on a topic (filter) of a connected client. */
function nextMessage(c: MqttClient, match: (topic: string) => boolean, ms = 5000): Promise<{ topic: string; json: any; packet: any }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.off('message', on);
      reject(new Error('no message in time'));
    }, ms);
    const on = (topic: string, payload: Buffer, packet: unknown) => {
      if (!match(topic)) return;
      clearTimeout(timer);
      c.off('message', on);
      resolve({ topic, json: JSON.parse(payload.toString()), packet });
    };
    c.on('message', on);
  });
}

describe('device control over MQTT and HTTP', () => {
  let h: Harness;
  let token: string;
  let mqttUrl: string;
  const clients: MqttClient[] = [];
  const connect = async (username: string, o: mqtt.IClientOptions = {}) => {
    const c = await mqtt.connectAsync(mqttUrl, { username, reconnectPeriod: 0, ...o });
    clients.push(c);
    return c;
  };

  before(async () => {
    h = await startHarness();
    token = await h.login();
    mqttUrl = `mqtt://127.0.0.1:${h.app.mqttPorts?.tcp ?? 0}`;
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await h.stop();
  });

  test('client attributes over MQTT and HTTP; attribute requests answer the scopes asked for', async () => {
    const d = await h.createDevice(token, 'attr-dev');
    const c = await connect(d.accessToken, { protocolVersion: 4 });
    await c.publishAsync('v1/devices/me/attributes', JSON.stringify({ firmware: '1.2.0', serial: 'A-17' }), { qos: 1 });
    const viaHttp = await h.call('POST', `/api/v1/${d.accessToken}/attributes`, { body: { battery: 88 } });
    assert.equal(viaHttp.status, 200);
    const read = await h.call('GET', `/api/devices/${d.id}/attributes?scope=client`, { token });
    assert.deepEqual(Object.fromEntries(Object.entries(read.body.client as Record<string, { value: unknown }>).map(([k, v]) => [k, v.value])), {
      firmware: '1.2.0',
      serial: 'A-17',
      battery: 88,
    });
    assert.equal((await h.call('POST', `/api/devices/${d.id}/attributes/shared`, { token, body: { interval: 30, mode: 'eco' } })).status, 200);

    await c.subscribeAsync('v1/devices/me/attributes/response/+', { qos: 1 });
    const answer = nextMessage(c, (t) => t === 'v1/devices/me/attributes/response/7');
    await c.publishAsync('v1/devices/me/attributes/request/7', JSON.stringify({ clientKeys: 'firmware', sharedKeys: 'interval,missing' }), { qos: 1 });
    assert.deepEqual((await answer).json, { client: { firmware: '1.2.0' }, shared: { interval: 30 } });
    const onlyShared = nextMessage(c, (t) => t === 'v1/devices/me/attributes/response/8');
    await c.publishAsync('v1/devices/me/attributes/request/8', JSON.stringify({ sharedKeys: 'mode' }), { qos: 1 });
    assert.deepEqual((await onlyShared).json, { shared: { mode: 'eco' } });

    const all = await h.call('GET', `/api/v1/${d.accessToken}/attributes`);
    assert.deepEqual(all.body, { client: { firmware: '1.2.0', serial: 'A-17', battery: 88 }, shared: { interval: 30, mode: 'eco' } });
    const some = await h.call('GET', `/api/v1/${d.accessToken}/attributes?sharedKeys=mode`);
    assert.deepEqual(some.body, { shared: { mode: 'eco' } });
  });

  test('a shared change reaches only the subscribed target device, over TCP and WebSocket; deletions too', async () => {
    const a = await h.createDevice(token, 'push-a');
    const b = await h.createDevice(token, 'push-b');
    const ca = await connect(a.accessToken, { protocolVersion: 5 });
    const cb = await mqtt.connectAsync(`ws://127.0.0.1:${h.app.httpPort}/mqtt`, { username: b.accessToken, reconnectPeriod: 0 });
    clients.push(cb);
    // Identical filters: each device sees only its own pushes.
    await ca.subscribeAsync('v1/devices/me/attributes', { qos: 1 });
    await cb.subscribeAsync('v1/devices/me/attributes', { qos: 1 });
    const gotB: unknown[] = [];
    cb.on('message', (_t, p) => gotB.push(JSON.parse(p.toString())));
    const pushed = nextMessage(ca, (t) => t === 'v1/devices/me/attributes');
    assert.equal((await h.call('POST', `/api/devices/${a.id}/attributes/shared`, { token, body: { setpoint: 21.5 } })).status, 200);
    assert.deepEqual((await pushed).json, { setpoint: 21.5 });
    const deleted = nextMessage(ca, (t) => t === 'v1/devices/me/attributes');
    assert.equal((await h.call('DELETE', `/api/devices/${a.id}/attributes/shared?keys=setpoint`, { token })).status, 200);
    assert.deepEqual((await deleted).json, { deleted: ['setpoint'] });
    // Server attributes are never shown to the device.
    await h.call('POST', `/api/devices/${a.id}/attributes/server`, { token, body: { secretNote: 'x' } });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(gotB, [], 'device B saw nothing of device A');
  });

  test('an offline device gets the current shared state when it subscribes again', async () => {
    const d = await h.createDevice(token, 'offline-dev');
    const first = await connect(d.accessToken, { clientId: 'offline-dev-1', clean: true });
    await first.endAsync();
    assert.equal((await h.call('POST', `/api/devices/${d.id}/attributes/shared`, { token, body: { valve: 'open', limit: 40 } })).status, 200);
    const back = await connect(d.accessToken, { clientId: 'offline-dev-1', clean: true });
    const snapshot = nextMessage(back, (t) => t === 'v1/devices/me/attributes');
    await back.subscribeAsync('v1/devices/me/attributes', { qos: 1 });
    assert.deepEqual((await snapshot).json, { valve: 'open', limit: 40 });
  });

  test('HTTP long-poll of shared attributes: the change, or 408 after the timeout', async () => {
    const d = await h.createDevice(token, 'http-poll');
    const timedOut = await h.call('GET', `/api/v1/${d.accessToken}/attributes/updates?timeout=100`);
    assert.equal(timedOut.status, 408);
    assert.equal(timedOut.body.code, 'THINGSTEAD_ERR_POLL_TIMEOUT');
    const poll = h.call('GET', `/api/v1/${d.accessToken}/attributes/updates?timeout=5000`);
    await new Promise((r) => setTimeout(r, 100));
    await h.call('POST', `/api/devices/${d.id}/attributes/shared`, { token, body: { color: 'red' } });
    const got = await poll;
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, { color: 'red' });
  });

  test('two-way RPC over MQTT 3.1.1 (ThingsBoard topics) and MQTT 5 (Response Topic, Correlation Data)', async () => {
    const d = await h.createDevice(token, 'rpc-dev');
    const v4 = await connect(d.accessToken, { protocolVersion: 4 });
    await v4.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
    v4.on('message', (topic, payload) => {
      const id = topic.split('/').pop() ?? '';
      const req = JSON.parse(payload.toString()) as { method: string; params: { pin: number } };
      if (req.method === 'getGpio') void v4.publishAsync(`v1/devices/me/rpc/response/${id}`, JSON.stringify({ pin: req.params.pin, value: 1 }));
    });
    const r = await h.call('POST', `/api/devices/${d.id}/rpc`, { token, body: { method: 'getGpio', params: { pin: 4 } } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.response, { pin: 4, value: 1 });
    assert.equal(typeof r.body.rpcId, 'number');
    await v4.endAsync();

    const v5 = await connect(d.accessToken, { protocolVersion: 5 });
    await v5.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
    v5.on('message', (_topic, payload, packet) => {
      const props = packet.properties ?? {};
      const req = JSON.parse(payload.toString()) as { method: string };
      // Native request/response: answer on the Response Topic with the Correlation Data.
      void v5.publishAsync(props.responseTopic ?? '', JSON.stringify({ echoed: req.method }), {
        properties: props.correlationData ? { correlationData: props.correlationData } : {},
      });
    });
    const r5 = await h.call('POST', `/api/devices/${d.id}/rpc`, { token, body: { method: 'ping', timeoutMs: 3000 } });
    assert.equal(r5.status, 200);
    assert.deepEqual(r5.body.response, { echoed: 'ping' });
  });

  test('RPC errors: offline 409, no answer 504, one-way returns at once, bad input 400, viewers refused', async () => {
    const d = await h.createDevice(token, 'rpc-silent');
    const offline = await h.call('POST', `/api/devices/${d.id}/rpc`, { token, body: { method: 'reboot' } });
    assert.equal(offline.status, 409);
    assert.equal(offline.body.code, 'THINGSTEAD_ERR_DEVICE_OFFLINE');
    const c = await connect(d.accessToken);
    await c.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
    const seen = nextMessage(c, (t) => t.startsWith('v1/devices/me/rpc/request/'));
    const silent = await h.call('POST', `/api/devices/${d.id}/rpc`, { token, body: { method: 'reboot', timeoutMs: 300 } });
    assert.equal(silent.status, 504);
    assert.equal(silent.body.code, 'THINGSTEAD_ERR_RPC_TIMEOUT');
    assert.deepEqual((await seen).json, { method: 'reboot', params: {} });
    const oneway = await h.call('POST', `/api/devices/${d.id}/rpc`, { token, body: { method: 'blink', oneway: true } });
    assert.equal(oneway.status, 200);
    assert.equal(oneway.body.oneway, true);
    for (const body of [
      { method: '' },
      { method: 'x'.repeat(129) },
      { method: 'm', timeoutMs: 0 },
      { method: 'm', params: { big: 'x'.repeat(70_000) } },
      { params: {} },
    ]) {
      const bad = await h.call('POST', `/api/devices/${d.id}/rpc`, { token, body });
      assert.equal(bad.status, 400, JSON.stringify(body).slice(0, 80));
    }
    // A late answer to a call that timed out is ignored (and counted), not an error for the device.
    await c.publishAsync(`v1/devices/me/rpc/response/${String(silent.body.details?.rpcId ?? 1)}`, '{"late":true}', { qos: 1 });
    await c.publishAsync('v1/devices/me/rpc/response/not-a-number', '{}', { qos: 1 });
    const metrics = (await h.call('GET', '/metrics')).body as string;
    assert.match(metrics, /thingstead_rpc_responses_unmatched_total [2-9]/);
  });

  test('HTTP devices: long-poll a command and answer it; call a platform method', async () => {
    const d = await h.createDevice(token, 'rpc-http');
    const empty = await h.call('GET', `/api/v1/${d.accessToken}/rpc?timeout=50`);
    assert.equal(empty.status, 408);
    const poll = h.call('GET', `/api/v1/${d.accessToken}/rpc?timeout=5000`);
    await new Promise((r) => setTimeout(r, 100));
    const call = h.call('POST', `/api/devices/${d.id}/rpc`, { token, body: { method: 'setLight', params: { on: true } } });
    const got = await poll;
    assert.equal(got.status, 200);
    assert.equal(got.body.method, 'setLight');
    assert.deepEqual(got.body.params, { on: true });
    assert.equal((await h.call('POST', `/api/v1/${d.accessToken}/rpc/${String(got.body.id)}`, { body: { done: true } })).status, 200);
    assert.deepEqual((await call).body.response, { done: true });

    const time = await h.call('POST', `/api/v1/${d.accessToken}/rpc`, { body: { method: 'getCurrentTime' } });
    assert.equal(time.status, 200);
    assert.ok(Math.abs((time.body as { time: number }).time - Date.now()) < 5000);
    const unknown = await h.call('POST', `/api/v1/${d.accessToken}/rpc`, { body: { method: 'formatDisk' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'THINGSTEAD_ERR_RPC_METHOD_UNKNOWN');
  });

  test('a persistent RPC queued while the device was offline is delivered when it connects and completes; listed, read and deleted over REST', async () => {
    const d = await h.createDevice(token, 'rpc-persistent');
    const queued = await h.call('POST', `/api/devices/${d.id}/rpc`, { token, body: { method: 'setValve', params: { open: true }, persistent: true } });
    assert.equal(queued.status, 200);
    assert.equal(queued.body.status, 'QUEUED');
    const id = queued.body.id as string;
    const other = await h.call('POST', `/api/devices/${d.id}/rpc`, { token, body: { method: 'later', persistent: true } });
    assert.equal((await h.call('DELETE', `/api/rpc/${other.body.id as string}`, { token })).status, 204);
    assert.equal((await h.call('GET', `/api/rpc/${other.body.id as string}`, { token })).status, 404);

    // The device comes online (MQTT 3.1.1, clean session) and subscribes: the queued call arrives, the deleted one never.
    const c = await connect(d.accessToken, { protocolVersion: 4 });
    const seen: string[] = [];
    c.on('message', (topic, payload) => {
      if (topic.startsWith('v1/devices/me/rpc/request/')) seen.push((JSON.parse(payload.toString()) as { method: string }).method);
    });
    const req = nextMessage(c, (t) => t.startsWith('v1/devices/me/rpc/request/'));
    await c.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
    const got = await req;
    assert.deepEqual(got.json, { method: 'setValve', params: { open: true } });
    const rpcId = got.topic.split('/').pop() ?? '';
    assert.equal(rpcId, String(queued.body.rpcId));
    await c.publishAsync(`v1/devices/me/rpc/response/${rpcId}`, JSON.stringify({ open: true, pressure: 2.5 }), { qos: 1 });

    let stored = await h.call('GET', `/api/rpc/${id}`, { token });
    for (let i = 0; i < 50 && stored.body.status !== 'SUCCESSFUL'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      stored = await h.call('GET', `/api/rpc/${id}`, { token });
    }
    assert.equal(stored.body.status, 'SUCCESSFUL');
    assert.deepEqual(stored.body.response, { open: true, pressure: 2.5 });
    assert.equal(stored.body.attempts, 1);
    assert.deepEqual(seen, ['setValve']);
    const list = await h.call('GET', `/api/devices/${d.id}/rpc?status=SUCCESSFUL`, { token });
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.body.items as { id: string }[]).map((x) => x.id),
      [id],
    );
    assert.equal(list.body.total, 1);
    assert.equal((await h.call('GET', `/api/devices/${d.id}/rpc?status=DONE`, { token })).status, 400);
  });

  test('a persistent RPC reaches an HTTP device on its next long-poll', async () => {
    const d = await h.createDevice(token, 'rpc-persistent-http');
    const queued = await h.call('POST', `/api/devices/${d.id}/rpc`, { token, body: { method: 'setLight', params: { on: false }, persistent: true } });
    assert.equal(queued.body.status, 'QUEUED');
    const got = await h.call('GET', `/api/v1/${d.accessToken}/rpc?timeout=5000`);
    assert.equal(got.status, 200);
    assert.equal(got.body.method, 'setLight');
    assert.equal((await h.call('POST', `/api/v1/${d.accessToken}/rpc/${String(got.body.id)}`, { body: { on: false } })).status, 200);
    const stored = await h.call('GET', `/api/rpc/${queued.body.id as string}`, { token });
    assert.equal(stored.body.status, 'SUCCESSFUL');
    assert.deepEqual(stored.body.response, { on: false });
  });

  test('device-to-server RPC over MQTT: getCurrentTime, getSharedAttributes, an unknown method answered with an error', async () => {
    const d = await h.createDevice(token, 'rpc-client');
    await h.call('POST', `/api/devices/${d.id}/attributes/shared`, { token, body: { interval: 15, unit: 'C' } });
    const c = await connect(d.accessToken, { protocolVersion: 4 });
    await c.subscribeAsync('v1/devices/me/rpc/response/+', { qos: 1 });
    const t = nextMessage(c, (x) => x === 'v1/devices/me/rpc/response/1');
    await c.publishAsync('v1/devices/me/rpc/request/1', JSON.stringify({ method: 'getCurrentTime', params: {} }), { qos: 1 });
    assert.ok(Math.abs(((await t).json as { time: number }).time - Date.now()) < 5000);
    const cfg = nextMessage(c, (x) => x === 'v1/devices/me/rpc/response/2');
    await c.publishAsync('v1/devices/me/rpc/request/2', JSON.stringify({ method: 'getSharedAttributes', params: { keys: ['interval'] } }), { qos: 1 });
    assert.deepEqual((await cfg).json, { interval: 15 });
    const bad = nextMessage(c, (x) => x === 'v1/devices/me/rpc/response/3');
    await c.publishAsync('v1/devices/me/rpc/request/3', JSON.stringify({ method: 'nope' }), { qos: 1 });
    assert.equal(((await bad).json as { error: { code: string } }).error.code, 'THINGSTEAD_ERR_RPC_METHOD_UNKNOWN');
  });

  test('a device cannot answer, read or change what belongs to another device', async () => {
    const a = await h.createDevice(token, 'iso-a');
    const b = await h.createDevice(token, 'iso-b');
    const ca = await connect(a.accessToken);
    const cb = await connect(b.accessToken);
    await ca.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
    await cb.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
    // B tries to answer every id it can guess; the call to A must still time out unanswered by B.
    const toA = nextMessage(ca, (t) => t.startsWith('v1/devices/me/rpc/request/'));
    const call = h.call('POST', `/api/devices/${a.id}/rpc`, { token, body: { method: 'open', timeoutMs: 800 } });
    const id = (await toA).topic.split('/').pop() ?? '';
    await cb.publishAsync(`v1/devices/me/rpc/response/${id}`, '{"forged":true}', { qos: 1 });
    assert.equal((await call).status, 504, "B's answer did not count for A");
    // Topics outside v1/devices/me/ stay refused for devices (MQTT 5 PUBACK 0x87).
    const v5 = await connect(b.accessToken, { protocolVersion: 5 });
    await assert.rejects(v5.publishAsync(`devices/${a.id}/v1/devices/me/attributes`, '{"x":1}', { qos: 1 }), { code: 0x87 });
    const read = await h.call('GET', `/api/devices/${a.id}/attributes?scope=client`, { token });
    assert.deepEqual(read.body.client, {});
  });

  test('mosquitto_sub as a device receives a shared-attribute push', { skip: !haveMosquitto }, async () => {
    const d = await h.createDevice(token, 'mosq-dev');
    const sub = spawn('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(h.app.mqttPorts?.tcp),
      '-u',
      d.accessToken,
      '-t',
      'v1/devices/me/attributes',
      '-q',
      '1',
      '-C',
      '1',
      '-W',
      '10',
    ]);
    let out = '';
    sub.stdout.on('data', (x: Buffer) => (out += x.toString()));
    // 'close', not 'exit': the process can exit before its stdout was read to the end (the output was then empty).
    const exited = new Promise<number | null>((resolve) => sub.on('close', resolve));
    const topic = `devices/${d.id}/v1/devices/me/attributes`;
    for (let i = 0; i < 500 && h.app.broker?.hasSubscribers(topic) !== true; i++) await new Promise((r) => setTimeout(r, 20));
    await h.call('POST', `/api/devices/${d.id}/attributes/shared`, { token, body: { fan: 'on' } });
    assert.equal(await exited, 0);
    assert.deepEqual(JSON.parse(out), { fan: 'on' });
  });
});

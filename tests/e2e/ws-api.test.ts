import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqtt from 'mqtt';
import { SignJWT } from 'jose';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startHarness, type Harness } from './harness';

/** A live API client over a real socket: every message kept, waits for one that matches. */
class LiveClient {
  readonly got: any[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { match: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString('utf8'));
      this.got.push(m);
      const [matched, rest] = [this.waiters.filter((w) => w.match(m)), this.waiters.filter((w) => !w.match(m))];
      this.waiters = rest;
      for (const w of matched) w.resolve(m);
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: String(reason) });
      }),
    );
  }
  /** The first message (already received or to come) that matches. */
  next(match: (m: any) => boolean, timeoutMs = 5000): Promise<any> {
    const had = this.got.find(match);
    if (had) return Promise.resolve(had);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.got).slice(-800)}`));
      }, timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }
  send(m: unknown): void {
    this.ws.send(JSON.stringify(m));
  }
  of(id: string): any[] {
    return this.got.filter((m) => m.id === id);
  }
  async subscribe(m: Record<string, unknown>): Promise<any> {
    this.send({ type: 'subscribe', ...m });
    return this.next((x) => x.id === m.id && (x.type === 'subscribed' || x.type === 'error'));
  }
}

const open = (url: string, headers: Record<string, string> = {}) =>
  new Promise<LiveClient>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const c = new LiveClient(ws);
    ws.once('open', () => {
      resolve(c);
    });
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    ws.once('error', reject);
  });

describe('live WebSocket API (/api/ws)', () => {
  let h: Harness;
  let wsUrl: string;
  let tokenA: string;
  let keyA: string;
  let tokenB: string;
  let sensors: string;
  let hall: { id: string; accessToken: string };
  let yard: { id: string; accessToken: string };
  let theirs: { id: string; accessToken: string };
  const clients: LiveClient[] = [];
  const connect = async (o: { header?: string; auth?: string } = {}) => {
    const c = await open(wsUrl, o.header === undefined ? {} : { authorization: `Bearer ${o.header}` });
    clients.push(c);
    if (o.auth !== undefined) c.send({ type: 'auth', token: o.auth });
    if (o.header !== undefined || o.auth !== undefined) await c.next((m) => m.type === 'authenticated');
    return c;
  };
  const post = async (device: { accessToken: string }, body: unknown) => {
    const r = await h.call('POST', `/api/v1/${device.accessToken}/telemetry`, { body });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  before(async () => {
    h = await startHarness({ THINGSTEAD_WS_AUTH_TIMEOUT_MS: '300' });
    wsUrl = `ws://127.0.0.1:${h.app.httpPort}/api/ws`;
    const admin = await h.login();
    const tenantA = (await h.call('GET', '/api/auth/me', { token: admin })).body.user.tenantId as string;
    const tenantB = (await h.call('POST', '/api/tenants', { token: admin, body: { name: 'Beta' } })).body.id as string;
    const mkUser = async (email: string, tenantId: string) => {
      const r = await h.call('POST', '/api/users', { token: admin, body: { email, password: 'password-123', role: 'tenant-admin', tenantId } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return h.login(email, 'password-123');
    };
    tokenA = await mkUser('alice@a.example', tenantA);
    tokenB = await mkUser('bob@b.example', tenantB);
    keyA = (await h.call('POST', '/api/api-keys', { token: tokenA, body: { name: 'dashboard' } })).body.key as string;
    sensors = (await h.call('POST', '/api/device-profiles', { token: tokenA, body: { name: 'sensors' } })).body.id as string;
    const mk = async (token: string, name: string, profileId?: string) => {
      const r = await h.call('POST', '/api/devices', { token, body: profileId ? { name, profileId } : { name } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const accessToken = (await h.call('GET', `/api/devices/${r.body.id}/credentials`, { token })).body.accessToken as string;
      return { id: r.body.id as string, accessToken };
    };
    hall = await mk(tokenA, 'hall-1', sensors);
    yard = await mk(tokenA, 'yard-1');
    theirs = await mk(tokenB, 'hall-9');
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await h.stop();
  });

  test('authenticates by the upgrade header or by a first auth message (token or API key); a bad or missing one is closed 4401 / 4408', async () => {
    const byHeader = await connect({ header: tokenA });
    assert.equal(byHeader.got[0].type, 'authenticated');
    const byKey = await connect({ auth: keyA });
    assert.equal(byKey.got[0].role, 'tenant-admin');
    assert.equal((await (await open(wsUrl, { authorization: 'Bearer not-a-token' })).closed).code, 4401);
    const badMessage = await open(wsUrl);
    badMessage.send({ type: 'auth', token: 'tsk_nope' });
    assert.equal((await badMessage.closed).code, 4401);
    const early = await open(wsUrl);
    early.send({ type: 'subscribe', id: 'x', kind: 'events', target: { filter: {} } });
    assert.equal((await early.closed).code, 4401, 'a request before auth');
    const silent = await open(wsUrl);
    assert.equal((await silent.closed).code, 4408);
  });

  test('latest telemetry arrives live and in order after MQTT publishes (TCP and WebSocket on the same HTTP port) and HTTP posts', async () => {
    const c = await connect({ header: tokenA });
    assert.equal((await c.subscribe({ id: 'hall', kind: 'telemetry', target: { deviceId: hall.id }, keys: ['temp'] })).type, 'subscribed');
    const tcp = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.app.mqttPorts?.tcp}`, { username: hall.accessToken, reconnectPeriod: 0 });
    const overWs = await mqtt.connectAsync(`ws://127.0.0.1:${h.app.httpPort}/mqtt`, { username: hall.accessToken, reconnectPeriod: 0 });
    try {
      await tcp.publishAsync('v1/devices/me/telemetry', JSON.stringify({ temp: 1 }), { qos: 1 });
      await post(hall, { temp: 2, other: 0 });
      await overWs.publishAsync('v1/devices/me/telemetry', JSON.stringify({ temp: 3 }), { qos: 1 });
      await post(hall, { temp: 4 });
    } finally {
      await tcp.endAsync();
      await overWs.endAsync();
    }
    await c.next((m) => m.id === 'hall' && m.type === 'telemetry' && m.values.temp?.value === 4);
    const seen = c.of('hall').filter((m) => m.type === 'telemetry');
    assert.deepEqual(
      seen.map((m) => m.values.temp.value),
      [1, 2, 3, 4],
    );
    assert.ok(
      seen.every((m) => Object.keys(m.values).join() === 'temp'),
      'only the keys asked for',
    );
  });

  test('attributes changed over REST and connectivity changes arrive live, after the current values', async () => {
    assert.equal((await h.call('POST', `/api/devices/${yard.id}/attributes/shared`, { token: tokenA, body: { target: 20 } })).status, 200);
    const c = await connect({ auth: tokenA });
    await c.subscribe({ id: 'attrs', kind: 'attributes', target: { deviceId: yard.id } });
    await c.subscribe({ id: 'conn', kind: 'connectivity', target: { deviceId: yard.id } });
    const first = await c.next((m) => m.id === 'attrs' && m.type === 'attributes');
    assert.equal(first.updated.target.value, 20, 'the current value first');
    for (const target of [21, 22])
      assert.equal((await h.call('POST', `/api/devices/${yard.id}/attributes/shared`, { token: tokenA, body: { target } })).status, 200);
    assert.equal((await h.call('DELETE', `/api/devices/${yard.id}/attributes/shared?keys=target`, { token: tokenA })).status, 200);
    await c.next((m) => m.id === 'attrs' && m.deleted?.includes('target'));
    assert.deepEqual(
      c
        .of('attrs')
        .filter((m) => m.type === 'attributes')
        .map((m) => [m.updated.target?.value ?? null, m.deleted]),
      [
        [20, []],
        [21, []],
        [22, []],
        [null, ['target']],
      ],
    );
    // A real device connection: connected when it opens, disconnected when it ends.
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.app.mqttPorts?.tcp}`, { username: yard.accessToken, reconnectPeriod: 0 });
    await c.next((m) => m.id === 'conn' && m.change === 'connected');
    await device.endAsync();
    await c.next((m) => m.id === 'conn' && m.change === 'disconnected');
    assert.deepEqual(
      c
        .of('conn')
        .filter((m) => m.type === 'connectivity' && m.change !== 'active')
        .map((m) => [m.change, m.connected]),
      [
        ['connected', true],
        ['disconnected', false],
      ],
    );
  });

  test('a filter by profile or name prefix gets the matching devices of its own tenant only', async () => {
    const c = await connect({ header: keyA });
    await c.subscribe({ id: 'profile', kind: 'telemetry', target: { filter: { profileId: sensors } } });
    await c.subscribe({ id: 'prefix', kind: 'telemetry', target: { filter: { namePrefix: 'hall-' } } });
    await post(theirs, { v: 'b' });
    await post(yard, { v: 'yard' });
    await post(hall, { v: 'hall' });
    await c.next((m) => m.id === 'prefix' && m.values?.v?.value === 'hall');
    await c.next((m) => m.id === 'profile' && m.values?.v?.value === 'hall');
    const devices = (id: string) =>
      c
        .of(id)
        .filter((m) => m.type === 'telemetry')
        .map((m) => m.deviceId);
    assert.deepEqual(devices('profile'), [hall.id]);
    assert.deepEqual(devices('prefix'), [hall.id], "hall-9 is another tenant's");
  });

  test('cross-tenant subscriptions are refused as not found, and the socket stays usable', async () => {
    const c = await connect({ header: tokenB });
    for (const m of [
      { id: 'dev', kind: 'telemetry', target: { deviceId: hall.id } },
      { id: 'series', kind: 'series', deviceId: hall.id, from: 0 },
      { id: 'tenant', kind: 'attributes', target: { filter: { tenantId: (await h.app.store.devices.get(hall.id))!.tenantId } } },
      { id: 'profile', kind: 'connectivity', target: { filter: { profileId: sensors } } },
    ]) {
      const r = await c.subscribe(m);
      assert.equal(r.type, 'error');
      assert.equal(r.code, 'THINGSTEAD_ERR_NOT_FOUND');
    }
    const bad = await c.subscribe({ id: 'bad', kind: 'telemetry', target: { deviceId: 42 } });
    assert.equal(bad.code, 'THINGSTEAD_ERR_VALIDATION');
    assert.equal((await c.subscribe({ id: 'own', kind: 'telemetry', target: { deviceId: theirs.id } })).type, 'subscribed');
    await post(hall, { v: 'not for bob' });
    await post(theirs, { v: 'bob' });
    await c.next((m) => m.id === 'own' && m.values?.v?.value === 'bob');
    assert.ok(!c.got.some((m) => m.deviceId === hall.id));
  });

  test('a time series from a start: the history, then live values, with no gap or duplicate while writes go on', async () => {
    const d = await h.createDevice(tokenA, 'meter');
    const base = Date.now() - 60_000;
    const all: number[] = [];
    let n = 0;
    const write = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const v = n++;
        all.push(v);
        await post(d, { ts: base + v, values: { e: v } });
      }
    };
    await write(40);
    const c = await connect({ header: tokenA });
    // Two writers run while the subscription reads its history and goes live.
    await Promise.all([write(40), c.subscribe({ id: 'ts', kind: 'series', deviceId: d.id, from: base + 5 })]);
    await write(20);
    const last = n - 1;
    await c.next((m) => m.id === 'ts' && m.type === 'series' && m.data.e?.some((p: any) => p.value === last));
    const values = c.of('ts').flatMap((m) => (m.type === 'series' ? m.data.e.map((p: any) => p.value) : []));
    assert.deepEqual(
      values,
      all.filter((v) => v >= 5).sort((a, b) => a - b),
      'each value from the start once, in ts order',
    );
    const end = c.of('ts').findIndex((m) => m.type === 'history.end');
    assert.ok(end > 0);
  });

  test('a session made with an access token ends (4401) when the token expires', async () => {
    // A token of the server's own secret that expires in 2 s (configured lifetimes are 60 s at least).
    const me = (await h.call('GET', '/api/auth/me', { token: tokenA })).body.user as { id: string; tenantId: string; role: string };
    const secret = new TextEncoder().encode(readFileSync(join(h.dataDir, 'jwt-secret'), 'utf8').trim());
    const short = await new SignJWT({ tid: me.tenantId, role: me.role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(me.id)
      .setIssuer('thingstead')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
      .sign(secret);
    const c = await connect({ header: short });
    const started = Date.now();
    const closed = await c.closed;
    assert.equal(closed.code, 4401);
    assert.match(closed.reason, /expired/);
    assert.ok(Date.now() - started < 4000);
  });

  test('the upgrade router serves /mqtt and /api/ws on one port and answers 404 for other paths', async () => {
    await assert.rejects(open(`ws://127.0.0.1:${h.app.httpPort}/api/nope`), /HTTP 404/);
  });
});

// Heap figures after a full collection: without one, the garbage of the ingest itself (64 MB of values) counts.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('a slow live API client', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ THINGSTEAD_WS_MAX_QUEUED_MESSAGES: '20' });
  });
  after(() => h.stop());

  test('one that does not read is conflated to the latest value per key, or closed 4429 when what waits cannot be merged; memory stays bounded', async () => {
    const token = await h.login();
    const d = await h.createDevice(token, 'firehose');
    const device = (await h.app.store.devices.get(d.id))!;
    const url = `ws://127.0.0.1:${h.app.httpPort}/api/ws`;
    const latest = await open(url, { authorization: `Bearer ${token}` });
    const series = await open(url, { authorization: `Bearer ${token}` });
    latest.send({ type: 'subscribe', id: 'l', kind: 'telemetry', target: { deviceId: d.id } });
    series.send({ type: 'subscribe', id: 's', kind: 'series', deviceId: d.id, from: Date.now() - 1000 });
    await latest.next((m) => m.type === 'subscribed');
    await series.next((m) => m.type === 'history.end');
    latest.ws.pause();
    series.ws.pause();
    // 64 MB of values, far more than the socket buffers hold: without a bound the server would keep it all.
    const big = 'x'.repeat(16_000);
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const count = 4000;
    for (let i = 0; i < count; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          h.app.core.telemetry.ingest({ deviceId: d.id, tenantId: device.tenantId, receivedAt: Date.now(), payload: { a: `${i + j}:${big}`, n: i + j } }),
        ),
      );
    await h.app.bus.drain();
    assert.equal(h.app.core.live.sessionCount, 1, 'the series session ended, the latest one stays');
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(heapGrowth < 48 * 1_048_576, `heap grew by ${Math.round(heapGrowth / 1_048_576)} MB`);
    const metrics = await (await fetch(`http://127.0.0.1:${h.app.httpPort}/metrics`)).text();
    const conflated = Number(/^thingstead_ws_conflated_total (\d+)/m.exec(metrics)?.[1]);
    assert.ok(conflated > 0, 'values were conflated');
    assert.match(metrics, /^thingstead_ws_connections 2$/m);
    latest.ws.resume();
    series.ws.resume();
    assert.equal((await series.closed).code, 4429);
    const final = await latest.next((m) => m.type === 'telemetry' && m.values.n?.value === count - 1, 20_000);
    const received = latest.got.filter((m) => m.type === 'telemetry');
    assert.ok(received.length < count / 2, `${received.length} messages for ${count} updates`);
    assert.ok(received.some((m) => (m.conflated ?? 0) > 0));
    assert.ok(final.values.a.value.startsWith(`${count - 1}:`));
    latest.ws.close();
    await latest.closed;
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startHarness, type Harness } from './harness';

/**
 * DESIGN.md invariant 8 over real MQTT connections: a session belongs to the principal that made it, and
 * revoking a credential or deleting a principal ends its live connections at once.
 */
describe('MQTT identity: sessions per principal, revocation ends connections', () => {
  let h: Harness;
  let admin: string;
  const a = { tenant: '', token: '', apiKey: '', device: '', deviceToken: '' };
  const b = { tenant: '', token: '', apiKey: '', device: '', deviceToken: '' };

  const url = () => `mqtt://127.0.0.1:${h.app.mqttPorts!.tcp}`;
  const connect = async (o: IClientOptions): Promise<MqttClient> => mqtt.connectAsync(url(), { reconnectPeriod: 0, connectTimeout: 5000, ...o });
  const persistent = (username: string, clientId: string): IClientOptions => ({
    protocolVersion: 5,
    username,
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
  });
  const closedWith = (c: MqttClient) =>
    new Promise<{ reasonCode: number | undefined; reasonString: string | undefined }>((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new Error('the connection was not ended'));
      }, 5000);
      c.once('disconnect', (p) => {
        clearTimeout(t);
        resolve({ reasonCode: p.reasonCode, reasonString: p.properties?.reasonString });
      });
    });
  const newDevice = async (token: string, name: string) => {
    const id = (await h.call('POST', '/api/devices', { token, body: { name } })).body.id as string;
    return { id, accessToken: (await h.call('GET', `/api/devices/${id}/credentials`, { token })).body.accessToken as string };
  };
  const sessions = async () => Number(/^thingstead_mqtt_sessions (\d+)$/m.exec((await h.call('GET', '/metrics')).body as string)?.[1]);
  const newApiKey = async (token: string, name: string) => {
    const r = await h.call('POST', '/api/api-keys', { token, body: { name } });
    return { id: r.body.id as string, key: r.body.key as string };
  };

  before(async () => {
    h = await startHarness();
    admin = await h.login();
    b.tenant = (await h.call('POST', '/api/tenants', { token: admin, body: { name: 'Beta' } })).body.id;
    a.tenant = (await h.call('GET', '/api/auth/me', { token: admin })).body.user.tenantId;
    for (const [t, email] of [
      [a, 'alice@a.example'],
      [b, 'bob@b.example'],
    ] as const) {
      const r = await h.call('POST', '/api/users', { token: admin, body: { email, password: 'password-123', role: 'tenant-admin', tenantId: t.tenant } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      t.token = await h.login(email, 'password-123');
      t.apiKey = (await newApiKey(t.token, 'dashboard')).key;
      const d = await newDevice(t.token, `${email}-meter`);
      t.device = d.id;
      t.deviceToken = d.accessToken;
    }
  });
  after(() => h.stop());

  test("hijack: tenant B's API key with tenant A's application client id resumes nothing, receives nothing, and leaves A's session intact", async () => {
    const appA = await connect(persistent(a.apiKey, 'dashboard-1'));
    await appA.subscribeAsync(`tenants/${a.tenant}/devices/+/telemetry`, { qos: 1 });
    await appA.endAsync();
    const devA = await connect({ username: a.deviceToken, clientId: 'meter-a' });
    await devA.publishAsync('v1/devices/me/telemetry', '{"queued":1}', { qos: 1 });

    const got: string[] = [];
    const thief = mqtt.connect(url(), { ...persistent(b.apiKey, 'dashboard-1'), reconnectPeriod: 0 });
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => thief.once('connect', resolve));
    assert.equal(connack.sessionPresent, false, "tenant B must not resume tenant A's session");
    thief.on('message', (_t, p) => got.push(p.toString()));
    await devA.publishAsync('v1/devices/me/telemetry', '{"live":2}', { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(got, [], "tenant B got none of tenant A's telemetry");
    await thief.endAsync();

    const back = mqtt.connect(url(), { ...persistent(a.apiKey, 'dashboard-1'), reconnectPeriod: 0 });
    const received: unknown[] = [];
    back.on('message', (_t, p) => received.push(JSON.parse(p.toString())));
    const ack = await new Promise<{ sessionPresent: boolean }>((resolve) => back.once('connect', resolve));
    assert.equal(ack.sessionPresent, true, "A's session survived B's connection");
    for (let i = 0; i < 50 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      received.map((r) => (r as { values: unknown }[])[0]?.values),
      [{ queued: 1 }, { live: 2 }],
    );
    await back.endAsync();
    await devA.endAsync();
  });

  test('hijack: a device of tenant B with the client id of an online device of tenant A does not kick it (no 0x8E)', async () => {
    const devA = await connect({ protocolVersion: 5, username: a.deviceToken, clientId: 'shared-id' });
    let kicked = false;
    devA.on('disconnect', () => (kicked = true));
    devA.on('close', () => (kicked = true));
    const devB = await connect({ protocolVersion: 5, username: b.deviceToken, clientId: 'shared-id' });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(kicked, false);
    await devA.publishAsync('v1/devices/me/telemetry', '{"stillHere":1}', { qos: 1 });
    await devB.endAsync();
    await devA.endAsync();
  });

  test('revoking an API key disconnects the applications using it (DISCONNECT 0x87)', async () => {
    const k = await newApiKey(a.token, 'short-lived');
    const app = await connect({ protocolVersion: 5, username: k.key, clientId: 'short-lived' });
    const closed = closedWith(app);
    assert.equal((await h.call('DELETE', `/api/api-keys/${k.id}`, { token: a.token })).status, 204);
    assert.deepEqual(await closed, { reasonCode: 0x87, reasonString: 'API key revoked' });
    await assert.rejects(connect({ protocolVersion: 5, username: k.key, clientId: 'short-lived' }));
  });

  test("rotating a device's credentials disconnects it; the old token no longer connects", async () => {
    const d = await newDevice(a.token, 'rotated');
    const dev = await connect({ protocolVersion: 5, username: d.accessToken, clientId: 'rotated' });
    const closed = closedWith(dev);
    assert.equal((await h.call('POST', `/api/devices/${d.id}/credentials/rotate`, { token: a.token })).status, 200);
    assert.deepEqual(await closed, { reasonCode: 0x87, reasonString: 'device credentials changed' });
    await assert.rejects(connect({ protocolVersion: 5, username: d.accessToken, clientId: 'rotated' }));
  });

  test('deleting a device disconnects it at once (3.1.1: the connection closes) and its credentials no longer connect', async () => {
    const d = await newDevice(a.token, 'doomed');
    const dev = await connect({ protocolVersion: 4, username: d.accessToken, clientId: 'doomed' });
    await dev.publishAsync('v1/devices/me/telemetry', '{"before":1}', { qos: 1 });
    const closed = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new Error('the connection was not ended'));
      }, 5000);
      dev.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    assert.equal((await h.call('DELETE', `/api/devices/${d.id}`, { token: a.token })).status, 204);
    await closed;
    dev.end(true);
    await assert.rejects(connect({ protocolVersion: 4, username: d.accessToken, clientId: 'doomed' }));
  });

  test('deleting a user disconnects their applications and deletes their stored sessions', async () => {
    const user = (await h.call('POST', '/api/users', { token: a.token, body: { email: 'temp@a.example', password: 'password-123', role: 'viewer' } })).body
      .id as string;
    const token = await h.login('temp@a.example', 'password-123');
    const k = await newApiKey(token, 'temp');
    const app = await connect(persistent(k.key, 'temp-app'));
    await app.subscribeAsync(`tenants/${a.tenant}/devices/+/telemetry`, { qos: 1 });
    const sessionsBefore = await sessions();
    const closed = closedWith(app);
    assert.equal((await h.call('DELETE', `/api/users/${user}`, { token: a.token })).status, 204);
    assert.deepEqual(await closed, { reasonCode: 0x87, reasonString: 'user deleted' });
    assert.equal(await sessions(), sessionsBefore - 1, 'the persistent session is gone');
  });

  test('disabling a user disconnects their applications; login, access token, refresh and API key are refused until enabled again', async () => {
    const user = (await h.call('POST', '/api/users', { token: a.token, body: { email: 'paused@a.example', password: 'password-123', role: 'viewer' } })).body
      .id as string;
    const session = (await h.call('POST', '/api/auth/login', { body: { email: 'paused@a.example', password: 'password-123' } })).body;
    const k = await newApiKey(session.token, 'paused');
    const app = await connect({ protocolVersion: 5, username: k.key, clientId: 'paused-app' });
    const closed = closedWith(app);
    const r = await h.call('PATCH', `/api/users/${user}`, { token: a.token, body: { disabled: true } });
    assert.equal(r.status, 200);
    assert.equal(r.body.disabled, true);
    assert.deepEqual(await closed, { reasonCode: 0x87, reasonString: 'user disabled' });
    await assert.rejects(connect({ protocolVersion: 5, username: k.key, clientId: 'paused-app' }), 'the API key no longer connects');
    assert.equal(
      (await h.call('POST', '/api/auth/login', { body: { email: 'paused@a.example', password: 'password-123' } })).body.code,
      'THINGSTEAD_ERR_ACCOUNT_DISABLED',
    );
    assert.equal((await h.call('GET', '/api/auth/me', { token: session.token })).status, 403);
    assert.equal((await h.call('GET', '/api/auth/me', { headers: { 'x-api-key': k.key } })).status, 403);
    assert.equal((await h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } })).status, 401);
    assert.equal((await h.call('PATCH', `/api/users/${user}`, { token: a.token, body: { disabled: false } })).status, 200);
    await h.login('paused@a.example', 'password-123');
    (await connect({ protocolVersion: 5, username: k.key, clientId: 'paused-app' })).end(true);
  });

  test("changing a user's role disconnects their applications", async () => {
    const user = (await h.call('POST', '/api/users', { token: a.token, body: { email: 'demoted@a.example', password: 'password-123', role: 'tenant-admin' } }))
      .body.id as string;
    const token = await h.login('demoted@a.example', 'password-123');
    const k = await newApiKey(token, 'demoted');
    const app = await connect({ protocolVersion: 5, username: k.key, clientId: 'demoted-app' });
    const closed = closedWith(app);
    assert.equal((await h.call('PATCH', `/api/users/${user}`, { token: a.token, body: { role: 'viewer' } })).status, 200);
    assert.deepEqual(await closed, { reasonCode: 0x87, reasonString: 'user permissions changed' });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './harness';

/**
 * A user of tenant A can neither read nor change anything of tenant B, on every admin endpoint. The route
 * inventory check at the end fails when an endpoint is added without a case here.
 */
describe('tenant isolation across every admin endpoint', () => {
  let h: Harness;
  const b: any = {};
  const a: any = {};
  let tokenA: string;
  let viewerA: string;
  let tokenB: string;
  let deviceTokenB: string;
  const covered = new Set<string>();

  const expectStatus = async (token: string, method: string, route: string, path: string, expected: number, body?: unknown) => {
    covered.add(`${method} ${route}`);
    const r = await h.call(method, path, body === undefined ? { token } : { token, body });
    assert.equal(r.status, expected, `${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
    if (expected >= 400) assert.match(r.body.code, /^THINGSTEAD_ERR_/);
    return r;
  };

  before(async () => {
    h = await startHarness();
    const admin = await h.login();
    const tenantB = await h.call('POST', '/api/tenants', { token: admin, body: { name: 'Beta' } });
    assert.equal(tenantB.status, 201);
    b.tenant = tenantB.body.id;
    a.tenant = (await h.call('GET', '/api/auth/me', { token: admin })).body.user.tenantId;
    const mkUser = async (email: string, role: string, tenantId: string) => {
      const r = await h.call('POST', '/api/users', { token: admin, body: { email, password: 'password-123', role, tenantId } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.id as string;
    };
    a.user = await mkUser('alice@a.example', 'tenant-admin', a.tenant);
    a.viewer = await mkUser('victor@a.example', 'viewer', a.tenant);
    b.user = await mkUser('bob@b.example', 'tenant-admin', b.tenant);
    tokenA = await h.login('alice@a.example', 'password-123');
    viewerA = await h.login('victor@a.example', 'password-123');
    tokenB = await h.login('bob@b.example', 'password-123');
    b.profile = (await h.call('POST', '/api/device-profiles', { token: tokenB, body: { name: 'b-sensors' } })).body.id;
    b.device = (await h.call('POST', '/api/devices', { token: tokenB, body: { name: 'b-device', profileId: b.profile } })).body.id;
    deviceTokenB = (await h.call('GET', `/api/devices/${b.device}/credentials`, { token: tokenB })).body.accessToken;
    assert.equal((await h.call('POST', `/api/v1/${deviceTokenB}/telemetry`, { body: { secret: 42 } })).status, 200);
    const key = await h.call('POST', '/api/api-keys', { token: tokenB, body: { name: 'b-script' } });
    b.apiKey = key.body.id;
    b.apiKeySecret = key.body.key;
    a.device = (await h.call('POST', '/api/devices', { token: tokenA, body: { name: 'a-device' } })).body.id;
  });
  after(() => h.stop());

  test('tenants: A sees only itself and cannot touch B', async () => {
    const list = await expectStatus(tokenA, 'GET', '/api/tenants', '/api/tenants', 200);
    assert.deepEqual(
      list.body.items.map((t: { id: string }) => t.id),
      [a.tenant],
    );
    await expectStatus(tokenA, 'POST', '/api/tenants', '/api/tenants', 403, { name: 'Gamma' });
    await expectStatus(tokenA, 'GET', '/api/tenants/:id', `/api/tenants/${b.tenant}`, 404);
    await expectStatus(tokenA, 'PATCH', '/api/tenants/:id', `/api/tenants/${b.tenant}`, 403, { name: 'Hacked' });
    await expectStatus(tokenA, 'DELETE', '/api/tenants/:id', `/api/tenants/${b.tenant}`, 403);
  });

  test('users: B users are invisible and unchangeable', async () => {
    const list = await expectStatus(tokenA, 'GET', '/api/users', '/api/users', 200);
    assert.ok(list.body.items.every((u: { tenantId: string }) => u.tenantId === a.tenant));
    await expectStatus(tokenA, 'GET', '/api/users', `/api/users?tenantId=${b.tenant}`, 404);
    await expectStatus(tokenA, 'POST', '/api/users', '/api/users', 404, {
      email: 'mole@b.example',
      password: 'password-123',
      role: 'tenant-admin',
      tenantId: b.tenant,
    });
    await expectStatus(tokenA, 'GET', '/api/users/:id', `/api/users/${b.user}`, 404);
    await expectStatus(tokenA, 'PATCH', '/api/users/:id', `/api/users/${b.user}`, 404, { password: 'owned-by-alice' });
    await expectStatus(tokenA, 'DELETE', '/api/users/:id', `/api/users/${b.user}`, 404);
    await expectStatus(tokenA, 'GET', '/api/auth/me', '/api/auth/me', 200);
  });

  test('API keys: B keys are invisible and cannot be revoked', async () => {
    const list = await expectStatus(tokenA, 'GET', '/api/api-keys', '/api/api-keys', 200);
    assert.ok(list.body.items.every((k: { tenantId: string }) => k.tenantId === a.tenant));
    const mine = await expectStatus(tokenA, 'POST', '/api/api-keys', '/api/api-keys', 201, { name: 'a-script' });
    assert.equal(mine.body.tenantId, a.tenant);
    await expectStatus(tokenA, 'DELETE', '/api/api-keys/:id', `/api/api-keys/${b.apiKey}`, 404);
  });

  test('device profiles: B profiles are invisible and unchangeable', async () => {
    const list = await expectStatus(tokenA, 'GET', '/api/device-profiles', '/api/device-profiles', 200);
    assert.ok(list.body.items.every((p: { tenantId: string }) => p.tenantId === a.tenant));
    await expectStatus(tokenA, 'GET', '/api/device-profiles', `/api/device-profiles?tenantId=${b.tenant}`, 404);
    await expectStatus(tokenA, 'POST', '/api/device-profiles', '/api/device-profiles', 404, { name: 'x', tenantId: b.tenant });
    await expectStatus(tokenA, 'GET', '/api/device-profiles/:id', `/api/device-profiles/${b.profile}`, 404);
    await expectStatus(tokenA, 'PATCH', '/api/device-profiles/:id', `/api/device-profiles/${b.profile}`, 404, { name: 'owned' });
    await expectStatus(tokenA, 'DELETE', '/api/device-profiles/:id', `/api/device-profiles/${b.profile}`, 404);
  });

  test('devices, credentials and telemetry: B devices are invisible and unchangeable', async () => {
    const list = await expectStatus(tokenA, 'GET', '/api/devices', '/api/devices', 200);
    assert.deepEqual(
      list.body.items.map((d: { id: string }) => d.id),
      [a.device],
    );
    await expectStatus(tokenA, 'GET', '/api/devices', `/api/devices?tenantId=${b.tenant}`, 404);
    await expectStatus(tokenA, 'POST', '/api/devices', '/api/devices', 404, { name: 'mole', tenantId: b.tenant });
    await expectStatus(tokenA, 'POST', '/api/devices', '/api/devices', 400, { name: 'mole', profileId: b.profile });
    await expectStatus(tokenA, 'GET', '/api/devices/:id', `/api/devices/${b.device}`, 404);
    await expectStatus(tokenA, 'PATCH', '/api/devices/:id', `/api/devices/${b.device}`, 404, { name: 'owned' });
    await expectStatus(tokenA, 'PATCH', '/api/devices/:id', `/api/devices/${a.device}`, 400, { profileId: b.profile });
    await expectStatus(tokenA, 'DELETE', '/api/devices/:id', `/api/devices/${b.device}`, 404);
    await expectStatus(tokenA, 'GET', '/api/devices/:id/credentials', `/api/devices/${b.device}/credentials`, 404);
    await expectStatus(tokenA, 'POST', '/api/devices/:id/credentials/rotate', `/api/devices/${b.device}/credentials/rotate`, 404);
    await expectStatus(tokenA, 'GET', '/api/devices/:id/connectivity', `/api/devices/${b.device}/connectivity`, 404);
    await expectStatus(tokenA, 'GET', '/api/devices/:id/telemetry', `/api/devices/${b.device}/telemetry`, 404);
    await expectStatus(tokenA, 'GET', '/api/devices/:id/telemetry/latest', `/api/devices/${b.device}/telemetry/latest`, 404);
    await expectStatus(tokenA, 'GET', '/api/devices/:id/telemetry/keys', `/api/devices/${b.device}/telemetry/keys`, 404);
  });

  test('attributes and twin: B devices are invisible and unchangeable', async () => {
    await expectStatus(tokenA, 'GET', '/api/devices/:id/attributes', `/api/devices/${b.device}/attributes`, 404);
    await expectStatus(tokenA, 'POST', '/api/devices/:id/attributes/:scope', `/api/devices/${b.device}/attributes/shared`, 404, { owned: true });
    await expectStatus(tokenA, 'DELETE', '/api/devices/:id/attributes/:scope', `/api/devices/${b.device}/attributes/shared?keys=owned`, 404);
    await expectStatus(tokenA, 'GET', '/api/devices/:id/twin', `/api/devices/${b.device}/twin`, 404);
    await expectStatus(tokenA, 'PATCH', '/api/devices/:id/twin/desired', `/api/devices/${b.device}/twin/desired`, 404, {
      version: 0,
      desired: { owned: true },
    });
    // Commands too: B's device is not found for A, whether B's device is online or not.
    await expectStatus(tokenA, 'POST', '/api/devices/:id/rpc', `/api/devices/${b.device}/rpc`, 404, { method: 'reboot' });
    await expectStatus(tokenA, 'POST', '/api/devices/:id/rpc', `/api/devices/${b.device}/rpc`, 404, { method: 'reboot', persistent: true });
    // B's stored (persistent) calls: neither listed, read nor deleted by A.
    const queued = await h.call('POST', `/api/devices/${b.device}/rpc`, { token: tokenB, body: { method: 'bSecret', persistent: true } });
    assert.equal(queued.status, 200, JSON.stringify(queued.body));
    b.rpc = queued.body.id;
    await expectStatus(tokenA, 'GET', '/api/devices/:id/rpc', `/api/devices/${b.device}/rpc`, 404);
    await expectStatus(tokenA, 'GET', '/api/rpc/:id', `/api/rpc/${b.rpc}`, 404);
    await expectStatus(tokenA, 'DELETE', '/api/rpc/:id', `/api/rpc/${b.rpc}`, 404);
  });

  test('alarms: B alarms are neither listed, counted, read, acknowledged, cleared, commented nor deleted by A', async () => {
    // Raised as a rule does, inside the server: there is no outside API to raise one.
    b.alarm = (await h.app.core.alarms.raise({ tenantId: b.tenant, deviceId: b.device, type: 'B secret', severity: 'CRITICAL', at: Date.now() })).alarm.id;
    const list = await expectStatus(tokenA, 'GET', '/api/alarms', '/api/alarms', 200);
    assert.equal(list.body.total, 0);
    await expectStatus(tokenA, 'GET', '/api/alarms', `/api/alarms?tenantId=${b.tenant}`, 404);
    await expectStatus(tokenA, 'GET', '/api/alarms', `/api/alarms?deviceId=${b.device}`, 404);
    const counts = await expectStatus(tokenA, 'GET', '/api/alarms/counts', '/api/alarms/counts', 200);
    assert.equal(counts.body.activeTotal, 0);
    await expectStatus(tokenA, 'GET', '/api/alarms/counts', `/api/alarms/counts?deviceId=${b.device}`, 404);
    await expectStatus(tokenA, 'GET', '/api/devices/:id/alarms', `/api/devices/${b.device}/alarms`, 404);
    await expectStatus(tokenA, 'GET', '/api/alarms/:id', `/api/alarms/${b.alarm}`, 404);
    await expectStatus(tokenA, 'POST', '/api/alarms/:id/ack', `/api/alarms/${b.alarm}/ack`, 404);
    await expectStatus(tokenA, 'POST', '/api/alarms/:id/clear', `/api/alarms/${b.alarm}/clear`, 404);
    await expectStatus(tokenA, 'GET', '/api/alarms/:id/comments', `/api/alarms/${b.alarm}/comments`, 404);
    await expectStatus(tokenA, 'POST', '/api/alarms/:id/comments', `/api/alarms/${b.alarm}/comments`, 404, { text: 'owned' });
    await expectStatus(tokenA, 'DELETE', '/api/alarms/:id', `/api/alarms/${b.alarm}`, 404);
  });

  test('rules: B rules are neither listed, read, changed, enabled, deleted, traced, replayed nor exported by A', async () => {
    const rule = {
      name: 'B secret rule',
      trigger: { type: 'telemetry', keys: ['secret'] },
      condition: { type: 'threshold', key: 'secret', op: '>', value: 1 },
      actions: [{ type: 'rpc', method: 'bOnly' }],
    };
    const made = await h.call('POST', '/api/rules', { token: tokenB, body: rule });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    b.rule = made.body.id;
    const list = await expectStatus(tokenA, 'GET', '/api/rules', '/api/rules', 200);
    assert.equal(list.body.total, 0);
    await expectStatus(tokenA, 'GET', '/api/rules', `/api/rules?tenantId=${b.tenant}`, 404);
    await expectStatus(tokenA, 'GET', '/api/rules/:id', `/api/rules/${b.rule}`, 404);
    await expectStatus(tokenA, 'PUT', '/api/rules/:id', `/api/rules/${b.rule}`, 404, { ...rule, name: 'owned' });
    await expectStatus(tokenA, 'PUT', '/api/rules/:id/enabled', `/api/rules/${b.rule}/enabled`, 404, { enabled: false });
    await expectStatus(tokenA, 'GET', '/api/rules/:id/versions', `/api/rules/${b.rule}/versions`, 404);
    await expectStatus(tokenA, 'GET', '/api/rules/:id/trace', `/api/rules/${b.rule}/trace`, 404);
    await expectStatus(tokenA, 'DELETE', '/api/rules/:id', `/api/rules/${b.rule}`, 404);
    const now = Date.now();
    await expectStatus(tokenA, 'POST', '/api/rules/test', '/api/rules/test', 404, { ruleId: b.rule, from: now - 60_000, to: now });
    await expectStatus(tokenA, 'POST', '/api/rules/test', '/api/rules/test', 404, { rule, devices: [b.device], from: now - 60_000, to: now });
    const exported = await expectStatus(tokenA, 'GET', '/api/rules/export', '/api/rules/export', 200);
    assert.deepEqual(exported.body.rules, []);
    const imported = await expectStatus(tokenA, 'POST', '/api/rules/import', '/api/rules/import', 200, {
      format: 'thingstead.rules',
      version: 1,
      rules: [rule],
    });
    assert.deepEqual(imported.body, { created: 1, updated: 0, unchanged: 0 }, "A's import creates A's own rule of that name, leaving B's");
    const mine = await expectStatus(tokenA, 'POST', '/api/rules', '/api/rules', 201, { ...rule, name: 'A rule' });
    await expectStatus(viewerA, 'POST', '/api/rules', '/api/rules', 403, { ...rule, name: 'viewer rule' });
    await expectStatus(viewerA, 'PUT', '/api/rules/:id/enabled', `/api/rules/${mine.body.id as string}/enabled`, 403, { enabled: false });
    await expectStatus(viewerA, 'GET', '/api/rules/:id', `/api/rules/${mine.body.id as string}`, 200);
    const bRule = await h.call('GET', `/api/rules/${b.rule as string}`, { token: tokenB });
    assert.equal(bRule.body.name, 'B secret rule');
    assert.equal(bRule.body.version, 1);
  });

  test('notifications: B channels, deliveries and inboxes are invisible to A; a viewer reads but changes nothing', async () => {
    const made = await h.call('POST', '/api/notification-channels', {
      token: tokenB,
      body: { name: 'b-inbox', type: 'inapp', config: {} },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    b.channel = made.body.id;
    const tested = await h.call('POST', `/api/notification-channels/${b.channel as string}/test`, { token: tokenB });
    assert.equal(tested.body.status, 'SENT', JSON.stringify(tested.body));
    b.item = (await h.call('GET', '/api/notifications', { token: tokenB })).body.items[0].id;
    const path = `/api/notification-channels/${b.channel as string}`;
    const list = await expectStatus(tokenA, 'GET', '/api/notification-channels', '/api/notification-channels', 200);
    assert.deepEqual(list.body.items, []);
    await expectStatus(tokenA, 'GET', '/api/notification-channels', `/api/notification-channels?tenantId=${b.tenant as string}`, 404);
    await expectStatus(tokenA, 'POST', '/api/notification-channels', '/api/notification-channels', 404, {
      name: 'x',
      type: 'inapp',
      config: {},
      tenantId: b.tenant,
    });
    await expectStatus(tokenA, 'GET', '/api/notification-channels/:id', path, 404);
    await expectStatus(tokenA, 'PUT', '/api/notification-channels/:id', path, 404, { name: 'mine', type: 'inapp', config: {} });
    await expectStatus(tokenA, 'PATCH', '/api/notification-channels/:id', path, 404, { enabled: false });
    await expectStatus(tokenA, 'DELETE', '/api/notification-channels/:id', path, 404);
    await expectStatus(tokenA, 'POST', '/api/notification-channels/:id/test', `${path}/test`, 404);
    const log = await expectStatus(tokenA, 'GET', '/api/notification-deliveries', '/api/notification-deliveries', 200);
    assert.deepEqual(log.body.items, []);
    await expectStatus(tokenA, 'GET', '/api/notification-deliveries', `/api/notification-deliveries?tenantId=${b.tenant as string}`, 404);
    assert.equal((await expectStatus(tokenA, 'GET', '/api/notifications', '/api/notifications', 200)).body.total, 0);
    assert.equal((await expectStatus(tokenA, 'GET', '/api/notifications/unread-count', '/api/notifications/unread-count', 200)).body.count, 0);
    await expectStatus(tokenA, 'POST', '/api/notifications/:id/read', `/api/notifications/${b.item as string}/read`, 404);
    assert.equal((await expectStatus(tokenA, 'POST', '/api/notifications/read-all', '/api/notifications/read-all', 200)).body.updated, 0);
    assert.equal((await h.call('GET', '/api/notifications/unread-count', { token: tokenB })).body.count, 1, "B's item is still unread");
    const mine = await h.call('POST', '/api/notification-channels', { token: tokenA, body: { name: 'a-inbox', type: 'inapp', config: {} } });
    await expectStatus(viewerA, 'GET', '/api/notification-channels/:id', `/api/notification-channels/${mine.body.id as string}`, 200);
    await expectStatus(viewerA, 'POST', '/api/notification-channels', '/api/notification-channels', 403, { name: 'v', type: 'inapp', config: {} });
    await expectStatus(viewerA, 'PATCH', '/api/notification-channels/:id', `/api/notification-channels/${mine.body.id as string}`, 403, { enabled: false });
    await expectStatus(viewerA, 'POST', '/api/notification-channels/:id/test', `/api/notification-channels/${mine.body.id as string}/test`, 403);
  });

  test('a viewer reads its own tenant but changes nothing', async () => {
    await expectStatus(viewerA, 'GET', '/api/devices/:id', `/api/devices/${a.device}`, 200);
    await expectStatus(viewerA, 'POST', '/api/devices', '/api/devices', 403, { name: 'viewer-made' });
    await expectStatus(viewerA, 'PATCH', '/api/devices/:id', `/api/devices/${a.device}`, 403, { label: 'x' });
    await expectStatus(viewerA, 'DELETE', '/api/devices/:id', `/api/devices/${a.device}`, 403);
    await expectStatus(viewerA, 'GET', '/api/devices/:id/credentials', `/api/devices/${a.device}/credentials`, 403);
    await expectStatus(viewerA, 'POST', '/api/device-profiles', '/api/device-profiles', 403, { name: 'p' });
    await expectStatus(viewerA, 'POST', '/api/users', '/api/users', 403, { email: 'x@a.example', password: 'password-123', role: 'viewer' });
    await expectStatus(viewerA, 'PATCH', '/api/users/:id', `/api/users/${a.viewer}`, 403, { role: 'tenant-admin' });
    await expectStatus(viewerA, 'GET', '/api/devices/:id/attributes', `/api/devices/${a.device}/attributes`, 200);
    await expectStatus(viewerA, 'POST', '/api/devices/:id/attributes/:scope', `/api/devices/${a.device}/attributes/shared`, 403, { x: 1 });
    await expectStatus(viewerA, 'PATCH', '/api/devices/:id/twin/desired', `/api/devices/${a.device}/twin/desired`, 403, { version: 0, desired: { x: 1 } });
    await expectStatus(viewerA, 'POST', '/api/devices/:id/rpc', `/api/devices/${a.device}/rpc`, 403, { method: 'reboot' });
    const mine = await h.call('POST', `/api/devices/${a.device}/rpc`, { token: tokenA, body: { method: 'aQueued', persistent: true } });
    await expectStatus(viewerA, 'GET', '/api/devices/:id/rpc', `/api/devices/${a.device}/rpc`, 200);
    await expectStatus(viewerA, 'GET', '/api/rpc/:id', `/api/rpc/${mine.body.id as string}`, 200);
    await expectStatus(viewerA, 'DELETE', '/api/rpc/:id', `/api/rpc/${mine.body.id as string}`, 403);
    const alarm = (await h.app.core.alarms.raise({ tenantId: a.tenant, deviceId: a.device, type: 'A alarm', severity: 'MINOR', at: Date.now() })).alarm.id;
    await expectStatus(viewerA, 'GET', '/api/devices/:id/alarms', `/api/devices/${a.device}/alarms`, 200);
    await expectStatus(viewerA, 'GET', '/api/alarms/:id', `/api/alarms/${alarm}`, 200);
    await expectStatus(viewerA, 'POST', '/api/alarms/:id/ack', `/api/alarms/${alarm}/ack`, 403);
    await expectStatus(viewerA, 'POST', '/api/alarms/:id/clear', `/api/alarms/${alarm}/clear`, 403);
    await expectStatus(viewerA, 'POST', '/api/alarms/:id/comments', `/api/alarms/${alarm}/comments`, 403, { text: 'x' });
    await expectStatus(viewerA, 'DELETE', '/api/alarms/:id', `/api/alarms/${alarm}`, 403);
    await expectStatus(viewerA, 'GET', '/api/devices/:id', `/api/devices/${b.device}`, 404);
    // A tenant admin cannot make anyone a system admin.
    await expectStatus(tokenA, 'PATCH', '/api/users/:id', `/api/users/${a.viewer}`, 403, { role: 'admin' });
  });

  test('B is intact afterwards', async () => {
    const dev = await h.call('GET', `/api/devices/${b.device}`, { token: tokenB });
    assert.equal(dev.status, 200);
    assert.equal(dev.body.name, 'b-device');
    const creds = await h.call('GET', `/api/devices/${b.device}/credentials`, { token: tokenB });
    assert.equal(creds.body.accessToken, deviceTokenB);
    assert.deepEqual((await h.call('GET', `/api/devices/${b.device}/twin`, { token: tokenB })).body.version, 0, "B's attributes are untouched");
    const bRpc = await h.call('GET', `/api/rpc/${b.rpc as string}`, { token: tokenB });
    assert.equal(bRpc.body.status, 'QUEUED', "B's queued call is still there");
    const bAlarm = await h.call('GET', `/api/alarms/${b.alarm as string}`, { token: tokenB });
    assert.equal(bAlarm.body.status, 'ACTIVE_UNACK', "B's alarm is untouched");
    assert.equal((await h.call('GET', `/api/alarms/${b.alarm as string}/comments`, { token: tokenB })).body.total, 0);
    const latest = await h.call('GET', `/api/devices/${b.device}/telemetry/latest`, { token: tokenB });
    assert.equal(latest.body.data.secret.value, 42);
    assert.equal((await h.call('GET', `/api/tenants/${b.tenant}`, { token: tokenB })).body.name, 'Beta');
    assert.equal((await h.login('bob@b.example', 'password-123')).length > 0, true);
    const viaKey = await h.call('GET', '/api/devices', { headers: { 'x-api-key': b.apiKeySecret } });
    assert.equal(viaKey.status, 200);
    assert.deepEqual(
      viaKey.body.items.map((d: { id: string }) => d.id),
      [b.device],
    );
  });

  test('every admin endpoint in the OpenAPI document has an isolation case above', async () => {
    const doc = (await h.call('GET', '/api/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const missing: string[] = [];
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/api/') || path.startsWith('/api/v1/') || /^\/api\/auth\/(login|refresh|logout)$/.test(path)) continue;
      const route = path.replace(/\{(\w+)\}/g, ':$1');
      for (const method of Object.keys(ops)) {
        const key = `${method.toUpperCase()} ${route}`;
        checked++;
        if (!covered.has(key)) missing.push(key);
      }
    }
    assert.ok(checked >= 25, `only ${checked} admin endpoints found in the OpenAPI document`);
    assert.deepEqual(missing, [], 'admin endpoints without a tenant-isolation case');
  });
});

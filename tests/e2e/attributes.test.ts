import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './harness';

/**
 * Attributes and the twin over real HTTP against a real server (SQLite in a temp dir). Devices report client
 * attributes through core here (`app.core.attributes.report`, what the MQTT and HTTP device transports will call);
 * everything users do goes over REST.
 */
describe('attributes and the twin over REST', () => {
  let h: Harness;
  let tokenA: string;
  let viewerA: string;
  let tokenB: string;
  let deviceA: { id: string; tenantId: string };
  let deviceB: string;
  const attrs = (id: string) => `/api/devices/${id}/attributes`;

  before(async () => {
    h = await startHarness();
    const admin = await h.login();
    const tenantA = (await h.call('GET', '/api/auth/me', { token: admin })).body.user.tenantId as string;
    const tenantB = (await h.call('POST', '/api/tenants', { token: admin, body: { name: 'Beta' } })).body.id as string;
    const mkUser = async (email: string, role: string, tenantId: string) => {
      const r = await h.call('POST', '/api/users', { token: admin, body: { email, password: 'password-123', role, tenantId } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return h.login(email, 'password-123');
    };
    tokenA = await mkUser('alice@a.example', 'tenant-admin', tenantA);
    viewerA = await mkUser('victor@a.example', 'viewer', tenantA);
    tokenB = await mkUser('bob@b.example', 'tenant-admin', tenantB);
    deviceA = { id: (await h.createDevice(tokenA, 'boiler')).id, tenantId: tenantA };
    deviceB = (await h.createDevice(tokenB, 'b-boiler')).id;
    assert.equal((await h.call('POST', `${attrs(deviceB)}/shared`, { token: tokenB, body: { secret: 'b only' } })).status, 200);
  });
  after(() => h.stop());

  test('server and shared attributes are set, read with update times and deleted; client ones are read-only to users', async () => {
    const before = Date.now();
    const set = await h.call('POST', `${attrs(deviceA.id)}/shared`, { token: tokenA, body: { target: 21.5, cfg: { mode: 'eco', days: [1, 2] }, on: true } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body, { version: 1, updated: ['target', 'cfg', 'on'], deleted: [] });
    assert.equal((await h.call('POST', `${attrs(deviceA.id)}/server`, { token: tokenA, body: { installedBy: 'Ann' } })).body.version, 2);
    await h.app.core.attributes.report({ deviceId: deviceA.id, tenantId: deviceA.tenantId }, { fw: '1.0.3' });
    const all = await h.call('GET', attrs(deviceA.id), { token: tokenA });
    assert.equal(all.status, 200);
    assert.equal(all.body.version, 3);
    assert.deepEqual(all.body.client.fw.value, '1.0.3');
    assert.deepEqual(all.body.server.installedBy.value, 'Ann');
    assert.deepEqual(all.body.shared.cfg.value, { mode: 'eco', days: [1, 2] });
    assert.ok(all.body.shared.target.updatedAt >= before && all.body.shared.target.updatedAt <= Date.now());
    const some = await h.call('GET', `${attrs(deviceA.id)}?scope=shared&keys=target,on,absent`, { token: tokenA });
    assert.deepEqual(Object.keys(some.body).sort(), ['shared', 'version']);
    assert.deepEqual(Object.keys(some.body.shared).sort(), ['on', 'target']);
    const del = await h.call('DELETE', `${attrs(deviceA.id)}/shared?keys=on,absent`, { token: tokenA });
    assert.deepEqual(del.body, { version: 4, updated: [], deleted: ['on'] });
    for (const [method, path, body] of [
      ['POST', `${attrs(deviceA.id)}/client`, { fw: 'forged' }],
      ['DELETE', `${attrs(deviceA.id)}/client?keys=fw`, undefined],
    ] as const) {
      const r = await h.call(method, path, body === undefined ? { token: tokenA } : { token: tokenA, body });
      assert.equal(r.status, 403);
      assert.equal(r.body.code, 'THINGSTEAD_ERR_ATTRIBUTE_SCOPE_READ_ONLY');
      assert.match(r.body.hint, /shared attributes/);
    }
    assert.equal((await h.call('POST', `${attrs(deviceA.id)}/secret`, { token: tokenA, body: { a: 1 } })).status, 400, 'no such scope');
    assert.equal((await h.call('GET', `${attrs(deviceA.id)}?scope=client`, { token: tokenA })).body.client.fw.value, '1.0.3', 'the report is intact');
  });

  test('the twin: desired, reported and delta; PATCH at the current version, 409 on a stale one', async () => {
    const twin = await h.call('GET', `/api/devices/${deviceA.id}/twin`, { token: tokenA });
    assert.equal(twin.status, 200);
    const v = twin.body.version as number;
    assert.deepEqual(Object.keys(twin.body.delta).sort(), ['cfg', 'target'], 'desired keys the device has not reported');
    const patched = await h.call('PATCH', `/api/devices/${deviceA.id}/twin/desired`, {
      token: tokenA,
      body: { version: v, desired: { fw: '1.1.0', cfg: null } },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.version, v + 1);
    assert.deepEqual(Object.keys(patched.body.desired).sort(), ['fw', 'target']);
    assert.deepEqual(patched.body.delta.fw.value, '1.1.0');
    assert.deepEqual(patched.body.reported.fw.value, '1.0.3');
    const stale = await h.call('PATCH', `/api/devices/${deviceA.id}/twin/desired`, { token: tokenA, body: { version: v, desired: { target: 18 } } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.code, 'THINGSTEAD_ERR_TWIN_VERSION_CONFLICT');
    assert.deepEqual(stale.body.details, { version: v + 1 });
    assert.match(stale.body.message, new RegExp(`at version ${v + 1}, not ${v}`));
    // The device catches up: the delta empties and the version moves, so an editor holding v + 1 is now stale too.
    await h.app.core.attributes.report({ deviceId: deviceA.id, tenantId: deviceA.tenantId }, { fw: '1.1.0', target: 21.5 });
    const caught = await h.call('GET', `/api/devices/${deviceA.id}/twin`, { token: tokenA });
    assert.deepEqual(caught.body.delta, {});
    assert.equal(caught.body.version, v + 2);
    const late = await h.call('PATCH', `/api/devices/${deviceA.id}/twin/desired`, { token: tokenA, body: { version: v + 1, desired: { target: 18 } } });
    assert.equal(late.status, 409);
    assert.equal(
      (await h.call('GET', `/api/devices/${deviceA.id}/twin`, { token: tokenA })).body.desired.target.value,
      21.5,
      'a refused PATCH changed nothing',
    );
  });

  test("another tenant's device is 404 for every attribute and twin route, and a viewer reads but changes nothing", async () => {
    const cases: [string, string, unknown?][] = [
      ['GET', attrs(deviceB)],
      ['POST', `${attrs(deviceB)}/shared`, { secret: 'owned' }],
      ['DELETE', `${attrs(deviceB)}/shared?keys=secret`],
      ['GET', `/api/devices/${deviceB}/twin`],
      ['PATCH', `/api/devices/${deviceB}/twin/desired`, { version: 1, desired: { secret: 'owned' } }],
    ];
    for (const [method, path, body] of cases) {
      const r = await h.call(method, path, body === undefined ? { token: tokenA } : { token: tokenA, body });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.code, 'THINGSTEAD_ERR_NOT_FOUND');
    }
    const b = await h.call('GET', attrs(deviceB), { token: tokenB });
    assert.deepEqual([b.body.version, b.body.shared.secret.value], [1, 'b only'], "B's attributes are intact");
    assert.equal((await h.call('GET', attrs(deviceA.id), { token: viewerA })).status, 200);
    assert.equal((await h.call('GET', `/api/devices/${deviceA.id}/twin`, { token: viewerA })).status, 200);
    for (const [method, path, body] of [
      ['POST', `${attrs(deviceA.id)}/shared`, { target: 30 }],
      ['DELETE', `${attrs(deviceA.id)}/server?keys=installedBy`],
      ['PATCH', `/api/devices/${deviceA.id}/twin/desired`, { version: 0, desired: { target: 30 } }],
    ] as [string, string, unknown?][]) {
      const r = await h.call(method, path, body === undefined ? { token: viewerA } : { token: viewerA, body });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.body.code, 'THINGSTEAD_ERR_FORBIDDEN');
    }
  });

  test('bad keys and values are 400 naming the problem; a document over the scope limit is 409; nothing of either is stored', async () => {
    const device = (await h.createDevice(tokenA, 'bad-input')).id;
    const bad: [unknown, string, RegExp][] = [
      [{ '': 1 }, 'THINGSTEAD_ERR_ATTRIBUTES_INVALID', /keys must not be empty/],
      [{ ['k'.repeat(256)]: 1 }, 'THINGSTEAD_ERR_ATTRIBUTES_INVALID', /longer than 255 characters/],
      [{ 'a\u0001b': 1 }, 'THINGSTEAD_ERR_ATTRIBUTES_INVALID', /control characters/],
      [{ ok: 1, gone: null }, 'THINGSTEAD_ERR_ATTRIBUTES_INVALID', /\$\.gone: value must not be null/],
      [{ big: 'x'.repeat(70_000) }, 'THINGSTEAD_ERR_ATTRIBUTES_INVALID', /longer than 65536 bytes/],
      [[1, 2], 'THINGSTEAD_ERR_VALIDATION', /./],
    ];
    for (const [body, code, message] of bad) {
      const r = await h.call('POST', `${attrs(device)}/shared`, { token: tokenA, body });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, code);
      assert.match(r.body.message, message);
    }
    const infinite = await h.call('POST', `${attrs(device)}/shared`, { token: tokenA, raw: '{"v":1e400}', headers: { 'content-type': 'application/json' } });
    assert.equal(infinite.status, 400, '1e400 is no finite number');
    // 64 KiB per scope: two values of 40,000 characters do not fit together, in one request or in two.
    const half = 'y'.repeat(40_000);
    assert.equal((await h.call('POST', `${attrs(device)}/shared`, { token: tokenA, body: { a: half } })).status, 200);
    const over = await h.call('POST', `${attrs(device)}/shared`, { token: tokenA, body: { b: half } });
    assert.equal(over.status, 409);
    assert.equal(over.body.code, 'THINGSTEAD_ERR_ATTRIBUTE_LIMIT');
    assert.match(over.body.message, /shared attributes would take 80006 bytes; at most 65536/);
    const twinOver = await h.call('PATCH', `/api/devices/${device}/twin/desired`, { token: tokenA, body: { version: 1, desired: { c: half } } });
    assert.equal(twinOver.status, 409);
    assert.equal(twinOver.body.code, 'THINGSTEAD_ERR_ATTRIBUTE_LIMIT');
    assert.equal((await h.call('POST', `${attrs(device)}/server`, { token: tokenA, body: { b: half } })).status, 200, 'each scope has its own limit');
    for (const body of [{ desired: { a: 1 } }, { version: 1, desired: { a: 1 }, extra: true }, { version: '1', desired: {} }]) {
      const r = await h.call('PATCH', `/api/devices/${device}/twin/desired`, { token: tokenA, body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    assert.equal((await h.call('DELETE', `${attrs(device)}/shared`, { token: tokenA })).status, 400, 'keys are required');
    const stored = await h.call('GET', attrs(device), { token: tokenA });
    assert.deepEqual([stored.body.version, Object.keys(stored.body.shared), Object.keys(stored.body.server)], [2, ['a'], ['b']]);
  });

  test('attributes and the version survive a restart; deleting the device deletes them', async () => {
    const before = await h.call('GET', attrs(deviceA.id), { token: tokenA });
    await h.restart();
    tokenA = await h.login('alice@a.example', 'password-123');
    assert.deepEqual((await h.call('GET', attrs(deviceA.id), { token: tokenA })).body, before.body);
    assert.equal((await h.call('DELETE', `/api/devices/${deviceA.id}`, { token: tokenA })).status, 204);
    assert.equal((await h.call('GET', attrs(deviceA.id), { token: tokenA })).status, 404);
    assert.deepEqual(await h.app.store.attributes.read(deviceA.id), { version: 0, client: {}, server: {}, shared: {} });
  });
});

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './harness';

/** Hostile and malformed HTTP input: every case gets a JSON error in the one shape, and the process survives. */
describe('bad input over HTTP', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness();
    token = await h.login();
  });
  after(() => h.stop());

  const isErrorBody = (b: any, status: number) => {
    assert.equal(b.statusCode, status);
    assert.match(b.code, /^THINGSTEAD_ERR_[A-Z_]+$/);
    assert.equal(typeof b.message, 'string');
    assert.equal(typeof b.hint, 'string');
  };

  test('unknown routes get 404 JSON', async () => {
    for (const path of ['/nope', '/api/devices/x/y/z', '/api/v1/', '/api/v2/token/telemetry']) {
      const r = await h.call('GET', path, { token });
      assert.equal(r.status, 404, path);
      isErrorBody(r.body, 404);
    }
  });

  test('malformed JSON, wrong types, unknown fields and oversize bodies', async () => {
    const bad = await h.call('POST', '/api/devices', { token, raw: '{"name":', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'THINGSTEAD_ERR_BAD_JSON');
    const wrongType = await h.call('POST', '/api/devices', { token, body: { name: 42 } });
    assert.equal(wrongType.status, 400);
    isErrorBody(wrongType.body, 400);
    const unknown = await h.call('POST', '/api/devices', { token, body: { name: 'x', owner: 'me' } });
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.body.details), /additional/i);
    const empty = await h.call('POST', '/api/devices', { token, body: { name: '   ' } });
    assert.equal(empty.status, 400);
    const huge = await h.call('POST', '/api/devices', {
      token,
      raw: JSON.stringify({ name: 'x', metadata: { a: 'y'.repeat(2 * 1024 * 1024) } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(huge.status, 413);
    isErrorBody(huge.body, 413);
    const bigMeta = await h.call('POST', '/api/devices', { token, body: { name: 'x', metadata: { a: 'y'.repeat(20_000) } } });
    assert.equal(bigMeta.status, 400);
    const xml = await h.call('POST', '/api/devices', { token, raw: '<device/>', headers: { 'content-type': 'application/xml' } });
    assert.equal(xml.status, 415);
    isErrorBody(xml.body, 415);
  });

  test('missing auth is 401, bad query parameters are 400', async () => {
    const r = await h.call('GET', '/api/devices');
    assert.equal(r.status, 401);
    isErrorBody(r.body, 401);
    for (const q of ['limit=0', 'limit=abc', 'offset=-1', 'sort=password', 'order=sideways', 'limit=100000']) {
      const res = await h.call('GET', `/api/devices?${q}`, { token });
      assert.equal(res.status, 400, q);
      isErrorBody(res.body, 400);
    }
  });

  test('SQL-looking strings are just strings', async () => {
    const name = "Robert'); DROP TABLE devices;--";
    const created = await h.call('POST', '/api/devices', { token, body: { name, label: '%_\\' } });
    assert.equal(created.status, 201);
    const found = await h.call('GET', `/api/devices?search=${encodeURIComponent("'); DROP")}`, { token });
    assert.deepEqual(
      found.body.items.map((d: { name: string }) => d.name),
      [name],
    );
    const pct = await h.call('GET', `/api/devices?search=${encodeURIComponent('%')}`, { token });
    assert.equal(pct.body.total, 0, '% is literal, not a wildcard');
    assert.equal((await h.call('GET', "/api/devices/' OR '1'='1", { token })).status, 404);
  });

  test('duplicate names are 409; deleting a used profile is 409', async () => {
    await h.call('POST', '/api/devices', { token, body: { name: 'dup' } });
    const again = await h.call('POST', '/api/devices', { token, body: { name: 'dup' } });
    assert.equal(again.status, 409);
    // Was the generic THINGSTEAD_ERR_CONFLICT; a taken device name has its own code (and hint) now, same status.
    assert.equal(again.body.code, 'THINGSTEAD_ERR_DEVICE_NAME_TAKEN');
    const p = await h.call('POST', '/api/device-profiles', { token, body: { name: 'used' } });
    await h.call('POST', '/api/devices', { token, body: { name: 'user-of-profile', profileId: p.body.id } });
    assert.equal((await h.call('DELETE', `/api/device-profiles/${p.body.id}`, { token })).status, 409);
  });

  test('a raw malformed HTTP request does not crash the server', async () => {
    const url = new URL(h.url);
    await new Promise<void>((resolve) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/api/devices',
        headers: { 'content-type': 'application/json', 'content-length': '100' },
      });
      req.on('error', () => {
        resolve();
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.write('{"name": "trunc');
      req.destroy();
      setTimeout(resolve, 200);
    });
    const flood = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        h.call('POST', `/api/v1/token-${i}-xxxxxxxxxxxxxxxxxxx/telemetry`, { raw: '{{{{', headers: { 'content-type': 'application/json' } }),
      ),
    );
    assert.ok(flood.every((r) => r.status === 400 || r.status === 401));
    const health = await h.call('GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
  });

  test('OpenAPI is served', async () => {
    const doc = await h.call('GET', '/api/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.0.3');
    assert.ok(doc.body.paths['/api/devices']);
    const ui = await fetch(`${h.url}/api/docs/`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
  });
});

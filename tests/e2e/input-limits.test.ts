import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './harness';

/**
 * Issue 6, "Bad input that still gets through": each case below was answered 500 (or accepted and mangled)
 * before; now each is refused with a 4xx in the one JSON error shape, and the server keeps serving.
 */
describe('input limits over HTTP', () => {
  let h: Harness;
  let token: string;
  let deviceId: string;
  let deviceToken: string;
  const json = { 'content-type': 'application/json' };
  const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

  before(async () => {
    h = await startHarness();
    token = await h.login();
    deviceId = (await h.call('POST', '/api/devices', { token, body: { name: 'limits-probe' } })).body.id;
    deviceToken = (await h.call('GET', `/api/devices/${deviceId}/credentials`, { token })).body.accessToken;
  });
  after(() => h.stop());

  const isError = (r: { status: number; body: any }, status: number, code: string) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.statusCode, status);
    assert.equal(r.body.code, code);
    assert.equal(typeof r.body.message, 'string');
    assert.equal(typeof r.body.hint, 'string');
  };

  test('a telemetry value nested 5,000 deep (fits in 64 KiB) is 400, not a 500 stack overflow', async () => {
    const raw = `{"v":${nested(5000)}}`;
    assert.ok(raw.length < 64 * 1024);
    const r = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { raw, headers: json });
    isError(r, 400, 'THINGSTEAD_ERR_BAD_JSON');
    assert.match(r.body.message, /nested deeper than 32 levels/);
  });

  test('device metadata nested 5,000 deep, and 30,000 nested arrays, are 400, not 500', async () => {
    const deepObject = await h.call('POST', '/api/devices', { token, raw: `{"name":"deep","metadata":${nested(5000)}}`, headers: json });
    isError(deepObject, 400, 'THINGSTEAD_ERR_BAD_JSON');
    const deepArray = await h.call('POST', '/api/devices', { token, raw: `{"name":"deep","metadata":{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}}`, headers: json });
    isError(deepArray, 400, 'THINGSTEAD_ERR_BAD_JSON');
    const patch = await h.call('PATCH', `/api/devices/${deviceId}`, { token, raw: `{"metadata":${nested(5000)}}`, headers: json });
    isError(patch, 400, 'THINGSTEAD_ERR_BAD_JSON');
    // 32 levels are fine.
    const ok = await h.call('POST', '/api/devices', { token, raw: `{"name":"deep-enough","metadata":${nested(31)}}`, headers: json });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });

  test('{"big":1e400} is refused with a clear error instead of being acknowledged and read back as null', async () => {
    const r = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { raw: '{"big":1e400}', headers: json });
    isError(r, 400, 'THINGSTEAD_ERR_BAD_JSON');
    assert.match(r.body.message, /out of range/);
    const nestedBig = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { raw: '{"j":{"x":[-1e400]}}', headers: json });
    isError(nestedBig, 400, 'THINGSTEAD_ERR_BAD_JSON');
    const meta = await h.call('PATCH', `/api/devices/${deviceId}`, { token, raw: '{"metadata":{"big":1e400}}', headers: json });
    isError(meta, 400, 'THINGSTEAD_ERR_BAD_JSON');
    const latest = await h.call('GET', `/api/devices/${deviceId}/telemetry/latest`, { token });
    assert.deepEqual(latest.body.data, {}, 'nothing was stored');
    const device = await h.call('GET', `/api/devices/${deviceId}`, { token });
    assert.deepEqual(device.body.metadata, {});
  });

  test('the server still answers after all of the above', async () => {
    assert.equal((await h.call('GET', '/healthz')).status, 200);
    const r = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { body: { ok: 1 } });
    assert.equal(r.status, 200);
  });
});

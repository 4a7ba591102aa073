import assert from 'node:assert/strict';
import { connect } from 'node:net';
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
    const deepArray = await h.call('POST', '/api/devices', {
      token,
      raw: `{"name":"deep","metadata":{"a":${'['.repeat(30_000)}${']'.repeat(30_000)}}}`,
      headers: json,
    });
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

  test('GET /api/devices?offset=1e20 is 400, not a 500 SQLite datatype mismatch; every numeric query parameter is bounded', async () => {
    const id = deviceId;
    for (const path of [
      '/api/devices?offset=1e20',
      '/api/devices?limit=1e20',
      '/api/users?offset=1e20',
      '/api/tenants?offset=99999999999',
      '/api/device-profiles?offset=1e20',
      `/api/devices/${id}/telemetry?from=1e20`,
      `/api/devices/${id}/telemetry?to=1e300`,
      `/api/devices/${id}/telemetry?from=-5`,
      `/api/devices/${id}/telemetry?agg=avg&interval=1e20`,
      `/api/devices/${id}/telemetry?limit=1e20`,
    ]) {
      isError(await h.call('GET', path, { token }), 400, 'THINGSTEAD_ERR_VALIDATION');
    }
    const far = await h.call('GET', '/api/devices?offset=1000000000', { token });
    assert.equal(far.status, 200);
    assert.deepEqual(far.body.items, []);
  });

  test("a malformed percent-encoding in the URL gets the standard error body (was fastify's own shape)", async () => {
    isError(await h.call('GET', '/api/devices/%zz', { token }), 400, 'THINGSTEAD_ERR_BAD_URL');
    isError(await h.call('POST', '/api/v1/%E0%A4%A/telemetry', { body: { a: 1 } }), 400, 'THINGSTEAD_ERR_BAD_URL');
  });

  test('a path parameter over 128 characters is 414 in the standard body; a 110-character device token is just unknown (401)', async () => {
    isError(await h.call('GET', `/api/devices/${'a'.repeat(200)}`, { token }), 414, 'THINGSTEAD_ERR_URL_TOO_LONG');
    isError(await h.call('POST', `/api/v1/${'a'.repeat(129)}/telemetry`, { body: { a: 1 } }), 414, 'THINGSTEAD_ERR_URL_TOO_LONG');
    isError(await h.call('POST', `/api/v1/${'a'.repeat(110)}/telemetry`, { body: { a: 1 } }), 401, 'THINGSTEAD_ERR_DEVICE_TOKEN_INVALID');
    const notFound = await h.call('GET', `/${'x'.repeat(5000)}`);
    isError(notFound, 404, 'THINGSTEAD_ERR_ROUTE_NOT_FOUND');
    assert.ok(notFound.body.message.length < 300, 'the message does not echo a huge URL');
  });

  test('headers or a URL over 16 KiB get 431 in the standard body', async () => {
    isError(await h.call('GET', '/api/devices', { token, headers: { 'x-big': 'a'.repeat(20_000) } }), 431, 'THINGSTEAD_ERR_HEADERS_TOO_LARGE');
    isError(await h.call('GET', `/api/devices?search=${'a'.repeat(20_000)}`, { token }), 431, 'THINGSTEAD_ERR_HEADERS_TOO_LARGE');
  });

  test('bytes that are not HTTP get 400 in the standard body and the connection is closed', async () => {
    const url = new URL(h.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write('GARBAGE\x00\x01 / HTTP/9\r\n\r\n');
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('close', () => {
        resolve(text);
      });
      socket.on('error', reject);
    });
    const [head, body] = answer.split('\r\n\r\n');
    assert.match(head ?? '', /^HTTP\/1\.1 400 /);
    assert.match(head ?? '', /content-type: application\/json/i);
    const parsed = JSON.parse(body ?? '');
    assert.equal(parsed.code, 'THINGSTEAD_ERR_BAD_REQUEST');
    assert.equal(parsed.statusCode, 400);
    assert.equal(typeof parsed.hint, 'string');
  });

  test('lone surrogates in telemetry keys and names, and NUL in emails, are refused (were accepted)', async () => {
    const key = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { raw: '{"t\\ud800":1}', headers: json });
    isError(key, 400, 'THINGSTEAD_ERR_TELEMETRY_INVALID');
    assert.match(key.body.message, /valid Unicode/);
    const value = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { raw: '{"t":"\\udc00"}', headers: json });
    isError(value, 400, 'THINGSTEAD_ERR_TELEMETRY_INVALID');
    const name = await h.call('POST', '/api/devices', { token, raw: '{"name":"pump\\ud800"}', headers: json });
    isError(name, 400, 'THINGSTEAD_ERR_VALIDATION');
    const tenant = await h.call('POST', '/api/tenants', { token, raw: '{"name":"\\udfffTenant"}', headers: json });
    isError(tenant, 400, 'THINGSTEAD_ERR_VALIDATION');
    const email = await h.call('POST', '/api/users', { token, raw: '{"email":"a\\u0000b@x.y","password":"password-123","role":"viewer"}', headers: json });
    isError(email, 400, 'THINGSTEAD_ERR_VALIDATION');
    // Paired surrogates (emoji) are ordinary Unicode and come back unchanged.
    const emoji = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { body: { 'temp🌡': 'ok 🌊' } });
    assert.equal(emoji.status, 200);
    const latest = await h.call('GET', `/api/devices/${deviceId}/telemetry/latest?keys=${encodeURIComponent('temp🌡')}`, { token });
    assert.equal(latest.body.data['temp🌡'].value, 'ok 🌊');
  });

  test('object keys with a line break (\\n, U+2028) come back in responses (the serialiser dropped them; found by the HTTP fuzzer)', async () => {
    const metadata = { 'line\u2028sep': 1, 'para\u2029': 2, 'new\nline': 3, plain: 4 };
    const created = await h.call('POST', '/api/devices', { token, body: { name: 'line-breaks', metadata } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.metadata, metadata);
    assert.deepEqual((await h.call('GET', `/api/devices/${created.body.id}`, { token })).body.metadata, metadata);
    const profile = await h.call('POST', '/api/device-profiles', { token, body: { name: 'line-breaks', defaultSettings: metadata } });
    assert.deepEqual(profile.body.defaultSettings, metadata);
    const t = await h.call('GET', `/api/devices/${created.body.id}/credentials`, { token });
    assert.equal((await h.call('POST', `/api/v1/${t.body.accessToken}/telemetry`, { body: { 'k\u2028': 1, j: metadata } })).status, 200);
    const latest = await h.call('GET', `/api/devices/${created.body.id}/telemetry/latest`, { token });
    assert.deepEqual(Object.keys(latest.body.data).sort(), ['j', 'k\u2028']);
    assert.deepEqual(latest.body.data.j.value, metadata);
    const series = await h.call('GET', `/api/devices/${created.body.id}/telemetry`, { token });
    assert.deepEqual(Object.keys(series.body.data).sort(), ['j', 'k\u2028']);
  });

  test('the server still answers after all of the above', async () => {
    assert.equal((await h.call('GET', '/healthz')).status, 200);
    const r = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { body: { ok: 1 } });
    assert.equal(r.status, 200);
  });
});

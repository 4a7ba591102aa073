import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './harness';

describe('end to end: a device posts telemetry over HTTP and a user reads it back', () => {
  let h: Harness;
  let token: string;
  let deviceId: string;
  let deviceToken: string;
  const t0 = Date.now() - 60_000;

  before(async () => {
    h = await startHarness();
    token = await h.login();
    const created = await h.call('POST', '/api/devices', { token, body: { name: 'boiler-1', label: 'Boiler', metadata: { floor: 2 } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    deviceId = created.body.id;
    const creds = await h.call('GET', `/api/devices/${deviceId}/credentials`, { token });
    assert.equal(creds.status, 200);
    assert.equal(creds.body.type, 'access-token');
    deviceToken = creds.body.accessToken;
    assert.ok(deviceToken.length >= 20);
  });
  after(() => h.stop());

  test('three ThingsBoard forms are accepted with 200 after commit', async () => {
    const forms = [
      { temperature: 20, status: 'ok' },
      { ts: t0 + 1000, values: { temperature: 22, on: true } },
      [
        { ts: t0 + 2000, values: { temperature: 24 } },
        { ts: t0 + 3000, values: { temperature: 30, config: { mode: 'eco', levels: [1, 2] } } },
      ],
    ];
    const expected = [2, 2, 3];
    for (const [i, form] of forms.entries()) {
      const r = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { body: form });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { points: expected[i] });
    }
  });

  test('raw values come back exactly, newest first by default or in ascending order', async () => {
    const r = await h.call('GET', `/api/devices/${deviceId}/telemetry?keys=temperature,on,config&from=${t0}&to=${t0 + 3001}&order=asc`, { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.data, {
      temperature: [
        { ts: t0 + 1000, value: 22 },
        { ts: t0 + 2000, value: 24 },
        { ts: t0 + 3000, value: 30 },
      ],
      on: [{ ts: t0 + 1000, value: true }],
      config: [{ ts: t0 + 3000, value: { mode: 'eco', levels: [1, 2] } }],
    });
    const desc = await h.call('GET', `/api/devices/${deviceId}/telemetry?keys=temperature&limit=2`, { token });
    assert.equal(desc.body.data.temperature.length, 2);
    assert.equal(desc.body.data.temperature[1].value, 30, 'the value sent without ts has server time, newer than t0+3000');
    assert.equal(desc.body.data.temperature[0].value, 20);
  });

  test('aggregated values per interval are exact', async () => {
    const q = (agg: string) =>
      h.call('GET', `/api/devices/${deviceId}/telemetry?keys=temperature&from=${t0}&to=${t0 + 4000}&interval=2000&agg=${agg}`, { token });
    const expect: Record<string, unknown[]> = {
      avg: [
        { ts: t0, value: 22 },
        { ts: t0 + 2000, value: 27 },
      ],
      min: [
        { ts: t0, value: 22 },
        { ts: t0 + 2000, value: 24 },
      ],
      max: [
        { ts: t0, value: 22 },
        { ts: t0 + 2000, value: 30 },
      ],
      sum: [
        { ts: t0, value: 22 },
        { ts: t0 + 2000, value: 54 },
      ],
      count: [
        { ts: t0, value: 1 },
        { ts: t0 + 2000, value: 2 },
      ],
    };
    for (const [agg, data] of Object.entries(expect)) {
      const r = await q(agg);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.data.temperature, data, agg);
      assert.equal(r.body.intervalMs, 2000);
    }
    const noInterval = await h.call('GET', `/api/devices/${deviceId}/telemetry?keys=temperature&agg=avg`, { token });
    assert.equal(noInterval.status, 400);
    assert.equal(noInterval.body.code, 'THINGSTEAD_ERR_VALIDATION');
  });

  test('latest values and keys', async () => {
    const latest = await h.call('GET', `/api/devices/${deviceId}/telemetry/latest?keys=temperature,status`, { token });
    assert.equal(latest.body.data.temperature.value, 20);
    assert.equal(latest.body.data.status.value, 'ok');
    const keys = await h.call('GET', `/api/devices/${deviceId}/telemetry/keys`, { token });
    assert.deepEqual(keys.body.keys, ['config', 'on', 'status', 'temperature']);
  });

  test('a wrong token is refused with 401 and nothing is stored', async () => {
    const before = await h.call('GET', `/api/devices/${deviceId}/telemetry?keys=intruder`, { token });
    const r = await h.call('POST', '/api/v1/not-the-right-token-at-all/telemetry', { body: { intruder: 1 } });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'THINGSTEAD_ERR_DEVICE_TOKEN_INVALID');
    const after = await h.call('GET', `/api/devices/${deviceId}/telemetry?keys=intruder`, { token });
    assert.deepEqual(before.body.data, {});
    assert.deepEqual(after.body.data, {});
    const keys = await h.call('GET', `/api/devices/${deviceId}/telemetry/keys`, { token });
    assert.ok(!keys.body.keys.includes('intruder'));
  });

  test('malformed and invalid payloads get 400 naming the problem; nothing of them is stored', async () => {
    const cases: [unknown, RegExp][] = [
      [[{ ok: 1 }, 'text'], /\$\[1\]: expected a JSON object/],
      [{ ts: 1_700_000_000, values: { x: 1 } }, /looks like seconds/],
      [{ ts: Date.now() + 10 * 86_400_000, values: { x: 1 } }, /in the future/],
      [{ x: null }, /\$\.x: value must not be null/],
      [{ ts: t0, values: 5 }, /values must be a JSON object/],
      [{ ['k'.repeat(300)]: 1 }, /longer than 255/],
      [42, /expected a JSON object/],
    ];
    for (const [payload, message] of cases) {
      const r = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { body: payload });
      assert.equal(r.status, 400, JSON.stringify(payload));
      assert.equal(r.body.code, 'THINGSTEAD_ERR_TELEMETRY_INVALID');
      assert.match(r.body.message, message);
    }
    const bad = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { raw: '{"x": 1,', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'THINGSTEAD_ERR_BAD_JSON');
    const keys = await h.call('GET', `/api/devices/${deviceId}/telemetry/keys`, { token });
    assert.ok(!keys.body.keys.includes('ok') && !keys.body.keys.includes('x'), 'the valid part of a bad message is not stored');
  });

  test('a body over the device payload limit gets 413', async () => {
    const big = { blob: 'x'.repeat(300 * 1024) };
    const r = await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { body: big });
    assert.equal(r.status, 413);
    assert.equal(r.body.code, 'THINGSTEAD_ERR_PAYLOAD_TOO_LARGE');
  });

  test('rotating credentials invalidates the old token', async () => {
    const r = await h.call('POST', `/api/devices/${deviceId}/credentials/rotate`, { token });
    assert.equal(r.status, 200);
    assert.notEqual(r.body.accessToken, deviceToken);
    assert.equal((await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { body: { a: 1 } })).status, 401);
    assert.equal((await h.call('POST', `/api/v1/${r.body.accessToken}/telemetry`, { body: { a: 1 } })).status, 200);
    deviceToken = r.body.accessToken;
  });

  test('HTTP telemetry counts as device activity', async () => {
    const r = await h.call('GET', `/api/devices/${deviceId}/connectivity`, { token });
    assert.equal(r.status, 200);
    assert.equal(r.body.connected, false, 'HTTP opens no session');
    assert.ok(r.body.lastActivityAt >= t0, JSON.stringify(r.body));
  });

  test('metrics count committed telemetry without per-device labels', async () => {
    const r = await h.call('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.body, /thingstead_telemetry_points_total\{transport="http"\} \d+/);
    assert.match(r.body, /thingstead_http_requests_total/);
    assert.ok(!r.body.includes(deviceId), 'no device id in metric labels');
  });
});

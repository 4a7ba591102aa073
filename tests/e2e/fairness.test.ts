// Back-pressure and fair shares of the ingest queue (issue 6, "No fairness under load"). Speed is measured by
// bench/ingest/fairness.ts; these tests check the behaviour: who is refused, with what, and that acknowledged
// equals stored.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { startHarness, type Harness } from './harness';

describe('a device over its share of the ingest queue', () => {
  let h: Harness;
  let admin: string;
  const devices: { id: string; token: string }[] = [];

  before(async () => {
    // One value per device may wait for its commit; commits wait up to 300 ms, so a second message is "over".
    h = await startHarness({ THINGSTEAD_TELEMETRY_MAX_PENDING_POINTS_PER_DEVICE: '1', THINGSTEAD_TELEMETRY_GROUP_COMMIT_MAX_DELAY_MS: '300' });
    admin = await h.login();
    for (const name of ['heavy', 'light', 'mqtt-heavy']) {
      const d = await h.call('POST', '/api/devices', { token: admin, body: { name } });
      const c = await h.call('GET', `/api/devices/${d.body.id as string}/credentials`, { token: admin });
      devices.push({ id: d.body.id as string, token: c.body.accessToken as string });
    }
  });
  after(() => h.stop());

  const latest = async (id: string) =>
    (await h.call('GET', `/api/devices/${id}/telemetry/latest`, { token: admin })).body.data as Record<string, { value: unknown }>;

  test('HTTP: the device gets 503 THINGSTEAD_ERR_UNAVAILABLE with Retry-After and the limit named, while another device still gets 200; acknowledged == stored', async () => {
    const [heavy, light] = [devices[0]!, devices[1]!];
    const waiting = h.call('POST', `/api/v1/${heavy.token}/telemetry`, { body: { first: 1 } });
    while (h.app.core.telemetry.pendingPoints === 0) await new Promise((r) => setTimeout(r, 2));
    const [over, other] = await Promise.all([
      h.call('POST', `/api/v1/${heavy.token}/telemetry`, { body: { second: 2 } }),
      h.call('POST', `/api/v1/${light.token}/telemetry`, { body: { light: 3 } }),
    ]);
    assert.equal(over.status, 503);
    assert.equal(over.body.code, 'THINGSTEAD_ERR_UNAVAILABLE');
    assert.equal(over.headers.get('retry-after'), '1');
    assert.equal(over.body.details.limit, 'telemetry.maxPendingPointsPerDevice');
    assert.equal(other.status, 200, 'another device is not refused');
    assert.equal((await waiting).status, 200);
    assert.deepEqual(Object.keys(await latest(heavy.id)), ['first'], 'the refused message was not stored');
    assert.deepEqual(Object.keys(await latest(light.id)), ['light']);
  });

  test('MQTT 5: PUBACK 0x97 Quota exceeded for the message over the share, 0x00 for the others; acknowledged == stored', async () => {
    const d = devices[2]!;
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.app.mqttPorts!.tcp}`, { protocolVersion: 5, username: d.token, reconnectPeriod: 0 });
    const acks = new Map<number, { code: number; reason: string | undefined }>();
    c.on('packetreceive', (p) => {
      if (p.cmd === 'puback') acks.set(p.messageId ?? 0, { code: p.reasonCode ?? 0, reason: p.properties?.reasonString });
    });
    // Two messages back to back: the first waits for its commit, the second is over the device's share.
    c.publish('v1/devices/me/telemetry', JSON.stringify({ m1: 1 }), { qos: 1 });
    c.publish('v1/devices/me/telemetry', JSON.stringify({ m2: 2 }), { qos: 1 });
    const end = Date.now() + 5000;
    while (acks.size < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const codes = [...acks.values()];
    assert.deepEqual(codes.map((a) => a.code).sort(), [0x00, 0x97]);
    assert.match(codes.find((a) => a.code === 0x97)?.reason ?? '', /waiting to be stored/);
    assert.deepEqual(Object.keys(await latest(d.id)), ['m1']);
    await c.endAsync();
  });
});

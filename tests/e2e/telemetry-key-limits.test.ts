import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { startHarness, type Harness } from './harness';

const post = (h: Harness, deviceToken: string, body: unknown) => h.call('POST', `/api/v1/${deviceToken}/telemetry`, { body });
const keysOf = (n: number, prefix: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i]));

/** Issue 6: 100,000 distinct telemetry keys per device were accepted in a second and `latest` returned 4.5 MB. */
describe('distinct telemetry keys are bounded per device and per tenant', () => {
  describe('with the defaults (1,000 per device)', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness();
    });
    after(() => h.stop());

    test('a device sending 100,000 distinct keys gets 1,000 stored and the rest refused with 409 naming the limit', async () => {
      const token = await h.login();
      const id = (await h.call('POST', '/api/devices', { token, body: { name: 'key-inventor' } })).body.id;
      const deviceToken = (await h.call('GET', `/api/devices/${id}/credentials`, { token })).body.accessToken;
      const statuses: number[] = [];
      let refusal: any;
      for (let m = 0; m < 20; m++) {
        const r = await post(h, deviceToken, keysOf(5000, `m${m}-`));
        statuses.push(r.status);
        refusal ??= r.status === 409 ? r.body : undefined;
        if (m === 0) {
          // 5,000 new keys at once is over the limit too: refused whole.
          assert.equal(r.status, 409);
          assert.equal((await post(h, deviceToken, keysOf(1000, 'first-'))).status, 200);
        }
      }
      assert.ok(
        statuses.every((s) => s === 409),
        JSON.stringify(statuses),
      );
      assert.equal(refusal.code, 'THINGSTEAD_ERR_TELEMETRY_KEY_LIMIT');
      assert.match(refusal.message, /limit is 1000 per device \(telemetry\.maxKeysPerDevice\)/);
      assert.equal(refusal.details.limit, 'telemetry.maxKeysPerDevice');
      assert.equal(typeof refusal.hint, 'string');
      const keys = await h.call('GET', `/api/devices/${id}/telemetry/keys`, { token });
      assert.equal(keys.body.keys.length, 1000);
      const latest = await h.call('GET', `/api/devices/${id}/telemetry/latest`, { token });
      assert.equal(Object.keys(latest.body.data).length, 1000);
      assert.equal((await post(h, deviceToken, { 'first-7': 42 })).status, 200, 'known keys keep working');
    });
  });

  describe('with small limits (4 per device, 6 per tenant)', () => {
    let h: Harness;
    let admin: string;
    const clients: MqttClient[] = [];
    const device = async (token: string, name: string) => {
      const id = (await h.call('POST', '/api/devices', { token, body: { name } })).body.id as string;
      return { id, token: (await h.call('GET', `/api/devices/${id}/credentials`, { token })).body.accessToken as string };
    };
    before(async () => {
      h = await startHarness({ THINGSTEAD_TELEMETRY_MAX_KEYS_PER_DEVICE: '4', THINGSTEAD_TELEMETRY_MAX_KEYS_PER_TENANT: '6' });
      admin = await h.login();
    });
    after(async () => {
      for (const c of clients) c.end(true);
      await h.stop();
    });

    test('a message that would pass the device limit is refused whole; nothing of it is stored', async () => {
      const d = await device(admin, 'small-1');
      assert.equal((await post(h, d.token, { a: 1, b: 2, c: 3 })).status, 200);
      const r = await post(h, d.token, [{ a: 10 }, { d: 4, e: 5 }]);
      assert.equal(r.status, 409);
      assert.equal(r.body.code, 'THINGSTEAD_ERR_TELEMETRY_KEY_LIMIT');
      const latest = await h.call('GET', `/api/devices/${d.id}/telemetry/latest`, { token: admin });
      assert.deepEqual(Object.keys(latest.body.data).sort(), ['a', 'b', 'c']);
      assert.equal(latest.body.data.a.value, 1, 'the known key of the refused message was not stored either');
      assert.equal((await post(h, d.token, { a: 11, d: 4 })).status, 200, 'up to the limit');
    });

    test('the tenant limit counts a key used by many devices once; another tenant has its own', async () => {
      const d2 = await device(admin, 'small-2');
      assert.equal((await post(h, d2.token, { a: 1, x: 1 })).status, 200, 'a is known to the tenant; x is its 5th key');
      assert.equal((await post(h, d2.token, { y: 1 })).status, 200, 'the 6th');
      const over = await post(h, d2.token, { z: 1 });
      assert.equal(over.status, 409);
      assert.equal(over.body.details.limit, 'telemetry.maxKeysPerTenant');
      assert.match(over.body.message, /limit is 6 per tenant/);
      const other = await h.call('POST', '/api/tenants', { token: admin, body: { name: 'Other keys' } });
      const owner = await h.call('POST', '/api/users', {
        token: admin,
        body: { email: 'keys@other.example', password: 'password-123', role: 'tenant-admin', tenantId: other.body.id },
      });
      assert.equal(owner.status, 201);
      const d3 = await device(await h.login('keys@other.example', 'password-123'), 'other-1');
      assert.equal((await post(h, d3.token, { z: 1, w: 1 })).status, 200);
    });

    test('deleting a device frees its keys for the tenant', async () => {
      const d4 = await device(admin, 'small-4');
      assert.equal((await post(h, d4.token, { z: 1 })).status, 409);
      const list = await h.call('GET', '/api/devices?search=small-2', { token: admin });
      assert.equal((await h.call('DELETE', `/api/devices/${list.body.items[0].id}`, { token: admin })).status, 204);
      assert.equal((await post(h, d4.token, { z: 1 })).status, 200, 'x and y went with small-2');
    });

    test('over MQTT 5 the refusal is PUBACK 0x97 (Quota exceeded) naming the limit', async () => {
      const d5 = await device(admin, 'small-5');
      const c = mqtt.connect({ host: '127.0.0.1', port: h.app.mqttPorts!.tcp, username: d5.token, protocolVersion: 5, reconnectPeriod: 0 });
      clients.push(c);
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => {
          resolve();
        });
        c.once('error', reject);
      });
      await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ a: 1 }), { qos: 1 });
      // mqtt.js keeps only the reason code of a failed publish; the reason string is on the PUBACK packet.
      const acks: { reasonCode?: number; properties?: { reasonString?: string } }[] = [];
      c.on('packetreceive', (p) => {
        if (p.cmd === 'puback') acks.push(p);
      });
      let reason: (Error & { code?: number }) | undefined;
      try {
        await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ q1: 1, q2: 2 }), { qos: 1 });
      } catch (e) {
        reason = e as Error & { code?: number };
      }
      assert.equal(reason?.code, 0x97);
      assert.match(acks.at(-1)?.properties?.reasonString ?? '', /telemetry\.maxKeysPerTenant/);
      const latest = await h.call('GET', `/api/devices/${d5.id}/telemetry/latest`, { token: admin });
      assert.deepEqual(Object.keys(latest.body.data), ['a']);
    });
  });
});

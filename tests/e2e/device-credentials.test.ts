import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './harness';

/** Issue 6: the rotate endpoint told a tenant admin (409) that another tenant's device uses a chosen token. */
describe('chosen device credentials do not reveal who holds them', () => {
  let h: Harness;
  let tokenA: string;
  let a1: string;
  let a2: string;
  let a2Token: string;
  let bDevice: string;
  let bToken: string;
  const rotate = (device: string, body: unknown) => h.call('POST', `/api/devices/${device}/credentials/rotate`, { token: tokenA, body });

  before(async () => {
    h = await startHarness();
    const admin = await h.login();
    const tenantB = (await h.call('POST', '/api/tenants', { token: admin, body: { name: 'Bravo' } })).body.id;
    await h.call('POST', '/api/users', { token: admin, body: { email: 'b@bravo.example', password: 'password-123', role: 'tenant-admin', tenantId: tenantB } });
    const tokenB = await h.login('b@bravo.example', 'password-123');
    bDevice = (await h.call('POST', '/api/devices', { token: tokenB, body: { name: 'b-meter' } })).body.id;
    bToken = 'bravo-chosen-token-0000000001';
    assert.equal(
      (await h.call('POST', `/api/devices/${bDevice}/credentials/rotate`, { token: tokenB, body: { type: 'access-token', accessToken: bToken } })).status,
      200,
    );
    const bDevice2 = (await h.call('POST', '/api/devices', { token: tokenB, body: { name: 'b-meter-2' } })).body.id;
    assert.equal(
      (await h.call('POST', `/api/devices/${bDevice2}/credentials/rotate`, { token: tokenB, body: { type: 'mqtt-basic', username: 'bravo-user' } })).status,
      200,
    );
    tokenA = admin;
    a1 = (await h.call('POST', '/api/devices', { token: tokenA, body: { name: 'a-meter-1' } })).body.id;
    a2 = (await h.call('POST', '/api/devices', { token: tokenA, body: { name: 'a-meter-2' } })).body.id;
    a2Token = (await h.call('GET', `/api/devices/${a2}/credentials`, { token: tokenA })).body.accessToken;
    await h.call('POST', '/api/devices', { token: tokenA, body: { name: 'a-meter-3' } });
  });
  after(() => h.stop());

  test("a token of another tenant's device, one of the own tenant's and a malformed one get the same 400", async () => {
    const otherTenant = await rotate(a1, { type: 'access-token', accessToken: bToken });
    const ownTenant = await rotate(a1, { type: 'access-token', accessToken: a2Token });
    const malformed = await rotate(a1, { type: 'access-token', accessToken: 'not allowed: spaces and !' });
    assert.equal(otherTenant.status, 400, JSON.stringify(otherTenant.body));
    assert.deepEqual(otherTenant.body, ownTenant.body);
    assert.deepEqual(otherTenant.body, malformed.body);
    assert.equal(otherTenant.body.code, 'THINGSTEAD_ERR_VALIDATION');
    assert.doesNotMatch(JSON.stringify(otherTenant.body), /another|tenant|device already|in use/i);
    // Nothing changed hands: B's device still works with its token, A's device kept its own.
    assert.equal((await h.call('POST', `/api/v1/${bToken}/telemetry`, { body: { still: 1 } })).status, 200);
    const a1Creds = await h.call('GET', `/api/devices/${a1}/credentials`, { token: tokenA });
    assert.notEqual(a1Creds.body.accessToken, bToken);
  });

  test("an MQTT username of another tenant's device gets the same answer as one of the own tenant's", async () => {
    assert.equal((await rotate(a2, { type: 'mqtt-basic', username: 'alpha-user' })).status, 200);
    const otherTenant = await rotate(a1, { type: 'mqtt-basic', username: 'bravo-user' });
    const ownTenant = await rotate(a1, { type: 'mqtt-basic', username: 'alpha-user' });
    assert.equal(otherTenant.status, 400);
    assert.deepEqual(otherTenant.body, ownTenant.body);
    assert.doesNotMatch(otherTenant.body.message, /another|tenant|already/i);
  });

  test('a device may keep its own chosen token', async () => {
    const mine = 'alpha-chosen-token-00000000001';
    assert.equal((await rotate(a1, { type: 'access-token', accessToken: mine })).status, 200);
    assert.equal((await rotate(a1, { type: 'access-token', accessToken: mine })).status, 200);
  });
});

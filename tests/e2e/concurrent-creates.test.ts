import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './harness';

/**
 * Services check a name before inserting it, but two requests can both pass the check: the loser used to hit
 * the database's UNIQUE constraint and answer 500. The store turns that into the same 409 as the check.
 */
describe('concurrent creates of one name', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness();
    token = await h.login();
  });
  after(() => h.stop());

  const race = async (path: string, body: () => unknown, code: string) => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => h.call('POST', path, { token, body: body() })));
    const statuses = answers.map((a) => a.status);
    assert.deepEqual(statuses.filter((s) => s === 201).length, 1, `one is created: ${statuses.join(' ')}`);
    for (const a of answers) {
      if (a.status === 201) continue;
      assert.equal(a.status, 409, JSON.stringify(a.body));
      assert.equal(a.body.code, code);
      assert.equal(typeof a.body.hint, 'string');
    }
  };

  test('devices: one 201, every other 409 DEVICE_NAME_TAKEN, never 500', async () => {
    await race('/api/devices', () => ({ name: 'same device' }), 'THINGSTEAD_ERR_DEVICE_NAME_TAKEN');
  });

  test('device profiles: one 201, every other 409 PROFILE_NAME_TAKEN', async () => {
    await race('/api/device-profiles', () => ({ name: 'same profile' }), 'THINGSTEAD_ERR_PROFILE_NAME_TAKEN');
  });

  test('users: one 201, every other 409 EMAIL_TAKEN (password hashing sits between check and insert)', async () => {
    await race('/api/users', () => ({ email: 'same@example.com', password: 'long enough password', role: 'viewer' }), 'THINGSTEAD_ERR_EMAIL_TAKEN');
  });

  test('tenants: one 201, every other 409 TENANT_NAME_TAKEN', async () => {
    await race('/api/tenants', () => ({ name: 'Same Tenant' }), 'THINGSTEAD_ERR_TENANT_NAME_TAKEN');
    const list = await h.call('GET', '/api/tenants?search=Same%20Tenant', { token });
    assert.equal(list.body.total, 1);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './harness';

/** Issue 6: 24 wrong passwords from six addresses made the right password from a new address answer 429. */
describe('login throttling never locks the real user out from a clean address', () => {
  let h: Harness;
  const email = 'victim@example.com';
  const password = 'the-real-password';
  const login = (pw: string, from: string, who = email) =>
    h.call('POST', '/api/auth/login', { body: { email: who, password: pw }, headers: { 'x-forwarded-for': from } });

  before(async () => {
    // Behind a proxy, so each request can come from its own address; a short slowdown keeps the test quick.
    h = await startHarness({ THINGSTEAD_HTTP_TRUST_PROXY: 'true', THINGSTEAD_AUTH_LOGIN_SLOWDOWN_MS: '20' });
    const r = await h.call('POST', '/api/users', { token: await h.login(), body: { email, password, role: 'viewer' } });
    assert.equal(r.status, 201);
  });
  after(() => h.stop());

  test('24 wrong passwords from six addresses, then the right one from a new address: 200, not 429', async () => {
    for (let i = 0; i < 24; i++) {
      const r = await login(`guess-${i}`, `198.51.100.${i % 6}`);
      assert.equal(r.status, 401, `guess ${i}`);
    }
    const ok = await login(password, '203.0.113.9');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  test('five wrong passwords from one address lock that address out of the account, not the account', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await login(`again-${i}`, '198.51.100.77')).status, 401);
    const locked = await login(password, '198.51.100.77');
    assert.equal(locked.status, 429);
    assert.equal(locked.body.code, 'THINGSTEAD_ERR_TOO_MANY_ATTEMPTS');
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    assert.equal((await login(password, '203.0.113.10')).status, 200);
  });

  test('twenty failures from one address over many accounts lock the address for every account', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await login('nope-nope', '198.51.100.200', `sprayed-${i}@example.com`)).status, 401);
    assert.equal((await login(password, '198.51.100.200')).status, 429);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminEmail, adminPassword, startHarness, type Harness } from './harness';

describe('accounts: login, refresh, API keys, throttling', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ THINGSTEAD_AUTH_LOGIN_MAX_FAILURES: '3', THINGSTEAD_AUTH_LOGIN_LOCKOUT_SEC: '60' });
  });
  after(() => h.stop());

  test('login returns a JWT and a refresh token; the refresh token is single-use', async () => {
    const r = await h.call('POST', '/api/auth/login', { body: { email: adminEmail.toUpperCase(), password: adminPassword } });
    assert.equal(r.status, 200);
    assert.equal(r.body.token.split('.').length, 3);
    assert.equal(r.body.user.role, 'admin');
    assert.equal(r.body.user.passwordHash, undefined, 'no password hash on the wire');
    const refreshed = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: r.body.refreshToken } });
    assert.equal(refreshed.status, 200);
    assert.equal((await h.call('GET', '/api/auth/me', { token: refreshed.body.token })).status, 200);
    const reused = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: r.body.refreshToken } });
    assert.equal(reused.status, 401);
    assert.equal(reused.body.code, 'THINGSTEAD_ERR_TOKEN_INVALID');
    assert.equal((await h.call('POST', '/api/auth/logout', { body: { refreshToken: refreshed.body.refreshToken } })).status, 204);
    assert.equal((await h.call('POST', '/api/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } })).status, 401);
  });

  test('a tampered or garbage token is refused with 401', async () => {
    const token = await h.login();
    const [head, body] = token.split('.');
    for (const bad of [`${head}.${body}.AAAA`, 'garbage', 'tsk_00000000000000000000000000000000_x', "' OR 1=1 --"]) {
      const r = await h.call('GET', '/api/devices', { token: bad });
      assert.equal(r.status, 401, bad);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
  });

  test('API keys: created once, usable, listed without the secret, revocable', async () => {
    const token = await h.login();
    const created = await h.call('POST', '/api/api-keys', { token, body: { name: 'nightly export' } });
    assert.equal(created.status, 201);
    const key: string = created.body.key;
    assert.match(key, /^tsk_[0-9a-f]{32}_/);
    assert.equal((await h.call('GET', '/api/devices', { token: key })).status, 200, 'as bearer');
    assert.equal((await h.call('GET', '/api/devices', { headers: { 'x-api-key': key } })).status, 200, 'as X-API-Key');
    const me = await h.call('GET', '/api/auth/me', { token: key });
    assert.equal(me.body.via, 'api-key');
    const list = await h.call('GET', '/api/api-keys', { token });
    const listed = list.body.items.find((k: { id: string }) => k.id === created.body.id);
    assert.equal(listed.name, 'nightly export');
    assert.equal(listed.key, undefined);
    assert.equal(listed.secretHash, undefined);
    assert.ok(listed.lastUsedAt !== null);
    assert.equal((await h.call('DELETE', `/api/api-keys/${created.body.id}`, { token })).status, 204);
    assert.equal((await h.call('GET', '/api/devices', { token: key })).status, 401);
  });

  test('the number of active API keys per user is bounded; revoking one makes room', async () => {
    await h.call('POST', '/api/users', { token: await h.login(), body: { email: 'scripter@example.com', password: 'password-123', role: 'viewer' } });
    const token = await h.login('scripter@example.com', 'password-123');
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await h.call('POST', '/api/api-keys', { token, body: { name: `k${i}` } });
      assert.equal(r.status, 201);
      ids.push(r.body.id);
    }
    const over = await h.call('POST', '/api/api-keys', { token, body: { name: 'one too many' } });
    assert.equal(over.status, 409);
    assert.equal(over.body.code, 'THINGSTEAD_ERR_LIMIT_REACHED');
    assert.equal((await h.call('DELETE', `/api/api-keys/${ids[0]!}`, { token })).status, 204);
    assert.equal((await h.call('POST', '/api/api-keys', { token, body: { name: 'replacement' } })).status, 201);
  });

  test('repeated failed logins are throttled with 429 and Retry-After, even with the right password', async () => {
    const token = await h.login();
    await h.call('POST', '/api/users', { token, body: { email: 'target@example.com', password: 'the-real-password', role: 'viewer' } });
    for (let i = 0; i < 3; i++) {
      const r = await h.call('POST', '/api/auth/login', { body: { email: 'target@example.com', password: `guess-${i}` } });
      assert.equal(r.status, 401);
      assert.equal(r.body.code, 'THINGSTEAD_ERR_INVALID_CREDENTIALS');
    }
    const locked = await h.call('POST', '/api/auth/login', { body: { email: 'target@example.com', password: 'the-real-password' } });
    assert.equal(locked.status, 429);
    assert.equal(locked.body.code, 'THINGSTEAD_ERR_TOO_MANY_ATTEMPTS');
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    // Other users are not affected.
    assert.ok((await h.login()).length > 0);
  });

  test('an unknown email and a wrong password look the same', async () => {
    const a = await h.call('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: 'whatever-123' } });
    const b = await h.call('POST', '/api/auth/login', { body: { email: adminEmail, password: 'wrong-password' } });
    assert.equal(a.status, 401);
    assert.deepEqual(a.body, b.body);
  });

  test('changing a password ends refresh sessions; the last admin cannot be removed', async () => {
    const login = await h.call('POST', '/api/auth/login', { body: { email: adminEmail, password: adminPassword } });
    const token = login.body.token;
    const me = login.body.user.id;
    assert.equal((await h.call('DELETE', `/api/users/${me}`, { token })).status, 409);
    assert.equal((await h.call('PATCH', `/api/users/${me}`, { token, body: { role: 'viewer' } })).status, 409);
    const changed = await h.call('PATCH', `/api/users/${me}`, { token, body: { password: 'a-new-password' } });
    assert.equal(changed.status, 200);
    assert.equal((await h.call('POST', '/api/auth/refresh', { body: { refreshToken: login.body.refreshToken } })).status, 401);
    assert.ok((await h.login(adminEmail, 'a-new-password')).length > 0);
    await h.call('PATCH', `/api/users/${me}`, { token, body: { password: adminPassword } });
  });
});

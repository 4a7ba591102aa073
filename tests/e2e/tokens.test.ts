import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { adminEmail, adminPassword, startHarness, type Harness } from './harness';

describe('access and refresh tokens', () => {
  let h: Harness;
  let key: Uint8Array;
  let me: { id: string; tenantId: string };
  before(async () => {
    h = await startHarness();
    key = new TextEncoder().encode(readFileSync(join(h.dataDir, 'jwt-secret'), 'utf8').trim());
    me = (await h.call('GET', '/api/auth/me', { token: await h.login() })).body.user;
  });
  after(() => h.stop());

  const sign = (exp: boolean) => {
    const jwt = new SignJWT({ tid: me.tenantId, role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject(me.id).setIssuer('thingstead').setIssuedAt();
    return (exp ? jwt.setExpirationTime('5m') : jwt).sign(key);
  };

  test('an access JWT without exp is refused (was accepted, good forever)', async () => {
    const withExp = await h.call('GET', '/api/auth/me', { token: await sign(true) });
    assert.equal(withExp.status, 200, 'the same token with exp is fine, so the refusal is about exp');
    const r = await h.call('GET', '/api/auth/me', { token: await sign(false) });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'THINGSTEAD_ERR_TOKEN_INVALID');
  });

  test('reusing a refresh token revokes its whole family: every token descending from that login', async () => {
    const login = async () => (await h.call('POST', '/api/auth/login', { body: { email: adminEmail, password: adminPassword } })).body;
    const refresh = (refreshToken: string) => h.call('POST', '/api/auth/refresh', { body: { refreshToken } });
    const first = await login();
    const other = await login();
    const second = (await refresh(first.refreshToken)).body;
    const third = (await refresh(second.refreshToken)).body;
    assert.ok(third.refreshToken);
    // Someone replays the first token (stolen earlier): refused, and the family's live token dies with it.
    const replay = await refresh(first.refreshToken);
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, 'THINGSTEAD_ERR_TOKEN_INVALID');
    assert.equal((await refresh(third.refreshToken)).status, 401, 'the newest token of the family is revoked too');
    assert.equal((await refresh(other.refreshToken)).status, 200, 'another login is another family');
  });
});

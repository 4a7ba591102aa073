import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ManualClock } from '../clock';
import { ThingsteadError } from '../errors';
import type { Store } from '../store';
import { createTestCore } from '../testing/test-core';
import { AuthService } from './auth-service';
import type { User } from './model';
import { hashPassword } from './password';

const email = 'target@example.com';
const password = 'the-real-password';
let user: User;
before(async () => {
  user = { id: 'u1', tenantId: 't1', email, role: 'viewer', passwordHash: await hashPassword(password), disabled: false, createdAt: 0 };
});

function service(clock: ManualClock) {
  const store = {
    users: { findByEmail: async (e: string) => (e === email ? user : undefined), get: async () => user },
    refreshTokens: { insert: async () => undefined },
  } as unknown as Store;
  const signer = { sign: async () => 'jwt', verify: async () => ({ userId: 'u1', tenantId: 't1', role: 'viewer' as const }) };
  return new AuthService(store, signer, clock, {
    accessTokenTtlSec: 900,
    refreshTokenTtlSec: 3600,
    loginMaxFailures: 5,
    loginLockoutSec: 300,
    loginSlowdownMs: 1000,
  });
}

const outcome = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof ThingsteadError);
    return e.kind;
  }
};

test('24 wrong passwords from six addresses do not lock the right password out from a new address (was 429 for 300 s)', async () => {
  const clock = new ManualClock();
  const auth = service(clock);
  for (let i = 0; i < 24; i++) {
    const attempt = outcome(auth.login(email, `guess-${i}`, `10.0.0.${i % 6}`));
    // From the sixth attempt on, the account has 5 failures: the attempt waits for the slowdown (clock port).
    assert.equal(clock.pendingTimers, i >= 5 ? 1 : 0, `attempt ${i + 1}`);
    clock.advance(1000);
    assert.equal(await attempt, 'INVALID_CREDENTIALS');
  }
  const right = outcome(auth.login(email, password, '192.0.2.7'));
  assert.equal(clock.pendingTimers, 1, 'the right password waits too: a faster answer would give the guess away');
  clock.advance(1000);
  assert.equal(await right, 'ok');
});

test('per account and source: five failures lock that address out of that account, even with the right password', async () => {
  const clock = new ManualClock();
  const auth = service(clock);
  for (let i = 0; i < 5; i++) assert.equal(await outcome(auth.login(email, 'wrong-password', '10.0.0.1')), 'INVALID_CREDENTIALS');
  const locked = auth.login(email, password, '10.0.0.1');
  await assert.rejects(locked, (e: unknown) => e instanceof ThingsteadError && e.kind === 'TOO_MANY_ATTEMPTS' && e.details?.retryAfterSec === 300);
  clock.advance(300_000);
  const after = outcome(auth.login(email, password, '10.0.0.1'));
  clock.advance(1000);
  assert.equal(await after, 'ok', 'after the lockout (the account is still slowed: its failures are in the window)');
});

test('per source: twenty failures from one address over many accounts lock the address; a success of its own does not reset it', async () => {
  const clock = new ManualClock();
  const auth = service(clock);
  for (let i = 0; i < 19; i++) assert.equal(await outcome(auth.login(`spray-${i}@example.com`, 'x-password', '10.9.9.9')), 'INVALID_CREDENTIALS');
  assert.equal(await outcome(auth.login(email, password, '10.9.9.9')), 'ok');
  assert.equal(await outcome(auth.login('spray-19@example.com', 'x-password', '10.9.9.9')), 'INVALID_CREDENTIALS');
  assert.equal(await outcome(auth.login(email, password, '10.9.9.9')), 'TOO_MANY_ATTEMPTS');
  assert.equal(await outcome(auth.login(email, password, '10.0.0.2')), 'ok', 'other addresses are not affected');
});

test('refresh rotates: a refresh token is good once; reusing a rotated one ends every session of that login only', async () => {
  const { core, admin, clock } = await createTestCore();
  const pw = 'admin password 1';
  const first = await core.auth.login(admin.email, pw, '10.0.0.1');
  const other = await core.auth.login(admin.email, pw, '10.0.0.2');
  const second = await core.auth.refresh(first.refreshToken);
  assert.notEqual(second.refreshToken, first.refreshToken);
  const p = await core.auth.authenticate(second.token);
  assert.deepEqual({ ...p, expiresAt: undefined }, { userId: admin.id, tenantId: admin.tenantId, role: 'admin', via: 'jwt', expiresAt: undefined });
  assert.ok(p.expiresAt !== undefined && p.expiresAt === clock.now() + 900_000, 'the principal knows when its token expires');
  assert.equal(await outcome(core.auth.refresh(first.refreshToken)), 'TOKEN_INVALID', 'reuse of a rotated token');
  assert.equal(await outcome(core.auth.refresh(second.refreshToken)), 'TOKEN_INVALID', 'its family is revoked with it');
  assert.equal(await outcome(core.auth.refresh(other.refreshToken)), 'ok', 'another login is untouched');
});

test('tokens expire on the clock: access tokens after accessTokenTtlSec, refresh tokens after refreshTokenTtlSec', async () => {
  const { core, clock, admin } = await createTestCore();
  const s = await core.auth.login(admin.email, 'admin password 1', '10.0.0.1');
  assert.equal(s.expiresInSec, 900);
  clock.advance(900_000);
  assert.equal(await outcome(core.auth.authenticate(s.token)), 'TOKEN_INVALID');
  const s2 = await core.auth.refresh(s.refreshToken);
  clock.advance(3_600_000);
  assert.equal(await outcome(core.auth.refresh(s2.refreshToken)), 'TOKEN_INVALID');
});

test('logout revokes the refresh token; a malformed or forged one changes nothing', async () => {
  const { core, admin } = await createTestCore();
  const s = await core.auth.login(admin.email, 'admin password 1', '10.0.0.1');
  const [id] = s.refreshToken.split('.');
  await core.auth.logout(`${id ?? ''}.forged-secret`);
  await core.auth.logout('garbage');
  const s2 = await core.auth.refresh(s.refreshToken);
  await core.auth.logout(s2.refreshToken);
  assert.equal(await outcome(core.auth.refresh(s2.refreshToken)), 'TOKEN_INVALID');
});

test('a token of a deleted user is TOKEN_INVALID; of a disabled user ACCOUNT_DISABLED; an unknown email is INVALID_CREDENTIALS', async () => {
  const { core, asAdmin } = await createTestCore();
  const u = await core.users.create(asAdmin, { email: 'v@example.com', password: 'viewer password', role: 'viewer' });
  const w = await core.users.create(asAdmin, { email: 'w@example.com', password: 'viewer password', role: 'viewer' });
  const sv = await core.auth.login('v@example.com', 'viewer password', '10.0.0.1');
  const sw = await core.auth.login('W@Example.com ', 'viewer password', '10.0.0.1');
  await core.users.delete(asAdmin, u.id);
  assert.equal(await outcome(core.auth.authenticate(sv.token)), 'TOKEN_INVALID');
  await core.users.update(asAdmin, w.id, { disabled: true });
  assert.equal(await outcome(core.auth.authenticate(sw.token)), 'ACCOUNT_DISABLED');
  assert.equal(await outcome(core.auth.login('nobody@example.com', 'viewer password', '10.0.0.1')), 'INVALID_CREDENTIALS');
});

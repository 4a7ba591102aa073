import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ManualClock } from '../clock';
import { ThingsteadError } from '../errors';
import type { Store } from '../store';
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
  return new AuthService(store, signer, clock, { accessTokenTtlSec: 900, refreshTokenTtlSec: 3600, loginMaxFailures: 5, loginLockoutSec: 300, loginSlowdownMs: 1000 });
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

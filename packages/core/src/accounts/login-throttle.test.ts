import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock';
import { LoginThrottle } from './login-throttle';

test('locks after maxFailures, unlocks after the lockout, which doubles each time', () => {
  const clock = new ManualClock();
  const t = new LoginThrottle(clock, { maxFailures: 3, windowMs: 60_000, lockoutMs: 1000, maxTracked: 10 });
  t.fail('k');
  t.fail('k');
  assert.equal(t.retryAfterMs('k'), 0);
  t.fail('k');
  assert.equal(t.retryAfterMs('k'), 1000);
  clock.advance(1000);
  assert.equal(t.retryAfterMs('k'), 0);
  for (let i = 0; i < 3; i++) t.fail('k');
  assert.equal(t.retryAfterMs('k'), 2000);
  t.succeed('k');
  assert.equal(t.retryAfterMs('k'), 0);
});

test('failures outside the window do not add up; tracking is bounded', () => {
  const clock = new ManualClock();
  const t = new LoginThrottle(clock, { maxFailures: 2, windowMs: 1000, lockoutMs: 1000, maxTracked: 100 });
  t.fail('k');
  clock.advance(1001);
  t.fail('k');
  assert.equal(t.retryAfterMs('k'), 0);
  for (let i = 0; i < 10_000; i++) t.fail(`spray-${i}`);
  assert.ok((t as unknown as { entries: Map<string, unknown> }).entries.size <= 100);
});

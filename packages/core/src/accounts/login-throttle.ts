import type { Clock } from '../clock';

export interface LoginThrottleOptions {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  /** Bound on tracked keys, so a spray of random emails cannot grow memory without limit. */
  maxTracked: number;
}

interface Entry {
  failures: number;
  firstAt: number;
  lockedUntil: number;
  lockouts: number;
}

/**
 * Brute-force protection: after maxFailures failed logins for one key (an email and remote address, or a
 * remote address) within windowMs, further attempts are refused for lockoutMs, doubling with each lockout
 * up to 24 h. With maxFailures = Infinity it only counts (see failures()).
 */
export class LoginThrottle {
  private entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly o: LoginThrottleOptions,
  ) {}

  /** Milliseconds until the key may try again, or 0. */
  retryAfterMs(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.lockedUntil - this.clock.now());
  }

  fail(key: string): void {
    const now = this.clock.now();
    let e = this.entries.get(key);
    if (!e || now - e.firstAt > this.o.windowMs) {
      e = { failures: 0, firstAt: now, lockedUntil: e?.lockedUntil ?? 0, lockouts: e?.lockouts ?? 0 };
      this.entries.delete(key);
      if (this.entries.size >= this.o.maxTracked) this.evict(now);
      this.entries.set(key, e);
    }
    e.failures++;
    if (e.failures >= this.o.maxFailures) {
      e.lockedUntil = now + Math.min(this.o.lockoutMs * 2 ** e.lockouts, 86_400_000);
      e.lockouts++;
      e.failures = 0;
      e.firstAt = now;
    }
  }

  /** Failures of the key in the current window (those before a lockout are not counted again). */
  failures(key: string): number {
    const e = this.entries.get(key);
    if (!e || this.clock.now() - e.firstAt > this.o.windowMs) return 0;
    return e.failures;
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  private evict(now: number): void {
    for (const [k, e] of this.entries) {
      if (e.lockedUntil <= now && now - e.firstAt > this.o.windowMs) this.entries.delete(k);
    }
    // Still full: drop the oldest (Map keeps insertion order).
    while (this.entries.size >= this.o.maxTracked) {
      const first = this.entries.keys().next();
      if (first.done) break;
      this.entries.delete(first.value);
    }
  }
}

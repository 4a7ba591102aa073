import type { Principal, Tenant, User } from '../accounts/model';
import type { AccessClaims, AccessTokenSigner } from '../accounts/tokens';
import type { BusEvents, EventBus } from '../bus';
import { ManualClock } from '../clock';
import { createCore, type Core, type CoreOptions } from '../core';
import type { Store } from '../store';
import { createMemoryStore } from './memory-store';

/** A synchronous in-memory bus that also records what was published, for assertions. */
export class RecordingBus implements EventBus {
  readonly published: { topic: keyof BusEvents; event: unknown }[] = [];
  private readonly handlers = new Map<keyof BusEvents, Set<(e: never) => void>>();

  publish<K extends keyof BusEvents>(topic: K, event: BusEvents[K]): void {
    this.published.push({ topic, event });
    for (const h of this.handlers.get(topic) ?? []) (h as (e: BusEvents[K]) => void)(event);
  }

  subscribe<K extends keyof BusEvents>(topic: K, handler: (event: BusEvents[K]) => void): () => void {
    const set = this.handlers.get(topic) ?? new Set();
    this.handlers.set(topic, set);
    set.add(handler);
    return () => set.delete(handler);
  }

  /** The events of one topic, in order. */
  of<K extends keyof BusEvents>(topic: K): BusEvents[K][] {
    return this.published.filter((p) => p.topic === topic).map((p) => p.event as BusEvents[K]);
  }
}

/**
 * Access tokens for tests: readable claims with an expiry on the given clock (not signed: the signer is a port,
 * its cryptography is the server adapter's and tested there).
 */
export function testSigner(clock: ManualClock): AccessTokenSigner {
  return {
    sign: async (claims, ttlSec) => `test.${Buffer.from(JSON.stringify({ ...claims, exp: clock.now() + ttlSec * 1000 })).toString('base64url')}`,
    verify: async (token) => {
      const [prefix, body] = token.split('.');
      if (prefix !== 'test' || body === undefined) throw new Error('not a test token');
      const { exp, ...claims } = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as AccessClaims & { exp: number };
      if (exp <= clock.now()) throw new Error('expired');
      return claims;
    },
  };
}

export const testAdmin = { email: 'admin@example.com', password: 'admin password 1' };

export interface TestCore {
  core: Core;
  store: Store;
  clock: ManualClock;
  bus: RecordingBus;
  /** The system admin bootstrap created, and its principal. */
  admin: User;
  asAdmin: Principal;
  /** The default tenant (the admin's home). */
  home: Tenant;
}

/**
 * Core wired to the memory store, a manual clock and a recording bus, after the first-start bootstrap. Group
 * commit flushes every submission at once (maxBatch 1), so an ingest resolves without advancing the clock.
 */
export async function createTestCore(overrides: Partial<Pick<CoreOptions, 'auth' | 'telemetry'>> = {}): Promise<TestCore> {
  const clock = new ManualClock();
  const store = createMemoryStore();
  const bus = new RecordingBus();
  const core = createCore({
    store,
    clock,
    bus,
    tokens: testSigner(clock),
    auth: overrides.auth ?? { accessTokenTtlSec: 900, refreshTokenTtlSec: 3600, loginMaxFailures: 5, loginLockoutSec: 300, loginSlowdownMs: 0 },
    telemetry: overrides.telemetry ?? {
      maxKeyLength: 128,
      maxValueBytes: 1024,
      maxPointsPerMessage: 100,
      maxFutureSkewMs: 60_000,
      maxKeysPerDevice: 20,
      maxKeysPerTenant: 30,
      groupCommit: { maxBatch: 1, maxDelayMs: 5, maxPending: 1000, defer: (fn) => setImmediate(fn) },
      retention: { retentionDays: 0, batchRows: 100 },
    },
  });
  await core.bootstrap(testAdmin);
  const admin = await store.users.findByEmail(testAdmin.email);
  const home = admin && (await store.tenants.get(admin.tenantId));
  if (!admin || !home) throw new Error('bootstrap created no admin');
  return { core, store, clock, bus, admin, home, asAdmin: { userId: admin.id, tenantId: admin.tenantId, role: 'admin', via: 'jwt' } };
}

/** A principal of a (made-up) user of a tenant with the given role: services check the principal, not the user row. */
export const principal = (tenantId: string, role: Principal['role'], userId = `user-${role}-${tenantId}`): Principal => ({ userId, tenantId, role, via: 'jwt' });

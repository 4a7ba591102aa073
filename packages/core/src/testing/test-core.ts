import type { Principal, Tenant, User } from '../accounts/model';
import type { AccessClaims, AccessTokenSigner } from '../accounts/tokens';
import type { BusEvents, BusHandler, BusTopic, EventBus } from '../bus';
import { ManualClock } from '../clock';
import { createCore, type Core, type CoreOptions } from '../core';
import type { Store } from '../store';
import { createMemoryStore } from './memory-store';

/**
 * An in-memory bus that records what was published, for assertions. Like every adapter it never runs a handler
 * inside publish: handlers run in a microtask after it, in order; drain() waits for them.
 */
export class RecordingBus implements EventBus {
  readonly published: { topic: BusTopic; event: unknown }[] = [];
  private readonly handlers = new Map<BusTopic, Set<(e: never) => void | Promise<void>>>();
  private delivering: Promise<void> = Promise.resolve();

  publish<K extends BusTopic>(topic: K, event: BusEvents[K]): Promise<void> {
    this.published.push({ topic, event });
    const handlers = [...(this.handlers.get(topic) ?? [])] as BusHandler<K>[];
    this.delivering = this.delivering.then(async () => {
      for (const h of handlers) await h(event);
    });
    return Promise.resolve();
  }

  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>): () => void {
    const set = this.handlers.get(topic) ?? new Set();
    this.handlers.set(topic, set);
    set.add(handler);
    return () => set.delete(handler);
  }

  drain(): Promise<void> {
    return this.delivering;
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
      return { ...claims, expiresAt: exp };
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
 * commit flushes every submission at once (groupCommitMaxRows 1), so an ingest resolves without advancing the clock.
 */
export async function createTestCore(
  overrides: Partial<
    Pick<CoreOptions, 'auth' | 'telemetry' | 'attributes' | 'rpc' | 'onUnmatchedRpcResponse' | 'gateway' | 'mailer' | 'http' | 'notifications' | 'random'>
  > = {},
): Promise<TestCore> {
  const clock = new ManualClock();
  const store = createMemoryStore();
  const bus = new RecordingBus();
  const core = createCore({
    store,
    clock,
    bus,
    ...(overrides.attributes === undefined ? {} : { attributes: overrides.attributes }),
    ...(overrides.rpc === undefined ? {} : { rpc: overrides.rpc }),
    ...(overrides.onUnmatchedRpcResponse === undefined ? {} : { onUnmatchedRpcResponse: overrides.onUnmatchedRpcResponse }),
    ...(overrides.gateway === undefined ? {} : { gateway: overrides.gateway }),
    ...(overrides.mailer === undefined ? {} : { mailer: overrides.mailer }),
    ...(overrides.http === undefined ? {} : { http: overrides.http }),
    ...(overrides.notifications === undefined ? {} : { notifications: overrides.notifications }),
    ...(overrides.random === undefined ? {} : { random: overrides.random }),
    tokens: testSigner(clock),
    auth: overrides.auth ?? { accessTokenTtlSec: 900, refreshTokenTtlSec: 3600, loginMaxFailures: 5, loginLockoutSec: 300, loginSlowdownMs: 0 },
    telemetry: overrides.telemetry ?? {
      maxKeyLength: 128,
      maxValueBytes: 1024,
      maxPointsPerMessage: 100,
      maxFutureSkewMs: 60_000,
      maxKeysPerDevice: 20,
      maxKeysPerTenant: 30,
      groupCommitMaxRows: 1,
      groupCommitMaxDelayMs: 5,
      maxPendingPoints: 1000,
      defer: (fn) => {
        setImmediate(fn);
      },
      retentionDays: 0,
      retentionBatchRows: 100,
    },
  });
  await core.bootstrap(testAdmin);
  await core.start();
  const admin = await store.users.findByEmail(testAdmin.email);
  const home = admin && (await store.tenants.get(admin.tenantId));
  if (!admin || !home) throw new Error('bootstrap created no admin');
  return { core, store, clock, bus, admin, home, asAdmin: { userId: admin.id, tenantId: admin.tenantId, role: 'admin', via: 'jwt' } };
}

/** A principal of a (made-up) user of a tenant with the given role: services check the principal, not the user row. */
export const principal = (tenantId: string, role: Principal['role'], userId = `user-${role}-${tenantId}`): Principal => ({
  userId,
  tenantId,
  role,
  via: 'jwt',
});

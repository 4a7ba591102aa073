import type { Clock } from '@thingstead/core';
import { settleWithin } from './shutdown';

/** One named check: resolves 'ok', or says what is wrong (a throw counts as its message). */
export type ReadinessCheck = () => string | Promise<string>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, string>;
}

/** A check that has not answered in this long fails: a hung database must not hang the probe as well. */
const checkTimeoutMs = 2000;

/**
 * What GET /readyz asks: every check registered here (the database takes writes, each listener is listening,
 * the server is not shutting down). Checks run concurrently, each bounded in time.
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(private readonly clock: Clock) {}

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  async run(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]): Promise<[string, string]> => {
        const result = settleWithin(
          this.clock,
          Promise.resolve()
            .then(check)
            .catch((e: unknown) => (e instanceof Error ? e.message : String(e)) || 'failed'),
          checkTimeoutMs,
        );
        return [name, (await result) ?? `no answer within ${checkTimeoutMs} ms`];
      }),
    );
    const checks = Object.fromEntries(entries);
    return { ready: entries.every(([, v]) => v === 'ok'), checks };
  }
}

/** A listener's check: 'ok' while its server accepts connections. */
export const listening =
  (server: { listening: boolean } | undefined): ReadinessCheck =>
  () =>
    server?.listening === true ? 'ok' : 'not listening';

/** GET /healthz: the process is alive and answering (also while it drains; a restart then would cut the drain). */
export const livenessBody = (): { status: 'ok'; checks: Record<string, string>; uptimeSec: number } => ({
  status: 'ok',
  checks: {},
  uptimeSec: Math.round(process.uptime()),
});

/** GET /readyz's body (served with 200 when ready, 503 otherwise). */
export const readinessBody = (r: ReadinessReport): { status: 'ok' | 'error'; checks: Record<string, string>; uptimeSec: number } => ({
  status: r.ready ? 'ok' : 'error',
  checks: r.checks,
  uptimeSec: Math.round(process.uptime()),
});

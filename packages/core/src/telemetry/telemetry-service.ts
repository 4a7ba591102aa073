import { requireReadable } from '../access';
import type { Principal } from '../accounts/model';
import type { CommittedMessage, EventBus } from '../bus';
import type { Clock } from '../clock';
import { fail } from '../errors';
import type { Store } from '../store';
import { decodeTelemetry, type TelemetryLimits } from './decode';
import { GroupCommitter, type GroupCommitOptions, type Submission } from './group-commit';
import { KeyQuota, type KeyQuotaLimits } from './key-quota';
import { ServerStamps } from './server-stamps';
import { aggregations, type Aggregation, type AppendResult, type TelemetryPoint, type TimedValue } from './model';

export interface IngestRequest {
  deviceId: string;
  tenantId: string;
  /** Server time the message arrived; the timestamp of values sent without one. */
  receivedAt: number;
  /** Parsed JSON (see parseJsonPayload for raw bytes). */
  payload: unknown;
}

export interface TelemetryQueryInput {
  keys?: readonly string[] | undefined;
  from?: number | undefined;
  to?: number | undefined;
  intervalMs?: number | undefined;
  agg?: Aggregation | undefined;
  limit?: number | undefined;
  order?: 'asc' | 'desc' | undefined;
}

export interface TelemetryQueryResult {
  from: number;
  to: number;
  agg: Aggregation;
  intervalMs: number | null;
  data: Record<string, TimedValue[]>;
}

export const maxQueryLimit = 100_000;
const maxQueryKeys = 100;

/**
 * Reception and reading of time series: the transport-independent ingest pipeline (decode, validate,
 * group commit, then a `telemetry` event) and tenant-checked queries.
 */
export class TelemetryService {
  private readonly committer: GroupCommitter<TelemetryPoint, AppendResult>;
  private readonly quota: KeyQuota;
  /** The tenant of each device that sent telemetry, for the committed-batch event. */
  private readonly tenantOf = new Map<string, string>();
  private readonly stamps = new ServerStamps();
  private replaced = 0;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly bus: EventBus,
    private readonly limits: TelemetryLimits & KeyQuotaLimits,
    groupCommit: GroupCommitOptions,
  ) {
    this.committer = new GroupCommitter((points, submissions) => this.commit(points, submissions), clock, groupCommit);
    this.quota = new KeyQuota(store.telemetry, limits);
    // A deleted device's keys no longer count for its tenant, and what is kept per device goes with it.
    const name = 'telemetry-service';
    bus.subscribe(
      'device.deleted',
      (e) => {
        this.quota.forget(e.deviceId, e.tenantId);
        this.forgetDevice(e.deviceId);
      },
      { name },
    );
    bus.subscribe(
      'tenant.deleted',
      (e) => {
        this.quota.forgetTenant(e.tenantId);
        for (const [deviceId, tenantId] of this.tenantOf) if (tenantId === e.tenantId) this.forgetDevice(deviceId);
      },
      { name },
    );
  }

  private forgetDevice(deviceId: string): void {
    this.tenantOf.delete(deviceId);
    this.stamps.forget(deviceId);
  }

  /**
   * One transaction, then one `telemetry` event for the whole batch. The event is handed to the bus before the
   * batch's submitters are answered but delivered after (the bus never runs a handler inside publish), so no
   * subscriber is on the acknowledgement path.
   */
  private async commit(points: TelemetryPoint[], submissions: readonly Submission<TelemetryPoint>[]): Promise<AppendResult> {
    const result = await this.store.telemetry.append(points);
    this.replaced += result.replaced;
    const messages: CommittedMessage[] = [];
    for (const s of submissions) {
      const tenantId = this.tenantOf.get(s.key);
      if (tenantId !== undefined && !result.unknownDevices.has(s.key)) messages.push({ deviceId: s.key, tenantId, points: s.items });
    }
    // The adapter reports a failed publish itself; the values are committed either way.
    if (messages.length > 0) this.bus.publish('telemetry', { messages }).catch(() => undefined);
    return result;
  }

  /**
   * Resolves only after the points are committed (DESIGN.md invariant 1); returns how many were stored. A
   * message is refused whole (nothing stored) when it is invalid or would pass a key limit.
   */
  async ingest(req: IngestRequest): Promise<{ points: number }> {
    // Stamped in arrival order, before anything is awaited: values without ts never share a (device, key, ts).
    const decoded = decodeTelemetry(req.payload, req.receivedAt, this.limits, () => this.stamps.next(req.deviceId, req.receivedAt));
    const admitting = this.quota.admit(req.deviceId, req.tenantId, decoded);
    if (admitting) await admitting;
    const points: TelemetryPoint[] = decoded.map((d) => ({ deviceId: req.deviceId, key: d.key, ts: d.ts, value: d.value }));
    this.tenantOf.set(req.deviceId, req.tenantId);
    const committed = await this.committer.submit(req.deviceId, points);
    // Deleted while its points waited: they were not stored, so they must not be acknowledged.
    if (committed?.unknownDevices.has(req.deviceId) === true) fail('NOT_FOUND', 'The device was deleted; nothing was stored.');
    return { points: points.length };
  }

  /**
   * Acknowledged values since start that replaced an earlier value of the same device, key and ts. Only values
   * with a ts the device chose can (server stamps never collide): a device resending, or sending two values for
   * one instant. The later one is kept, as in ThingsBoard.
   */
  get replacedPoints(): number {
    return this.replaced;
  }

  get pendingPoints(): number {
    return this.committer.pending;
  }

  /** Commits what waits and refuses further ingest; for shutdown. */
  close(): Promise<void> {
    return this.committer.close();
  }

  async query(p: Principal, deviceId: string, input: TelemetryQueryInput): Promise<TelemetryQueryResult> {
    await this.device(p, deviceId);
    const to = input.to ?? this.clock.now() + 1;
    const from = input.from ?? 0;
    const agg = input.agg ?? 'none';
    const limit = input.limit ?? (agg === 'none' ? 100 : 1000);
    if (!aggregations.includes(agg)) fail('VALIDATION', `agg must be one of ${aggregations.join(', ')}.`, { field: 'agg' });
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from >= to)
      fail('VALIDATION', 'from and to must be integers (ms) with from < to.', { field: 'from' });
    if (!Number.isInteger(limit) || limit < 1 || limit > maxQueryLimit) fail('VALIDATION', `limit must be from 1 to ${maxQueryLimit}.`, { field: 'limit' });
    const keys = input.keys && input.keys.length > 0 ? [...new Set(input.keys)] : await this.store.telemetry.keys(deviceId);
    if (keys.length > maxQueryKeys) {
      const why = input.keys && input.keys.length > 0 ? '' : ` (this device has ${keys.length}; name the keys you want)`;
      fail('VALIDATION', `at most ${maxQueryKeys} keys per query${why}.`, { field: 'keys' });
    }
    if (agg === 'none') {
      const data = await this.store.telemetry.query({ deviceId, keys, from, to, limit, order: input.order ?? 'desc' });
      return { from, to, agg, intervalMs: null, data };
    }
    const intervalMs = input.intervalMs;
    if (intervalMs === undefined) return fail('VALIDATION', `interval (ms) is required with agg=${agg}.`, { field: 'interval' });
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) fail('VALIDATION', 'interval must be a positive integer (ms).', { field: 'interval' });
    const data = await this.store.telemetry.aggregate({ deviceId, keys, from, to, intervalMs, agg, limit });
    return { from, to, agg, intervalMs, data };
  }

  async latest(p: Principal, deviceId: string, keys?: readonly string[]): Promise<Record<string, TimedValue>> {
    await this.device(p, deviceId);
    return this.store.telemetry.latest(deviceId, keys && keys.length > 0 ? keys : undefined);
  }

  async keys(p: Principal, deviceId: string): Promise<string[]> {
    await this.device(p, deviceId);
    return this.store.telemetry.keys(deviceId);
  }

  private async device(p: Principal, id: string) {
    return requireReadable(p, await this.store.devices.get(id), 'Device');
  }
}

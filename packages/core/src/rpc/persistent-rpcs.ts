import { randomUUID } from 'node:crypto';
import type { EventBus } from '../bus';
import type { Clock, TimerHandle } from '../clock';
import type { Device } from '../devices/model';
import { fail } from '../errors';
import type { Store } from '../store';
import { openRpcStatuses, type RpcLimits, type RpcStatus, type StoredRpc } from './model';

export interface PersistentRpcOptions {
  store: Store;
  clock: Clock;
  bus: EventBus;
  limits: RpcLimits;
  /** How many commands the transports of this node can hand the device now (0: none). */
  capacity: (deviceId: string) => number;
  takeId: () => number;
  sweepIntervalMs?: number;
}

/** Open calls looked at per sweep: a backlog is worked off over several sweeps, never in one long turn. */
const sweepBatch = 200;

/**
 * Persistent RPCs (model.ts has the lifecycle): stored before anything is sent, so a command for an offline
 * device waits for it, and one whose answer was lost is sent again within its expiry. Every status change is a
 * guarded store transition (two nodes cannot both apply it) followed by an `rpc.lifecycle` event. A sweeper
 * driven by the clock ends attempts that were not answered in time and calls that expired.
 */
export class PersistentRpcs {
  private timer: TimerHandle | undefined;
  private sweeping: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly o: PersistentRpcOptions) {
    this.schedule();
  }

  async submit(
    device: Device,
    input: { method: string; params: unknown; oneway: boolean; timeoutMs: number; expiresInMs: number | undefined },
  ): Promise<StoredRpc> {
    const now = this.o.clock.now();
    const expiresInMs = input.expiresInMs ?? this.o.limits.defaultExpiresInMs;
    if (!Number.isInteger(expiresInMs) || expiresInMs < 1 || expiresInMs > this.o.limits.maxExpiresInMs)
      fail('RPC_INVALID', `expiresInMs must be an integer from 1 to ${this.o.limits.maxExpiresInMs}.`);
    const open = await this.o.store.rpcs.countOpen(device.id);
    if (open >= this.o.limits.maxOpenPersistentPerDevice)
      fail('LIMIT_REACHED', `${open} persistent RPCs of this device wait already; delete some (DELETE /api/rpc/{id}) or wait until they end.`);
    const r: StoredRpc = {
      id: randomUUID(),
      tenantId: device.tenantId,
      deviceId: device.id,
      rpcId: this.o.takeId(),
      method: input.method,
      params: input.params,
      oneway: input.oneway,
      status: 'QUEUED',
      createdAt: now,
      updatedAt: now,
      expiresAt: now + expiresInMs,
      timeoutMs: input.timeoutMs,
      attempts: 0,
      maxAttempts: this.o.limits.maxAttempts,
      sentAt: null,
      error: null,
    };
    await this.o.store.rpcs.insert(r);
    await this.event(r, 'QUEUED');
    if (this.o.capacity(device.id) > 0) await this.deliver(device.id);
    return (await this.o.store.rpcs.get(r.id)) ?? r;
  }

  /** Sends the device's queued calls, oldest first, as many as it can take (when it connects, subscribes or polls). */
  async deliver(deviceId: string): Promise<void> {
    let room = this.o.capacity(deviceId);
    for (const r of await this.o.store.rpcs.open(deviceId)) {
      if (room <= 0) break;
      if (r.status !== 'QUEUED') continue;
      if (r.expiresAt <= this.o.clock.now()) continue; // the sweeper ends it
      room--;
      const now = this.o.clock.now();
      if (!(await this.o.store.rpcs.transition(r.id, ['QUEUED'], { status: 'SENT', attempts: r.attempts + 1, sentAt: now, updatedAt: now }))) continue;
      await this.event(r, 'SENT');
      await this.o.bus.publish('rpc.request', {
        tenantId: r.tenantId,
        deviceId: r.deviceId,
        rpcId: r.rpcId,
        method: r.method,
        params: r.params,
        oneway: r.oneway,
        expiresAt: Math.min(now + r.timeoutMs, r.expiresAt),
        persistent: true,
      });
    }
  }

  /** A transport handed the call to a live connection; a one-way call is done then. */
  async delivered(deviceId: string, rpcId: number): Promise<void> {
    const r = await this.o.store.rpcs.findOpen(deviceId, rpcId);
    if (!r) return;
    const status: RpcStatus = r.oneway ? 'SUCCESSFUL' : 'DELIVERED';
    if (await this.o.store.rpcs.transition(r.id, ['SENT'], { status, updatedAt: this.o.clock.now() })) await this.event(r, status);
  }

  /**
   * The device answered; true when it was an open persistent call that was sent at least once (an answer to an
   * earlier attempt counts). Stored as SUCCESSFUL, or FAILED when the answer is over the params limit.
   */
  async answered(deviceId: string, rpcId: number, response: unknown, bytes: number): Promise<boolean> {
    const r = await this.o.store.rpcs.findOpen(deviceId, rpcId);
    if (!r || r.attempts === 0) return false;
    const now = this.o.clock.now();
    const tooBig = bytes > this.o.limits.maxParamsBytes;
    const patch = tooBig
      ? { status: 'FAILED' as const, error: `the answer was ${bytes} bytes of JSON; at most ${this.o.limits.maxParamsBytes} are kept`, updatedAt: now }
      : { status: 'SUCCESSFUL' as const, response, updatedAt: now };
    const done = await this.o.store.rpcs.transition(r.id, openRpcStatuses, patch);
    if (done) await this.event(r, patch.status);
    return done;
  }

  /** Deletes a call, open or not (DELETE /api/rpc/{id}); an open one is no longer sent. */
  async cancel(r: StoredRpc): Promise<void> {
    if (await this.o.store.rpcs.delete(r.id)) await this.event(r, 'DELETED');
  }

  /** One pass over the calls whose time is up (the clock drives it; tests call it directly). */
  sweep(): Promise<void> {
    const pass = this.sweeping.catch(() => undefined).then(() => this.sweepOnce());
    this.sweeping = pass;
    return pass;
  }

  /** Stops the sweeper; resolves once a pass that is running ended. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    await this.sweeping.catch(() => undefined);
  }

  private async sweepOnce(): Promise<void> {
    if (this.closed) return;
    const now = this.o.clock.now();
    const resend = new Set<string>();
    for (const r of await this.o.store.rpcs.due(now, sweepBatch)) {
      let next: RpcStatus;
      let error: string;
      if (now >= r.expiresAt) [next, error] = ['EXPIRED', 'not answered before it expired'];
      else if (r.attempts < r.maxAttempts) [next, error] = ['QUEUED', ''];
      else [next, error] = ['TIMEOUT', `no answer to ${r.attempts} attempts of ${r.timeoutMs} ms each`];
      const patch = next === 'QUEUED' ? { status: next, sentAt: null, updatedAt: now } : { status: next, error, updatedAt: now };
      if (!(await this.o.store.rpcs.transition(r.id, openRpcStatuses, patch))) continue;
      await this.event(r, next);
      if (next === 'QUEUED' && this.o.capacity(r.deviceId) > 0) resend.add(r.deviceId);
    }
    for (const deviceId of resend) await this.deliver(deviceId);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.sweep()
        .catch(() => undefined)
        .finally(() => {
          this.schedule();
        });
    }, this.o.sweepIntervalMs ?? 1000);
    this.timer.unref?.();
  }

  private event(r: StoredRpc, status: RpcStatus | 'DELETED'): Promise<void> {
    return this.o.bus.publish('rpc.lifecycle', { tenantId: r.tenantId, deviceId: r.deviceId, id: r.id, rpcId: r.rpcId, status, at: this.o.clock.now() });
  }
}

import { requireReadable } from '../access';
import type { Principal } from '../accounts/model';
import type { ConnectivityEvent, EventBus } from '../bus';
import type { Clock, TimerHandle } from '../clock';
import type { ListedDevice, Store } from '../store';
import { DeadlineHeap } from './deadline-heap';
import { defaultInactivityTimeoutSec, type Device } from './model';

/** A device's connectivity as the API shows it. */
export interface DeviceConnectivity {
  /** An MQTT session of the device is open on this node. */
  connected: boolean;
  /** A message (or a connect) came within the inactivity timeout of the device's profile. */
  active: boolean;
  lastConnectAt: number | null;
  lastDisconnectAt: number | null;
  lastActivityAt: number | null;
}

export interface Connectivity extends DeviceConnectivity {
  /** Open sessions (MQTT connections) of the device on this node. */
  sessions: number;
}

/** A device with its connectivity: the device JSON of the REST API. */
export type DeviceView = Device & DeviceConnectivity;

/** What is stored; `connected` says a session was open when last written (cleared at every start: clearConnected). */
export interface ConnectivityRecord {
  connected: boolean;
  lastConnectAt: number | null;
  lastDisconnectAt: number | null;
  lastActivityAt: number | null;
}

export interface ConnectivityOptions {
  store: Store;
  clock: Clock;
  bus: EventBus;
  /** How often the activity times are written (one store call for every device that sent). */
  flushIntervalMs?: number;
}

/** An active device: its deadline is lastActivityAt + timeoutMs, scheduled in the heap as `deadline`. */
interface Tracked {
  tenantId: string;
  profileId: string;
  timeoutMs: number;
  lastActivityAt: number;
  /** The heap entry that counts; any other entry of the device is stale and skipped. */
  deadline: number;
}

/** A device that sent while inactive and is being looked up (its tenant and profile). */
interface Waking {
  firstAt: number;
  lastAt: number;
  done: Promise<Tracked | undefined>;
}

/** setTimeout fires at once beyond 2^31-1 ms (24.8 days), and timeouts go up to 30 days: a longer wait is done in steps. */
const maxTimerMs = 24 * 3600 * 1000;

/**
 * Device connectivity fed by the transports. Sessions are counted in memory (they end with the process);
 * connects and disconnects are written at once; activity (every message) is kept in memory and written in one
 * batch every flushIntervalMs, so it costs no write per message.
 *
 * Inactivity: only active devices are tracked, each with one deadline in a min-heap and one timer for the
 * earliest deadline. A message costs a map lookup and an assignment (the deadline moves lazily: when an entry
 * comes due and the device sent since, it is pushed again at its new deadline, once per timeout and not once
 * per message). A device that is not tracked is inactive; its next message looks its profile up and makes it
 * active. `device.connectivity` events go on the bus after the change, never awaited on the message path.
 */
export class ConnectivityService {
  private readonly sessions = new Map<string, number>();
  private dirtyActivity = new Map<string, number>();
  private flushTimer: TimerHandle | undefined;
  private readonly active = new Map<string, Tracked>();
  private readonly waking = new Map<string, Waking>();
  private readonly deadlines = new DeadlineHeap();
  private deadlineTimer: TimerHandle | undefined;
  private timerAt = Infinity;
  private readonly unsubscribe: (() => void)[];
  private started = false;
  private closed = false;

  constructor(private readonly o: ConnectivityOptions) {
    const name = 'connectivity';
    this.unsubscribe = [
      o.bus.subscribe(
        'device.deleted',
        (e) => {
          this.forget(e.deviceId);
        },
        { name },
      ),
      o.bus.subscribe(
        'tenant.deleted',
        (e) => {
          for (const [id, t] of this.active) if (t.tenantId === e.tenantId) this.forget(id);
        },
        { name },
      ),
      o.bus.subscribe('device.updated', (e) => this.deviceUpdated(e.deviceId, e.tenantId, e.profileId), { name }),
      o.bus.subscribe('profile.updated', (e) => this.profileUpdated(e.profileId), { name }),
    ];
  }

  /**
   * At start: nobody is connected (sessions end with the process), so stored connected flags are cleared, with a
   * `disconnected` event for each device that still had one (the last process ended without recording it); a
   * device whose last activity is within its profile's timeout is active, its deadline scheduled.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const now = this.o.clock.now();
    for (const a of await this.o.store.devices.listActive(now)) {
      if (this.active.has(a.deviceId) || this.waking.has(a.deviceId)) continue;
      const lastActivityAt = Math.max(a.lastActivityAt, this.dirtyActivity.get(a.deviceId) ?? 0);
      const timeoutMs = a.inactivityTimeoutSec * 1000;
      this.active.set(a.deviceId, { tenantId: a.tenantId, profileId: a.profileId, timeoutMs, lastActivityAt, deadline: lastActivityAt + timeoutMs });
    }
    // One heapify for all of them (10k devices: no 10k timer resets).
    this.deadlines.rebuild([...this.active].map(([id, t]) => [t.deadline, id]));
    this.arm();
    for (const d of await this.o.store.devices.clearConnected()) {
      if (!this.sessions.has(d.deviceId)) this.emit(d.deviceId, d.tenantId, 'disconnected', now);
    }
  }

  /** A session of the device opened (a connect counts as activity); `tenantId` spares a lookup when the caller knows it. */
  async connected(deviceId: string, tenantId?: string): Promise<void> {
    const n = (this.sessions.get(deviceId) ?? 0) + 1;
    this.sessions.set(deviceId, n);
    const now = this.o.clock.now();
    this.touch(deviceId, now);
    await this.o.store.devices.setConnectivity(deviceId, { connected: true, lastConnectAt: now, lastActivityAt: now });
    if (n !== 1) return;
    const tenant = tenantId ?? (await this.tenantOf(deviceId));
    // Skipped when the session closed meanwhile: its `disconnected` tells the state that holds.
    if (tenant !== undefined && this.sessions.has(deviceId)) this.emit(deviceId, tenant, 'connected', now);
  }

  async disconnected(deviceId: string, tenantId?: string): Promise<void> {
    const n = (this.sessions.get(deviceId) ?? 1) - 1;
    if (n > 0) this.sessions.set(deviceId, n);
    else this.sessions.delete(deviceId);
    const now = this.o.clock.now();
    // Write the activity still waiting for the batch together with the disconnect.
    const pending = this.dirtyActivity.get(deviceId);
    this.dirtyActivity.delete(deviceId);
    await this.o.store.devices.setConnectivity(deviceId, {
      connected: n > 0,
      lastDisconnectAt: now,
      ...(pending === undefined ? {} : { lastActivityAt: pending }),
    });
    if (n > 0) return;
    const tenant = tenantId ?? (await this.tenantOf(deviceId));
    if (tenant !== undefined && !this.sessions.has(deviceId)) this.emit(deviceId, tenant, 'disconnected', now);
  }

  /** Whether the device has a session open on this node (an MQTT connection). */
  online(deviceId: string): boolean {
    return this.sessions.has(deviceId);
  }

  /** Whether the device sent within its profile's inactivity timeout. */
  isActive(deviceId: string): boolean {
    return this.active.has(deviceId) || this.waking.has(deviceId);
  }

  /** A message from the device (any: telemetry, attributes, RPC, an HTTP request). Runs on every message: no I/O, no await. */
  activity(deviceId: string): void {
    const now = this.o.clock.now();
    this.dirtyActivity.set(deviceId, now);
    this.flushTimer ??= this.o.clock.setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush().catch(() => undefined);
    }, this.o.flushIntervalMs ?? 5000);
    this.touch(deviceId, now);
  }

  async flush(): Promise<void> {
    const batch = this.dirtyActivity;
    this.dirtyActivity = new Map();
    if (batch.size === 0) return;
    try {
      await this.o.store.devices.setActivity(batch);
    } catch (e) {
      // Kept for the next flush (a later message of the same device replaces its time).
      for (const [id, at] of batch) if (!this.dirtyActivity.has(id)) this.dirtyActivity.set(id, at);
      throw e;
    }
  }

  async get(p: Principal, deviceId: string): Promise<Connectivity> {
    requireReadable(p, await this.o.store.devices.get(deviceId), 'Device');
    const rec = await this.o.store.devices.getConnectivity(deviceId);
    return { ...this.overlay(deviceId, rec), sessions: this.sessions.get(deviceId) ?? 0 };
  }

  /** Devices with their connectivity: what is stored, with this node's sessions, activity state and the activity not written yet. */
  view(device: Device, rec: ConnectivityRecord | undefined): DeviceView {
    return { ...device, ...this.overlay(device.id, rec) };
  }

  listed(d: ListedDevice): DeviceView {
    const { connected, lastConnectAt, lastDisconnectAt, lastActivityAt, ...device } = d;
    return this.view(device, { connected, lastConnectAt, lastDisconnectAt, lastActivityAt });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.unsubscribe) off();
    if (this.flushTimer) this.o.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.deadlineTimer) this.o.clock.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    await this.flush();
  }

  private overlay(deviceId: string, rec: ConnectivityRecord | undefined): DeviceConnectivity {
    return {
      connected: this.sessions.has(deviceId),
      active: this.isActive(deviceId),
      lastConnectAt: rec?.lastConnectAt ?? null,
      lastDisconnectAt: rec?.lastDisconnectAt ?? null,
      lastActivityAt: this.dirtyActivity.get(deviceId) ?? rec?.lastActivityAt ?? null,
    };
  }

  /** Activity at `at`: moves an active device's last activity, or wakes an inactive one. */
  private touch(deviceId: string, at: number): void {
    const t = this.active.get(deviceId);
    if (t) {
      if (at > t.lastActivityAt) t.lastActivityAt = at;
      return;
    }
    const w = this.waking.get(deviceId);
    if (w) {
      if (at > w.lastAt) w.lastAt = at;
      return;
    }
    if (!this.closed) this.wake(deviceId, at);
  }

  /**
   * An inactive device sent: look up its tenant and profile, then it is active (an `active` event). A lookup
   * that fails leaves the device untracked, so its next message tries again.
   */
  private wake(deviceId: string, at: number): void {
    const w: Waking = { firstAt: at, lastAt: at, done: Promise.resolve(undefined) };
    this.waking.set(deviceId, w);
    w.done = this.lookUp(deviceId).then(
      (found): Tracked | undefined => {
        if (this.waking.get(deviceId) !== w) return undefined; // deleted meanwhile
        this.waking.delete(deviceId);
        if (!found || this.closed) return undefined;
        const t = { ...found, lastActivityAt: w.lastAt, deadline: Infinity };
        this.track(deviceId, t);
        this.emit(deviceId, t.tenantId, 'active', w.firstAt);
        return t;
      },
      () => {
        if (this.waking.get(deviceId) === w) this.waking.delete(deviceId);
        return undefined;
      },
    );
  }

  private async lookUp(deviceId: string): Promise<Omit<Tracked, 'lastActivityAt' | 'deadline'> | undefined> {
    const d = await this.o.store.devices.get(deviceId);
    if (!d) return undefined;
    return { tenantId: d.tenantId, profileId: d.profileId, timeoutMs: await this.timeoutMsOf(d.profileId) };
  }

  private async timeoutMsOf(profileId: string): Promise<number> {
    return ((await this.o.store.profiles.get(profileId))?.inactivityTimeoutSec ?? defaultInactivityTimeoutSec) * 1000;
  }

  private async tenantOf(deviceId: string): Promise<string | undefined> {
    const t = this.active.get(deviceId) ?? (await this.waking.get(deviceId)?.done);
    return t?.tenantId ?? (await this.o.store.devices.get(deviceId))?.tenantId;
  }

  private track(deviceId: string, t: Tracked): void {
    this.active.set(deviceId, t);
    this.schedule(deviceId, t);
  }

  /** Moves the device's deadline earlier when its timeout shrank; a later one is found when the current entry comes due. */
  private schedule(deviceId: string, t: Tracked): void {
    const deadline = t.lastActivityAt + t.timeoutMs;
    if (deadline >= t.deadline) return;
    t.deadline = deadline;
    this.deadlines.push(deadline, deviceId);
    // Stale entries (deleted devices, deadlines moved earlier) wait for their time; rebuild before they outnumber the live ones.
    if (this.deadlines.size > 2 * this.active.size + 1024) this.deadlines.rebuild([...this.active].map(([id, x]) => [x.deadline, id]));
    this.arm();
  }

  /** One timer, for the earliest deadline. */
  private arm(): void {
    const next = this.deadlines.peek();
    if (next === undefined || this.closed) return;
    if (this.deadlineTimer && this.timerAt <= next) return;
    if (this.deadlineTimer) this.o.clock.clearTimeout(this.deadlineTimer);
    const now = this.o.clock.now();
    const wait = Math.min(Math.max(0, next - now), maxTimerMs);
    this.timerAt = now + wait;
    this.deadlineTimer = this.o.clock.setTimeout(() => {
      this.deadlineTimer = undefined;
      this.timerAt = Infinity;
      this.expire();
    }, wait);
    this.deadlineTimer.unref?.();
  }

  /** Every due deadline: a device that sent since is pushed again at its new deadline, the others become inactive. */
  private expire(): void {
    const now = this.o.clock.now();
    for (let at = this.deadlines.peek(); at !== undefined && at <= now; at = this.deadlines.peek()) {
      const { key } = this.deadlines.pop() as { key: string };
      const t = this.active.get(key);
      if (t?.deadline !== at) continue;
      const deadline = t.lastActivityAt + t.timeoutMs;
      if (deadline > now) {
        t.deadline = deadline;
        this.deadlines.push(deadline, key);
        continue;
      }
      this.active.delete(key);
      this.emit(key, t.tenantId, 'inactive', deadline);
    }
    this.arm();
  }

  private forget(deviceId: string): void {
    this.active.delete(deviceId);
    this.waking.delete(deviceId);
  }

  /** A device moved to another profile: its timeout changes (which may also make an inactive device active again). */
  private async deviceUpdated(deviceId: string, tenantId: string, profileId: string): Promise<void> {
    const t = this.active.get(deviceId);
    if (t?.profileId === profileId) return;
    const timeoutMs = await this.timeoutMsOf(profileId);
    if (t) {
      if (this.active.get(deviceId) !== t) return;
      t.profileId = profileId;
      this.retime(deviceId, t, timeoutMs);
      return;
    }
    const lastActivityAt = this.dirtyActivity.get(deviceId) ?? (await this.o.store.devices.getConnectivity(deviceId))?.lastActivityAt;
    if (lastActivityAt != null) this.revive(deviceId, { tenantId, profileId, timeoutMs, lastActivityAt, deadline: Infinity });
  }

  /** A profile's timeout changed: its active devices are rescheduled, and those it now covers again are active. */
  private async profileUpdated(profileId: string): Promise<void> {
    const timeoutMs = await this.timeoutMsOf(profileId);
    for (const [id, t] of this.active) if (t.profileId === profileId) this.retime(id, t, timeoutMs);
    for (const a of await this.o.store.devices.listActive(this.o.clock.now(), { profileId })) {
      this.revive(a.deviceId, {
        tenantId: a.tenantId,
        profileId,
        timeoutMs: a.inactivityTimeoutSec * 1000,
        lastActivityAt: a.lastActivityAt,
        deadline: Infinity,
      });
    }
  }

  /** An untracked device whose last activity is within its (new) timeout is active, as the store's filter and start() see it. */
  private revive(deviceId: string, t: Tracked): void {
    const now = this.o.clock.now();
    if (this.closed || this.active.has(deviceId) || this.waking.has(deviceId) || t.lastActivityAt + t.timeoutMs <= now) return;
    this.track(deviceId, t);
    this.emit(deviceId, t.tenantId, 'active', now);
  }

  private retime(deviceId: string, t: Tracked, timeoutMs: number): void {
    t.timeoutMs = timeoutMs;
    this.schedule(deviceId, t);
  }

  private emit(deviceId: string, tenantId: string, change: ConnectivityEvent['change'], at: number): void {
    const event: ConnectivityEvent = {
      tenantId,
      deviceId,
      change,
      at,
      connected: change === 'connected' || (change !== 'disconnected' && this.sessions.has(deviceId)),
      active: change === 'active' || (change !== 'inactive' && this.isActive(deviceId)),
    };
    // Off the message path: never awaited; the bus reports its own failures.
    this.o.bus.publish('device.connectivity', event).catch(() => undefined);
  }
}

import { requireReadable } from '../access';
import type { Principal } from '../accounts/model';
import type { Clock, TimerHandle } from '../clock';
import type { Store } from '../store';

export interface Connectivity {
  connected: boolean;
  /** Open sessions (MQTT connections) of the device on this node. */
  sessions: number;
  lastConnectAt: number | null;
  lastDisconnectAt: number | null;
  lastActivityAt: number | null;
}

export type ConnectivityRecord = Omit<Connectivity, 'connected' | 'sessions'>;

/**
 * Device connectivity fed by the transports. Connects and disconnects are written at once; activity (every
 * message) is kept in memory and written in one batch every flushIntervalMs, so it costs no write per message.
 */
export class ConnectivityService {
  private readonly sessions = new Map<string, number>();
  private dirtyActivity = new Map<string, number>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly flushIntervalMs = 5000,
  ) {}

  async connected(deviceId: string): Promise<void> {
    this.sessions.set(deviceId, (this.sessions.get(deviceId) ?? 0) + 1);
    const now = this.clock.now();
    await this.store.devices.setConnectivity(deviceId, { lastConnectAt: now, lastActivityAt: now });
  }

  async disconnected(deviceId: string): Promise<void> {
    const n = (this.sessions.get(deviceId) ?? 1) - 1;
    if (n > 0) this.sessions.set(deviceId, n);
    else this.sessions.delete(deviceId);
    // Write the activity still waiting for the batch together with the disconnect.
    const pending = this.dirtyActivity.get(deviceId);
    this.dirtyActivity.delete(deviceId);
    await this.store.devices.setConnectivity(deviceId, { lastDisconnectAt: this.clock.now(), ...(pending === undefined ? {} : { lastActivityAt: pending }) });
  }

  /** Whether the device has a session open on this node (an MQTT connection). */
  online(deviceId: string): boolean {
    return this.sessions.has(deviceId);
  }

  activity(deviceId: string): void {
    this.dirtyActivity.set(deviceId, this.clock.now());
    this.timer ??= this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushIntervalMs);
  }

  async flush(): Promise<void> {
    const batch = this.dirtyActivity;
    this.dirtyActivity = new Map();
    if (batch.size > 0) await this.store.devices.setActivity(batch);
  }

  async get(p: Principal, deviceId: string): Promise<Connectivity> {
    requireReadable(p, await this.store.devices.get(deviceId), 'Device');
    const rec = await this.store.devices.getConnectivity(deviceId);
    const sessions = this.sessions.get(deviceId) ?? 0;
    const pending = this.dirtyActivity.get(deviceId);
    return {
      connected: sessions > 0,
      sessions,
      lastConnectAt: rec?.lastConnectAt ?? null,
      lastDisconnectAt: rec?.lastDisconnectAt ?? null,
      lastActivityAt: pending ?? rec?.lastActivityAt ?? null,
    };
  }

  async close(): Promise<void> {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

import { fail } from '../errors';
import type { TelemetryStore } from './model';

export interface KeyQuotaLimits {
  /** Distinct telemetry keys one device may have. */
  maxKeysPerDevice: number;
  /** Distinct telemetry keys over all devices of one tenant (the same key on two devices counts once). */
  maxKeysPerTenant: number;
}

/**
 * Bounds the distinct telemetry keys per device and per tenant, so a device inventing keys cannot grow the
 * store, the key dictionary and `latest` without limit (100,000 keys in a second were once accepted).
 *
 * The store holds the truth; this keeps the known keys of recently active devices and of each tenant in
 * memory, loaded once per device (and tenant) with one query, so a message that uses only known keys costs
 * a few Set lookups and no query. Keys are reserved when a message is admitted, before its commit, so
 * concurrent messages cannot pass the limit together. A reservation is not undone if the commit fails
 * (a retry of the same message needs it again); at worst a device is refused a little before its limit
 * until its entry is reloaded. Reloading an entry while a message of that device waits for its commit may
 * miss that message's keys, so the limit can be passed by one message's keys in that rare case.
 */
export class KeyQuota {
  private readonly devices = new Map<string, Set<string>>();
  private readonly tenants = new Map<string, Set<string>>();
  private readonly loading = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Pick<TelemetryStore, 'keys' | 'tenantKeys'>,
    private readonly limits: KeyQuotaLimits,
    /** Bound on cached devices (a few hundred bytes each); the oldest entry is dropped and reloaded when needed. */
    private readonly maxCachedDevices = 100_000,
  ) {}

  /**
   * Admits the keys of one message or throws TELEMETRY_KEY_LIMIT naming the limit; nothing is reserved then.
   * Returns undefined when it could decide at once (the usual case), or a promise while the device's known
   * keys are loaded.
   */
  admit(deviceId: string, tenantId: string, points: readonly { key: string }[]): Promise<void> | undefined {
    const device = this.devices.get(deviceId);
    const tenant = this.tenants.get(tenantId);
    if (device && tenant) {
      this.reserve(device, tenant, points);
      return undefined;
    }
    return this.load(deviceId, tenantId).then(() => {
      const d = this.devices.get(deviceId);
      const t = this.tenants.get(tenantId);
      // Forgotten (device deleted) while loading: load again.
      if (!d || !t) return this.admit(deviceId, tenantId, points);
      this.reserve(d, t, points);
      return undefined;
    });
  }

  /** Drops what is cached for the device and its tenant; the next message reloads from the store. */
  forget(deviceId: string, tenantId: string): void {
    this.devices.delete(deviceId);
    this.tenants.delete(tenantId);
  }

  /** A deleted tenant: its key set goes (its devices' sets age out of the bounded device cache). */
  forgetTenant(tenantId: string): void {
    this.tenants.delete(tenantId);
  }

  private reserve(device: Set<string>, tenant: Set<string>, points: readonly { key: string }[]): void {
    let fresh: Set<string> | undefined;
    for (const p of points) {
      if (!device.has(p.key)) (fresh ??= new Set()).add(p.key);
    }
    if (fresh === undefined) return;
    const { maxKeysPerDevice, maxKeysPerTenant } = this.limits;
    if (device.size + fresh.size > maxKeysPerDevice) {
      fail(
        'TELEMETRY_KEY_LIMIT',
        `This device has ${device.size} telemetry keys and the message adds ${fresh.size} more; the limit is ${maxKeysPerDevice} per device (telemetry.maxKeysPerDevice).`,
        { limit: 'telemetry.maxKeysPerDevice', max: maxKeysPerDevice, keys: device.size, newKeys: fresh.size },
      );
    }
    let freshForTenant = 0;
    for (const k of fresh) if (!tenant.has(k)) freshForTenant++;
    if (tenant.size + freshForTenant > maxKeysPerTenant) {
      fail(
        'TELEMETRY_KEY_LIMIT',
        `This tenant's devices have ${tenant.size} distinct telemetry keys and the message adds ${freshForTenant} more; the limit is ${maxKeysPerTenant} per tenant (telemetry.maxKeysPerTenant).`,
        { limit: 'telemetry.maxKeysPerTenant', max: maxKeysPerTenant, keys: tenant.size, newKeys: freshForTenant },
      );
    }
    for (const k of fresh) {
      device.add(k);
      tenant.add(k);
    }
  }

  private load(deviceId: string, tenantId: string): Promise<void> {
    let p = this.loading.get(deviceId);
    if (p === undefined) {
      p = (async () => {
        const [keys, tenantKeys] = await Promise.all([this.store.keys(deviceId), this.tenants.has(tenantId) ? undefined : this.store.tenantKeys(tenantId)]);
        // What another load put here meanwhile may hold reservations; keep it. (A tenant entry forgotten while
        // this load ran without querying it stays missing, and admit loads again.)
        if (tenantKeys !== undefined && !this.tenants.has(tenantId)) this.tenants.set(tenantId, new Set(tenantKeys));
        if (!this.devices.has(deviceId)) {
          if (this.devices.size >= this.maxCachedDevices) {
            const oldest = this.devices.keys().next();
            if (!oldest.done) this.devices.delete(oldest.value);
          }
          this.devices.set(deviceId, new Set(keys));
        }
      })().finally(() => this.loading.delete(deviceId));
      this.loading.set(deviceId, p);
    }
    return p;
  }
}

import type { Store } from '../store';
import type { TelemetryValue } from '../telemetry/model';
import type { RuleDevice } from './rule-instance';

type Attrs = { client: Record<string, unknown>; server: Record<string, unknown>; shared: Record<string, unknown> };

/** What the engine keeps of a device it evaluates rules for. */
export interface DeviceEntry {
  device: RuleDevice;
  /** Latest values and their times, loaded on first use, then kept from committed telemetry. */
  values: Record<string, TelemetryValue> | null;
  latestTs: Record<string, number>;
  attributes: Attrs | null;
  /** Rule id@version -> whether the device is in its scope (the scope filter is an expression). */
  inScope: Map<string, boolean>;
}

/**
 * A bounded map of the devices rules look at (least recently used first out). Entries are dropped when their
 * device changes or is deleted, and reloaded on next use.
 */
export class DeviceCache {
  private readonly entries = new Map<string, DeviceEntry>();

  constructor(
    private readonly store: Store,
    private readonly max = 100_000,
  ) {}

  peek(id: string): DeviceEntry | undefined {
    return this.entries.get(id);
  }

  /** The cached entry at once, or a promise of it loaded from the store. */
  get(id: string): DeviceEntry | undefined | Promise<DeviceEntry | undefined> {
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit;
    }
    return this.load(id);
  }

  private async load(id: string): Promise<DeviceEntry | undefined> {
    const d = await this.store.devices.get(id);
    if (!d) return undefined;
    const entry: DeviceEntry = {
      device: { id: d.id, tenantId: d.tenantId, name: d.name, label: d.label, profileId: d.profileId, metadata: d.metadata },
      values: null,
      latestTs: {},
      attributes: null,
      inScope: new Map(),
    };
    this.entries.set(id, entry);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return entry;
  }

  async values(e: DeviceEntry): Promise<Record<string, TelemetryValue>> {
    if (e.values) return e.values;
    const latest = await this.store.telemetry.latest(e.device.id);
    const values: Record<string, TelemetryValue> = {};
    for (const [k, tv] of Object.entries(latest)) {
      if ((e.latestTs[k] ?? -Infinity) > tv.ts) continue;
      values[k] = tv.value;
      e.latestTs[k] = tv.ts;
    }
    e.values ??= values;
    return e.values;
  }

  /** Folds committed values into a cached device's latest (older ones than what it holds are ignored). */
  observe(id: string, ts: number, values: Readonly<Record<string, TelemetryValue>>): void {
    const e = this.entries.get(id);
    if (!e?.values) return;
    for (const [k, v] of Object.entries(values)) {
      if ((e.latestTs[k] ?? -Infinity) > ts) continue;
      e.values[k] = v;
      e.latestTs[k] = ts;
    }
  }

  async attributes(e: DeviceEntry): Promise<Attrs> {
    if (e.attributes) return e.attributes;
    const s = await this.store.attributes.read(e.device.id);
    const plain = (m: Record<string, { value: unknown }>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.value]));
    e.attributes ??= { client: plain(s.client), server: plain(s.server), shared: plain(s.shared) };
    return e.attributes;
  }

  observeAttributes(id: string, scope: keyof Attrs, updated: Readonly<Record<string, unknown>>, deleted: readonly string[]): void {
    const a = this.entries.get(id)?.attributes;
    if (!a) return;
    const m = a[scope];
    for (const [k, v] of Object.entries(updated)) m[k] = v;
    for (const k of deleted) Reflect.deleteProperty(m, k);
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** A telemetry value as devices send it: number, string, boolean or a JSON object (ThingsBoard's kinds). */
export type TelemetryValue = number | string | boolean | { readonly [k: string]: unknown } | readonly unknown[];

export interface TelemetryPoint {
  deviceId: string;
  key: string;
  /** Milliseconds since the epoch. */
  ts: number;
  value: TelemetryValue;
}

export interface TimedValue {
  ts: number;
  value: TelemetryValue;
}

export const aggregations = ['none', 'min', 'max', 'avg', 'sum', 'count'] as const;
export type Aggregation = (typeof aggregations)[number];

export interface RawQuery {
  deviceId: string;
  keys: readonly string[];
  from: number;
  to: number;
  limit: number;
  order: 'asc' | 'desc';
}

export interface AggregateQuery {
  deviceId: string;
  keys: readonly string[];
  from: number;
  to: number;
  intervalMs: number;
  agg: Exclude<Aggregation, 'none'>;
  limit: number;
}

export interface AppendResult {
  unknownDevices: ReadonlySet<string>;
  /** Points that replaced a stored value of the same (device, key, ts), in the store or earlier in the batch. */
  replaced: number;
}

/** The storage port for time series, implemented by each storage adapter and checked by one contract suite. */
export interface TelemetryStore {
  /**
   * Stores all points in one transaction and updates the latest values; resolves after commit with the ids of
   * devices that no longer exist (deleted while their points waited): their points were not stored, and with how
   * many points replaced a value already there with the same (device, key, ts): the later one is kept.
   */
  append(points: readonly TelemetryPoint[]): Promise<AppendResult>;
  /** Raw points per key with from <= ts < to. */
  query(q: RawQuery): Promise<Record<string, TimedValue[]>>;
  /**
   * One value per key and interval bucket [from + n*interval, from + (n+1)*interval) that has data; the ts
   * of a bucket is its start. min/max/avg/sum use numeric values only; count counts values of any type.
   */
  aggregate(q: AggregateQuery): Promise<Record<string, TimedValue[]>>;
  latest(deviceId: string, keys?: readonly string[]): Promise<Record<string, TimedValue>>;
  keys(deviceId: string): Promise<string[]>;
  /** The distinct keys of all devices of a tenant (a key on two devices is listed once), in any order. */
  tenantKeys(tenantId: string): Promise<string[]>;
  /**
   * One bounded step of retention: deletes points older than `before`, continuing where the previous step
   * stopped; `budget` bounds a step's work where the store deletes row by row (points deleted, series visited).
   * A store may delete at a coarser grain (the SQLite engine drops one whole UTC day per step, once all of it is
   * older than `before`): a point at or after `before` is never deleted, one more than a day older always is.
   * `done` is true when a pass has finished; the next call starts a new pass.
   */
  deleteExpired(before: number, budget: number): Promise<{ deleted: number; done: boolean }>;
  deleteDevice(deviceId: string): Promise<void>;
}

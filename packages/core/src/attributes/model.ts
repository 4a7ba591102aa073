import type { TelemetryValue } from '../telemetry/model';

/**
 * The three attribute scopes of a device (as in ThingsBoard): `client` is reported by the device and read-only to
 * users; `server` is set by users or rules and never shown to the device; `shared` is set by users or rules, and
 * readable by and pushed to the device: its desired state.
 */
export const attributeScopes = ['client', 'server', 'shared'] as const;
export type AttributeScope = (typeof attributeScopes)[number];

/** The values an attribute may hold are those of telemetry: number, string, boolean, JSON object or array. */
export type AttributeValue = TelemetryValue;

/**
 * A committed write that changed a device's attributes (the `attributes` bus event). It carries what a push to the
 * device needs (ThingsBoard sends shared changes as {"k":v} and deletions as {"deleted":[..]}) so no transport has
 * to read the store back, and the version, so a receiver can tell an event it already has from a newer one.
 */
export interface AttributeEvent {
  tenantId: string;
  deviceId: string;
  scope: AttributeScope;
  /** The keys set, with their new values (all with updatedAt). */
  updated: Readonly<Record<string, AttributeValue>>;
  /** The keys deleted that existed. */
  deleted: readonly string[];
  updatedAt: number;
  /** The device's version after this write. */
  version: number;
}

export interface StoredAttribute {
  value: AttributeValue;
  /** Milliseconds since the epoch of the write that last set it. */
  updatedAt: number;
}

export type AttributeMap = Record<string, StoredAttribute>;

/** Everything stored of one device's attributes, read in one consistent snapshot. */
export interface AttributeState {
  /** Increases by one with every write that changes any attribute of the device; 0 before the first. */
  version: number;
  client: AttributeMap;
  server: AttributeMap;
  shared: AttributeMap;
}

/**
 * Bounds of one device's attributes, checked by the store inside the write's transaction (two concurrent
 * writes cannot together pass them). A scope's size is the sum over its keys of the UTF-8 bytes of the key
 * and of the value's JSON (attributeBytes), so it is the same in every adapter.
 */
export interface AttributeStoreLimits {
  /** Keys over all three scopes together. */
  maxKeysPerDevice: number;
  /** Size of one scope (so of the desired or the reported document of the twin). */
  maxScopeBytes: number;
}

/** One write to one scope: deletes, then sets, then the version goes up by one if anything changed. */
export interface AttributeWrite {
  deviceId: string;
  scope: AttributeScope;
  set: Readonly<Record<string, AttributeValue>>;
  delete: readonly string[];
  /** The updatedAt of every key set. */
  at: number;
  /** Optimistic concurrency: the write happens only if the device's version is still this one. */
  expectedVersion?: number | undefined;
  limits: AttributeStoreLimits;
}

export type AttributeWriteResult =
  | {
      status: 'written';
      version: number;
      /** False when the write set nothing and deleted no key that existed: the version did not move. */
      changed: boolean;
      /** The keys deleted that existed (deleting an absent key changes nothing). */
      deleted: string[];
    }
  | { status: 'version-mismatch'; version: number }
  | { status: 'too-many-keys'; keys: number }
  | { status: 'too-large'; bytes: number }
  | { status: 'unknown-device' };

/**
 * The storage port of attributes. Each write is one transaction: the version check, the limits, the change and the
 * version increment commit together or not at all. A device's attributes and version are deleted with it.
 */
export interface AttributeRepo {
  /** The device's attributes in every scope and its version; an unknown device reads as empty at version 0. */
  read(deviceId: string): Promise<AttributeState>;
  write(w: AttributeWrite): Promise<AttributeWriteResult>;
}

/** The bytes one attribute counts towards its scope's size (AttributeStoreLimits.maxScopeBytes). */
export const attributeBytes = (key: string, valueJson: string): number => Buffer.byteLength(key) + Buffer.byteLength(valueJson);

import { requireReadable, requireWritable } from '../access';
import type { Principal } from '../accounts/model';
import type { EventBus } from '../bus';
import type { Clock } from '../clock';
import { fail } from '../errors';
import type { Store } from '../store';
import { attributeScopes, type AttributeMap, type AttributeScope, type AttributeStoreLimits, type AttributeValue, type AttributeWrite } from './model';
import { twinOf, type Twin } from './twin';
import { attributeKeys, attributeValues, desiredPatch, type AttributeValueLimits } from './validate';

export type AttributeLimits = AttributeStoreLimits & AttributeValueLimits;

/**
 * The defaults of the limits attributes have beyond telemetry's key and value rules. 64 KiB per scope keeps a
 * device's whole shared state (pushed to it in one message) well inside the MQTT packet limit (mqtt.maxPacketBytes,
 * 260 KiB) and near what AWS shadows (8 KiB desired) and Azure twins (32 KiB per section) allow.
 */
export const defaultAttributeLimits: AttributeStoreLimits = { maxKeysPerDevice: 500, maxScopeBytes: 65_536 };

/** What a write changed: the version after it, the keys set, the keys deleted that existed. */
export interface AttributeChange {
  version: number;
  updated: string[];
  deleted: string[];
}

/** A read of the user API: the version, and each scope asked for (all three when none is named). */
export interface AttributeView {
  version: number;
  client?: AttributeMap;
  server?: AttributeMap;
  shared?: AttributeMap;
}

/** The device a device-side transport authenticated. */
export interface AttributeDevice {
  deviceId: string;
  tenantId: string;
}

export interface AttributeServiceOptions {
  store: Store;
  clock: Clock;
  bus: EventBus;
  limits: AttributeLimits;
}

/**
 * Device attributes and the twin. Users set and delete server and shared attributes (tenant and role checked
 * here, as for devices) and read all three scopes; devices report client attributes and read their client and
 * shared ones. Every write is one conditional store write; each one that changed something is published as an
 * `attributes` event after its commit, which the device transports turn into pushes of shared changes.
 */
export class AttributeService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly bus: EventBus;
  private readonly limits: AttributeLimits;

  constructor(o: AttributeServiceOptions) {
    this.store = o.store;
    this.clock = o.clock;
    this.bus = o.bus;
    this.limits = o.limits;
  }

  async read(p: Principal, deviceId: string, q: { scope?: AttributeScope | undefined; keys?: readonly string[] | undefined } = {}): Promise<AttributeView> {
    requireReadable(p, await this.store.devices.get(deviceId), 'Device');
    const keys = q.keys === undefined || q.keys.length === 0 ? undefined : attributeKeys(q.keys, this.limits);
    const state = await this.store.attributes.read(deviceId);
    const view: AttributeView = { version: state.version };
    for (const scope of q.scope === undefined ? attributeScopes : [q.scope]) view[scope] = pick(state[scope], keys);
    return view;
  }

  /** Sets server or shared attributes (a JSON object of key -> value); client ones are the device's. */
  async set(p: Principal, deviceId: string, scope: AttributeScope, values: unknown): Promise<AttributeChange> {
    const device = requireWritable(p, await this.store.devices.get(deviceId), 'Device');
    writableScope(scope);
    return this.write(device.tenantId, { deviceId, scope, set: attributeValues(values, this.limits), delete: [] });
  }

  async delete(p: Principal, deviceId: string, scope: AttributeScope, keys: readonly string[]): Promise<AttributeChange> {
    const device = requireWritable(p, await this.store.devices.get(deviceId), 'Device');
    writableScope(scope);
    if (keys.length === 0) fail('VALIDATION', 'Name the keys to delete: keys=a,b.', { field: 'keys' });
    return this.write(device.tenantId, { deviceId, scope, set: {}, delete: attributeKeys(keys, this.limits) });
  }

  async twin(p: Principal, deviceId: string): Promise<Twin> {
    requireReadable(p, await this.store.devices.get(deviceId), 'Device');
    return twinOf(await this.store.attributes.read(deviceId));
  }

  /**
   * Changes the desired state (shared attributes; null deletes a key) if the device's version is still
   * `version`: the store checks and writes in one transaction, so of two editors who read the same version one
   * wins and the other gets TWIN_VERSION_CONFLICT. Answers the twin as read after the write.
   */
  async patchDesired(p: Principal, deviceId: string, input: { version: number; desired: unknown }): Promise<Twin> {
    const device = requireWritable(p, await this.store.devices.get(deviceId), 'Device');
    if (!Number.isSafeInteger(input.version) || input.version < 0) fail('VALIDATION', 'version must be a non-negative integer.', { field: 'version' });
    const patch = desiredPatch(input.desired, this.limits);
    await this.write(device.tenantId, { deviceId, scope: 'shared', ...patch, expectedVersion: input.version });
    return twinOf(await this.store.attributes.read(deviceId));
  }

  /** Client attributes a device reports (a JSON object of key -> value, from MQTT or HTTP). */
  async report(device: AttributeDevice, values: unknown): Promise<AttributeChange> {
    return this.write(device.tenantId, { deviceId: device.deviceId, scope: 'client', set: attributeValues(values, this.limits), delete: [] });
  }

  /**
   * The values a device asks for (ThingsBoard's attribute request): the named client and shared keys, or all of a
   * scope when none are named. Read from the store each time, so a device that was offline gets the current state.
   */
  async forDevice(
    device: AttributeDevice,
    q: { clientKeys?: readonly string[] | undefined; sharedKeys?: readonly string[] | undefined } = {},
  ): Promise<{ client: Record<string, AttributeValue>; shared: Record<string, AttributeValue> }> {
    const clientKeys = q.clientKeys === undefined ? undefined : attributeKeys(q.clientKeys, this.limits);
    const sharedKeys = q.sharedKeys === undefined ? undefined : attributeKeys(q.sharedKeys, this.limits);
    const state = await this.store.attributes.read(device.deviceId);
    return { client: valuesOf(pick(state.client, clientKeys)), shared: valuesOf(pick(state.shared, sharedKeys)) };
  }

  /**
   * ThingsBoard's attribute request (MQTT v1/devices/me/attributes/request/{id}, HTTP GET /api/v1/{token}/attributes):
   * clientKeys and sharedKeys as comma-separated lists (or arrays). The answer has the scopes asked for, both
   * when neither is.
   */
  async request(
    device: AttributeDevice,
    q: { clientKeys?: unknown; sharedKeys?: unknown },
  ): Promise<{ client?: Record<string, AttributeValue>; shared?: Record<string, AttributeValue> }> {
    const clientKeys = keyList(q.clientKeys);
    const sharedKeys = keyList(q.sharedKeys);
    const both = clientKeys === undefined && sharedKeys === undefined;
    const values = await this.forDevice(device, { clientKeys, sharedKeys });
    return {
      ...(both || clientKeys !== undefined ? { client: values.client } : {}),
      ...(both || sharedKeys !== undefined ? { shared: values.shared } : {}),
    };
  }

  private async write(tenantId: string, w: Omit<AttributeWrite, 'at' | 'limits'>): Promise<AttributeChange> {
    const at = this.clock.now();
    const result = await this.store.attributes.write({ ...w, at, limits: this.limits });
    switch (result.status) {
      case 'unknown-device':
        return fail('NOT_FOUND', 'Device not found.');
      case 'version-mismatch':
        return fail('TWIN_VERSION_CONFLICT', `The twin is at version ${result.version}, not ${String(w.expectedVersion)}: it changed since you read it.`, {
          version: result.version,
        });
      case 'too-many-keys':
        return fail(
          'ATTRIBUTE_LIMIT',
          `The device would have ${result.keys} attributes; at most ${this.limits.maxKeysPerDevice} are allowed (all scopes together).`,
          { limit: 'maxKeysPerDevice', max: this.limits.maxKeysPerDevice, keys: result.keys },
        );
      case 'too-large':
        return fail(
          'ATTRIBUTE_LIMIT',
          `The ${w.scope} attributes would take ${result.bytes} bytes; at most ${this.limits.maxScopeBytes} are allowed per scope (keys and JSON values).`,
          { limit: 'maxScopeBytes', max: this.limits.maxScopeBytes, bytes: result.bytes },
        );
      case 'written':
        break;
    }
    const updated = Object.keys(w.set);
    if (result.changed) {
      // Published after the commit and awaited, so a caller's next request sees its change on the bus in order;
      // a bus that refuses surfaces as an error here, and repeating the write is harmless.
      await this.bus.publish('attributes', {
        tenantId,
        deviceId: w.deviceId,
        scope: w.scope,
        updated: w.set,
        deleted: result.deleted,
        updatedAt: at,
        version: result.version,
      });
    }
    return { version: result.version, updated, deleted: result.deleted };
  }
}

function writableScope(scope: AttributeScope): void {
  if (!attributeScopes.includes(scope)) fail('VALIDATION', `scope must be one of ${attributeScopes.join(', ')}.`, { field: 'scope' });
  if (scope === 'client') fail('ATTRIBUTE_SCOPE_READ_ONLY');
}

/** A key list as devices send it: "a,b" or ["a","b"]; undefined when not given. */
function keyList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(String);
  if (typeof v !== 'string') return fail('ATTRIBUTES_INVALID', 'clientKeys and sharedKeys are comma-separated key lists.');
  return v
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
}

function pick(map: AttributeMap, keys: readonly string[] | undefined): AttributeMap {
  if (keys === undefined) return map;
  const wanted = new Set(keys);
  return Object.fromEntries(Object.entries(map).filter(([k]) => wanted.has(k)));
}

function valuesOf(map: AttributeMap): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(map).map(([k, a]) => [k, a.value]));
}

import { requireReadable, requireTenantWriter, requireWritable, targetTenant } from '../access';
import type { Principal } from '../accounts/model';
import { hashPassword, verifyPassword } from '../accounts/password';
import type { EventBus } from '../bus';
import type { Clock } from '../clock';
import { fail, isThingsteadError } from '../errors';
import { newId, randomSecret } from '../ids';
import { pageQuery, type PageInput } from '../paging';
import type { DeviceListQuery, Page, Store } from '../store';
import { cleanName, jsonObject, wellFormed } from '../validate';
import type { ConnectivityService, DeviceView } from './connectivity';
import type { Device, DeviceCredentials } from './model';

export interface DeviceInput {
  name: string;
  label?: string | undefined;
  profileId?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  tenantId?: string | undefined;
  /** The device is a gateway: it may connect child devices over the gateway API (MQTT v1/gateway/...). */
  gateway?: boolean | undefined;
}

export type CredentialsInput =
  | { type: 'access-token'; accessToken?: string | undefined }
  | { type: 'mqtt-basic'; clientId?: string | undefined; username?: string | undefined; password?: string | undefined };

export interface DeviceListInput extends PageInput {
  tenantId?: string | undefined;
  profileId?: string | undefined;
  /** Only the children of this gateway. */
  gatewayId?: string | undefined;
  /** Only devices with (true) or without (false) an open session. */
  connected?: boolean | undefined;
  /** Only devices that sent (true) or did not send (false) within their profile's inactivity timeout. */
  active?: boolean | undefined;
}

/** What GET /credentials shows: the token itself (devices need it), never a password hash. */
export type PublicCredentials =
  | { deviceId: string; type: 'access-token'; accessToken: string }
  | { deviceId: string; type: 'mqtt-basic'; clientId: string | null; username: string | null; hasPassword: boolean };

const maxMetadataBytes = 16 * 1024;
const tokenPattern = /^[A-Za-z0-9._~-]{20,128}$/;

/** A new access token: 30 base64url characters (180 bits). */
export const newAccessToken = (): string => randomSecret(23).slice(0, 30);

export class DeviceService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly bus: EventBus,
    private readonly connectivity: ConnectivityService,
  ) {}

  async create(p: Principal, input: DeviceInput): Promise<DeviceView> {
    const tenantId = targetTenant(p, input.tenantId);
    requireTenantWriter(p, tenantId);
    const name = cleanName(input.name);
    if (await this.store.devices.findByName(tenantId, name)) fail('DEVICE_NAME_TAKEN', `A device named "${name}" already exists.`);
    const profileId = await this.profileFor(tenantId, input.profileId);
    const device: Device = {
      id: newId(),
      tenantId,
      profileId,
      name,
      label: label(input.label),
      metadata: jsonObject(input.metadata ?? {}, 'metadata', maxMetadataBytes),
      createdAt: this.clock.now(),
      gateway: input.gateway === true,
      gatewayId: null,
    };
    return this.insert(device);
  }

  /**
   * A gateway's child on first sight (the gateway API's connect): a device of the gateway's tenant linked to it,
   * by the same name rules as any device. The gateway service checks who may ask and how often; a name taken
   * in the tenant is DEVICE_NAME_TAKEN, as for users.
   */
  async createChild(gateway: { id: string; tenantId: string }, input: { name: string; profileId: string }): Promise<DeviceView> {
    const name = cleanName(input.name, 'device');
    if (await this.store.devices.findByName(gateway.tenantId, name)) fail('DEVICE_NAME_TAKEN', `A device named "${name}" already exists.`);
    const device: Device = {
      id: newId(),
      tenantId: gateway.tenantId,
      profileId: await this.profileFor(gateway.tenantId, input.profileId),
      name,
      label: '',
      metadata: {},
      createdAt: this.clock.now(),
      gateway: false,
      gatewayId: gateway.id,
    };
    return this.insert(device);
  }

  private async insert(device: Device): Promise<DeviceView> {
    await this.store.devices.insert(device, { deviceId: device.id, type: 'access-token', accessToken: newAccessToken() });
    await this.bus.publish('device.created', { deviceId: device.id, tenantId: device.tenantId });
    return this.connectivity.view(device, undefined);
  }

  /** Devices with their connectivity; `connected` is this node's sessions as last written, `active` what was last sent. */
  async list(p: Principal, input: DeviceListInput): Promise<Page<DeviceView>> {
    const q: DeviceListQuery = { ...pageQuery(input, ['name', 'createdAt', 'label', 'lastActivityAt']), tenantId: targetTenant(p, input.tenantId) };
    if (input.profileId !== undefined) q.profileId = input.profileId;
    if (input.gatewayId !== undefined) q.gatewayId = input.gatewayId;
    if (input.connected !== undefined) q.connected = input.connected;
    if (input.active !== undefined) q.activity = { active: input.active, now: this.clock.now() };
    // Activity waits in memory for its batch: write it first when the list filters or sorts by it.
    if (q.activity || q.sort === 'lastActivityAt') await this.connectivity.flush();
    const page = await this.store.devices.list(q);
    return { ...page, items: page.items.map((d) => this.connectivity.listed(d)) };
  }

  async get(p: Principal, id: string): Promise<DeviceView> {
    const device = requireReadable(p, await this.store.devices.get(id), 'Device');
    return this.connectivity.view(device, await this.store.devices.getConnectivity(id));
  }

  async update(p: Principal, id: string, input: Partial<Omit<DeviceInput, 'tenantId'>>): Promise<DeviceView> {
    const device = requireWritable(p, await this.store.devices.get(id), 'Device');
    const patch: Partial<Pick<Device, 'name' | 'label' | 'metadata' | 'profileId' | 'gateway'>> = {};
    if (input.name !== undefined) {
      patch.name = cleanName(input.name);
      const other = await this.store.devices.findByName(device.tenantId, patch.name);
      if (other && other.id !== id) fail('DEVICE_NAME_TAKEN', `A device named "${patch.name}" already exists.`);
    }
    if (input.label !== undefined) patch.label = label(input.label);
    if (input.metadata !== undefined) patch.metadata = jsonObject(input.metadata, 'metadata', maxMetadataBytes);
    if (input.profileId !== undefined) patch.profileId = await this.profileFor(device.tenantId, input.profileId);
    if (input.gateway !== undefined && input.gateway !== device.gateway) patch.gateway = input.gateway;
    await this.store.devices.update(id, patch);
    const updated = { ...device, ...patch };
    await this.bus.publish('device.updated', { deviceId: id, tenantId: device.tenantId, profileId: updated.profileId });
    // A connection's gateway rights are decided at CONNECT: the transports end the device's connections.
    if (patch.gateway !== undefined) await this.bus.publish('device.gateway', { deviceId: id, tenantId: device.tenantId, gateway: patch.gateway });
    return this.connectivity.view(updated, await this.store.devices.getConnectivity(id));
  }

  async delete(p: Principal, id: string): Promise<void> {
    const device = requireWritable(p, await this.store.devices.get(id), 'Device');
    await this.store.devices.delete(id);
    await this.bus.publish('device.deleted', { deviceId: id, tenantId: device.tenantId });
  }

  async getCredentials(p: Principal, id: string): Promise<PublicCredentials> {
    // Credentials let anyone act as the device, so reading them needs write permission.
    requireWritable(p, await this.store.devices.get(id), 'Device');
    const c = await this.store.devices.getCredentials(id);
    if (!c) return fail('NOT_FOUND', 'Device credentials not found.');
    return publicCredentials(c);
  }

  /** Replaces the credentials; with no input, issues a fresh random access token. */
  async rotateCredentials(p: Principal, id: string, input?: CredentialsInput): Promise<PublicCredentials> {
    const device = requireWritable(p, await this.store.devices.get(id), 'Device');
    const c = await this.buildCredentials(id, input ?? { type: 'access-token' });
    try {
      await this.store.devices.setCredentials(c);
    } catch (e) {
      // Another device took the value between the check and the write: the same answer as the check's (ADR 0004).
      if (isThingsteadError(e) && e.kind === 'ACCESS_TOKEN_TAKEN') refuseCredential('accessToken');
      if (isThingsteadError(e) && e.kind === 'MQTT_USERNAME_TAKEN') refuseCredential('username');
      throw e;
    }
    await this.bus.publish('device.credentials', { deviceId: id, tenantId: device.tenantId });
    return publicCredentials(c);
  }

  /** For transports: the device an access token belongs to, or DEVICE_TOKEN_INVALID. */
  async authenticateToken(token: string): Promise<Device> {
    const device = tokenPattern.test(token) ? await this.store.devices.findByAccessToken(token) : undefined;
    return device ?? fail('DEVICE_TOKEN_INVALID');
  }

  /** For MQTT: username/password or client-id credentials. */
  async authenticateBasic(input: { clientId: string; username?: string | undefined; password?: string | undefined }): Promise<Device | undefined> {
    const byUser = input.username ? await this.store.devices.findByMqttUsername(input.username) : undefined;
    const hit = byUser ?? (await this.store.devices.findByMqttClientId(input.clientId));
    if (!hit || hit.credentials.type !== 'mqtt-basic') return undefined;
    const c = hit.credentials;
    if (c.clientId !== null && c.clientId !== input.clientId) return undefined;
    if (c.username !== null && c.username !== input.username) return undefined;
    if (c.passwordHash !== null && !(input.password !== undefined && (await verifyPassword(input.password, c.passwordHash)))) return undefined;
    return hit.device;
  }

  /**
   * Chosen credentials identify a device on their own, so they are unique across all tenants. A collision
   * answers exactly like a malformed value (one message per field, never naming a device or a tenant), and
   * the same whether the other device is in the caller's tenant or not (docs/adr/0004).
   */
  private async buildCredentials(deviceId: string, input: CredentialsInput): Promise<DeviceCredentials> {
    if (input.type === 'access-token') {
      const token = input.accessToken ?? newAccessToken();
      if (!tokenPattern.test(token)) refuseCredential('accessToken');
      const owner = await this.store.devices.findByAccessToken(token);
      if (owner && owner.id !== deviceId) refuseCredential('accessToken');
      return { deviceId, type: 'access-token', accessToken: token };
    }
    const clientId = input.clientId ?? null;
    const username = input.username ?? null;
    if (clientId === null && username === null) fail('VALIDATION', 'mqtt-basic credentials need a clientId, a username, or both.', { field: 'username' });
    if (input.password !== undefined && username === null) fail('VALIDATION', 'A password needs a username.', { field: 'password' });
    for (const [field, v] of [
      ['clientId', clientId],
      ['username', username],
    ] as const) {
      if (v !== null && (v.length === 0 || v.length > 128)) refuseCredential(field);
    }
    if (username !== null) {
      const other = await this.store.devices.findByMqttUsername(username);
      if (other && other.device.id !== deviceId) refuseCredential('username');
    } else if (clientId !== null) {
      const other = await this.store.devices.findByMqttClientId(clientId);
      if (other && other.device.id !== deviceId) refuseCredential('clientId');
    }
    const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
    return { deviceId, type: 'mqtt-basic', clientId, username, passwordHash };
  }

  private async profileFor(tenantId: string, profileId: string | undefined): Promise<string> {
    if (profileId === undefined) {
      const d = await this.store.profiles.findDefault(tenantId);
      return d?.id ?? fail('NOT_FOUND', 'This tenant has no default device profile.');
    }
    const profile = await this.store.profiles.get(profileId);
    if (!profile || profile.tenantId !== tenantId) fail('VALIDATION', 'profileId names no device profile of this tenant.', { field: 'profileId' });
    return profileId;
  }
}

/** One fixed refusal per field, whether the value is malformed or another device holds it (ADR 0004). */
function refuseCredential(field: 'accessToken' | 'clientId' | 'username'): never {
  if (field === 'accessToken') {
    return fail(
      'VALIDATION',
      'accessToken is not accepted: use 20-128 characters of A-Z a-z 0-9 . _ ~ - that are unique to this device, or send none to get a random one.',
      { field },
    );
  }
  return fail('VALIDATION', `${field} is not accepted: use 1-128 characters that are unique to this device.`, { field });
}

function label(v: string | undefined): string {
  const l = (v ?? '').trim();
  if (l.length > 255) fail('VALIDATION', 'label must be at most 255 characters.', { field: 'label' });
  return wellFormed(l, 'label');
}

function publicCredentials(c: DeviceCredentials): PublicCredentials {
  if (c.type === 'access-token') return c;
  return { deviceId: c.deviceId, type: 'mqtt-basic', clientId: c.clientId, username: c.username, hasPassword: c.passwordHash !== null };
}

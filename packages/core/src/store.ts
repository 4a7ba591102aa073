import type { AlarmRepo } from './alarms/model';
import type { AttributeRepo } from './attributes/model';
import type { NotificationRepo } from './notifications/model';
import type { RpcRepo } from './rpc/model';
import type { RuleRepo } from './rules/model';
import type { ApiKey, RefreshToken, Tenant, User } from './accounts/model';
import type { ConnectivityRecord } from './devices/connectivity';
import type { Device, DeviceCredentials, DeviceProfile } from './devices/model';
import type { TelemetryStore } from './telemetry/model';

/** A page request; sort names a field of the listed entity. */
export interface PageQuery {
  limit: number;
  offset: number;
  sort: string;
  order: 'asc' | 'desc';
  /** Case-insensitive substring of the name (or email for users). */
  search?: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface TenantRepo {
  insert(t: Tenant): Promise<void>;
  get(id: string): Promise<Tenant | undefined>;
  findByName(name: string): Promise<Tenant | undefined>;
  list(q: PageQuery): Promise<Page<Tenant>>;
  update(id: string, patch: Partial<Pick<Tenant, 'name'>>): Promise<void>;
  /** Deletes the tenant and everything it owns. */
  delete(id: string): Promise<void>;
}

export interface UserRepo {
  insert(u: User): Promise<void>;
  get(id: string): Promise<User | undefined>;
  findByEmail(email: string): Promise<User | undefined>;
  list(q: PageQuery & { tenantId?: string }): Promise<Page<User>>;
  update(id: string, patch: Partial<Pick<User, 'email' | 'role' | 'passwordHash' | 'disabled'>>): Promise<void>;
  delete(id: string): Promise<void>;
  count(q: { role?: User['role']; tenantId?: string; disabled?: boolean }): Promise<number>;
}

export interface ApiKeyRepo {
  insert(k: ApiKey): Promise<void>;
  get(id: string): Promise<ApiKey | undefined>;
  list(q: { tenantId: string; userId?: string }): Promise<ApiKey[]>;
  revoke(id: string, at: number): Promise<void>;
  touch(id: string, at: number): Promise<void>;
}

export interface RefreshTokenRepo {
  insert(t: RefreshToken): Promise<void>;
  get(id: string): Promise<RefreshToken | undefined>;
  /** Revokes an active token; true when it was active, false when it was revoked already (atomically). */
  revoke(id: string, at: number): Promise<boolean>;
  /** Revokes every active token of a family (reuse of a rotated token: it leaked). */
  revokeFamily(familyId: string, at: number): Promise<void>;
  revokeAllOfUser(userId: string, at: number): Promise<void>;
  /** Deletes expired tokens; revoked ones stay until they expire, so their reuse is still recognised. */
  deleteExpired(before: number): Promise<number>;
}

export interface ProfileRepo {
  insert(p: DeviceProfile): Promise<void>;
  get(id: string): Promise<DeviceProfile | undefined>;
  findByName(tenantId: string, name: string): Promise<DeviceProfile | undefined>;
  findDefault(tenantId: string): Promise<DeviceProfile | undefined>;
  list(q: PageQuery & { tenantId: string }): Promise<Page<DeviceProfile>>;
  update(id: string, patch: Partial<Pick<DeviceProfile, 'name' | 'description' | 'defaultSettings' | 'inactivityTimeoutSec'>>): Promise<void>;
  delete(id: string): Promise<void>;
  countDevices(profileId: string): Promise<number>;
}

/** A page request for devices; the connectivity filters use what is stored (activity is written in batches). */
export interface DeviceListQuery extends PageQuery {
  tenantId: string;
  profileId?: string;
  /** Only the children of this gateway. */
  gatewayId?: string;
  /** Only devices whose stored connected flag is this. */
  connected?: boolean;
  /** Only devices whose last activity is (active: true) or is not (false) within their profile's inactivity timeout before `now`. */
  activity?: { active: boolean; now: number };
}

/** A listed device with its stored connectivity (all null and not connected when it never connected or sent). */
export type ListedDevice = Device & ConnectivityRecord;

/** A device whose last activity is within its profile's inactivity timeout (what start() schedules). */
export interface ActiveDevice {
  deviceId: string;
  tenantId: string;
  profileId: string;
  lastActivityAt: number;
  inactivityTimeoutSec: number;
}

export interface DeviceRepo {
  /** Inserts the device and its credentials together. */
  insert(d: Device, credentials: DeviceCredentials): Promise<void>;
  get(id: string): Promise<Device | undefined>;
  findByName(tenantId: string, name: string): Promise<Device | undefined>;
  /**
   * Sorts by name, createdAt, label or lastActivityAt (a device that never sent has none: first ascending, last
   * descending); gatewayId lists the children of one gateway.
   */
  list(q: DeviceListQuery): Promise<Page<ListedDevice>>;
  update(id: string, patch: Partial<Pick<Device, 'name' | 'label' | 'metadata' | 'profileId' | 'gateway'>>): Promise<void>;
  /** Deletes the device and its data; its children (when it is a gateway) stay, unlinked (gatewayId null). */
  delete(id: string): Promise<void>;
  getCredentials(deviceId: string): Promise<DeviceCredentials | undefined>;
  setCredentials(credentials: DeviceCredentials): Promise<void>;
  findByAccessToken(token: string): Promise<Device | undefined>;
  findByMqttUsername(username: string): Promise<{ device: Device; credentials: DeviceCredentials } | undefined>;
  findByMqttClientId(clientId: string): Promise<{ device: Device; credentials: DeviceCredentials } | undefined>;
  /** Sets the given connectivity fields, leaving the others as they are. */
  setConnectivity(deviceId: string, patch: Partial<ConnectivityRecord>): Promise<void>;
  /** Sets lastActivityAt of every device in the batch (device id -> time) in one transaction; unknown devices are skipped. */
  setActivity(batch: ReadonlyMap<string, number>): Promise<void>;
  getConnectivity(deviceId: string): Promise<ConnectivityRecord | undefined>;
  /** Clears the connected flag of every device (sessions end with the process); answers the devices that had it set. */
  clearConnected(): Promise<{ deviceId: string; tenantId: string }[]>;
  /** Every device (of one profile, when given) whose last activity is within its profile's inactivity timeout before `now`. */
  listActive(now: number, filter?: { profileId?: string }): Promise<ActiveDevice[]>;
}

/**
 * Everything core needs from storage. Adapters (sqlite, postgres) live in server and pass one contract suite
 * (`@thingstead/core/testing`). A write that breaks a uniqueness rule rejects with the specific ThingsteadError,
 * whoever checked first: TENANT_NAME_TAKEN, EMAIL_TAKEN, PROFILE_NAME_TAKEN (per tenant), DEVICE_NAME_TAKEN
 * (per tenant), ACCESS_TOKEN_TAKEN, MQTT_USERNAME_TAKEN; CONFLICT for any other unique value (ids, a second
 * alarm of a device and type that is not cleared).
 * (per tenant), ACCESS_TOKEN_TAKEN, MQTT_USERNAME_TAKEN, NOTIFICATION_CHANNEL_NAME_TAKEN (per tenant); CONFLICT for any other unique value (ids).
 */
export interface Store {
  tenants: TenantRepo;
  users: UserRepo;
  apiKeys: ApiKeyRepo;
  refreshTokens: RefreshTokenRepo;
  profiles: ProfileRepo;
  devices: DeviceRepo;
  telemetry: TelemetryStore;
  attributes: AttributeRepo;
  /** Persistent RPCs; they go with their device. */
  rpcs: RpcRepo;
  /** Rules and their version history; they go with their tenant. */
  rules: RuleRepo;
  /** Alarms and their comments; they go with their device. */
  alarms: AlarmRepo;
  /** Notification channels, the delivery log and the inbox; they go with their tenant (inbox items with their user). */
  notifications: NotificationRepo;
  /** A cheap check for readiness: resolves when the store takes writes, throws saying why it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

import type { ApiKey, RefreshToken, Tenant, User } from '../accounts/model';
import type { ConnectivityRecord } from '../devices/connectivity';
import type { Device, DeviceCredentials, DeviceProfile } from '../devices/model';
import { ThingsteadError, type ErrorName } from '../errors';
import type { ListedDevice, Page, PageQuery, Store } from '../store';
import { createMemoryAlarms } from './memory-alarms';
import { createMemoryAttributes } from './memory-attributes';
import { createMemoryNotifications } from './memory-notifications';
import { createMemoryRpcs } from './memory-rpcs';
import { createMemoryRules } from './memory-rules';
import { createMemoryTelemetry } from './memory-telemetry';

/**
 * An in-memory Store for tests of core: the same behaviour as the SQLite adapter (it passes the same contract
 * suite, `store-contract.ts`), nothing on disk, nothing shared between two stores. Values are copied in and out,
 * as a database would, so a caller changing a returned object changes nothing stored.
 */
export function createMemoryStore(): Store {
  const tenants = new Map<string, Tenant>();
  const users = new Map<string, User>();
  const apiKeys = new Map<string, ApiKey>();
  const refreshTokens = new Map<string, RefreshToken>();
  const profiles = new Map<string, DeviceProfile>();
  const devices = new Map<string, Device>();
  const credentials = new Map<string, DeviceCredentials>();
  const connectivity = new Map<string, ConnectivityRecord>();
  const noConnectivity: ConnectivityRecord = { connected: false, lastConnectAt: null, lastDisconnectAt: null, lastActivityAt: null };
  const timeoutMsOf = (d: Device) => (profiles.get(d.profileId)?.inactivityTimeoutSec ?? 0) * 1000;
  let closed = false;

  const copy = <T>(v: T): T => structuredClone(v);
  const live = () => {
    if (closed) throw new Error('The memory store is closed.');
  };
  const telemetry = createMemoryTelemetry({ deviceExists: (id) => devices.has(id), tenantOf: (id) => devices.get(id)?.tenantId, live });
  const attributes = createMemoryAttributes({ deviceExists: (id) => devices.has(id), live });
  const rpcs = createMemoryRpcs({ live, deviceExists: (id) => devices.has(id) });
  const rules = createMemoryRules({ live });
  const alarms = createMemoryAlarms({ live, tenantOf: (id) => devices.get(id)?.tenantId });
  const notifications = createMemoryNotifications({ live, tenantExists: (id) => tenants.has(id), userTenant: (id) => users.get(id)?.tenantId });
  const taken = (kind: ErrorName) => new ThingsteadError(kind);
  /** Throws the conflict of the first value another row of `rows` already holds (rows other than `id`). */
  const unique = <T extends { id: string }>(rows: Map<string, T>, id: string, kind: ErrorName, same: (other: T) => boolean) => {
    for (const other of rows.values()) if (other.id !== id && same(other)) throw taken(kind);
  };
  const insertNew = <T extends { id: string }>(rows: Map<string, T>, row: T) => {
    live();
    if (rows.has(row.id)) throw taken('CONFLICT');
    rows.set(row.id, copy(row));
  };

  const listPage = <T extends { id: string }>(rows: Iterable<T>, q: PageQuery, searchField: keyof T, keep: (row: T) => boolean): Page<T> => {
    live();
    const search = q.search?.toLowerCase();
    const all = [...rows].filter((r) => keep(r) && (search === undefined || String(r[searchField]).toLowerCase().includes(search)));
    const dir = q.order === 'desc' ? -1 : 1;
    const field = q.sort as keyof T;
    // null (a device that never sent, sorted by lastActivityAt) before any value, as in SQL.
    const cmp = (a: unknown, b: unknown) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : (a as string | number) < (b as string | number) ? -1 : 1);
    all.sort((a, b) => dir * (cmp(a[field], b[field]) || cmp(a.id, b.id)));
    return { items: all.slice(q.offset, q.offset + q.limit).map(copy), total: all.length, limit: q.limit, offset: q.offset };
  };

  const deleteDevice = (id: string) => {
    devices.delete(id);
    // As SQL's ON DELETE SET NULL: a gateway's children stay, on their own.
    for (const d of devices.values()) if (d.gatewayId === id) d.gatewayId = null;
    credentials.delete(id);
    connectivity.delete(id);
    telemetry.forget(id);
    attributes.forget(id);
    rpcs.forget(id);
    alarms.forget(id);
  };
  const deleteUser = (id: string) => {
    users.delete(id);
    notifications.forgetUser(id);
    for (const k of [...apiKeys.values()]) if (k.userId === id) apiKeys.delete(k.id);
    for (const t of [...refreshTokens.values()]) if (t.userId === id) refreshTokens.delete(t.id);
  };
  const credentialsHit = (match: (c: DeviceCredentials) => boolean) => {
    live();
    for (const c of credentials.values()) {
      const device = devices.get(c.deviceId);
      if (device && match(c)) return { device: copy(device), credentials: copy(c) };
    }
    return undefined;
  };
  const checkCredentials = (c: DeviceCredentials) => {
    for (const other of credentials.values()) {
      if (other.deviceId === c.deviceId) continue;
      if (c.type === 'access-token' && other.type === 'access-token' && other.accessToken === c.accessToken) throw taken('ACCESS_TOKEN_TAKEN');
      if (c.type === 'mqtt-basic' && c.username !== null && other.type === 'mqtt-basic' && other.username === c.username) throw taken('MQTT_USERNAME_TAKEN');
    }
  };

  return {
    tenants: {
      insert: async (t) => {
        unique(tenants, t.id, 'TENANT_NAME_TAKEN', (o) => o.name === t.name);
        insertNew(tenants, t);
      },
      get: async (id) => copy(tenants.get(id)),
      findByName: async (name) => copy([...tenants.values()].find((t) => t.name === name)),
      list: async (q) => listPage(tenants.values(), q, 'name', () => true),
      update: async (id, patch) => {
        const t = tenants.get(id);
        if (!t) return;
        if (patch.name !== undefined) unique(tenants, id, 'TENANT_NAME_TAKEN', (o) => o.name === patch.name);
        tenants.set(id, { ...t, ...defined(patch) });
      },
      delete: async (id) => {
        for (const d of [...devices.values()]) if (d.tenantId === id) deleteDevice(d.id);
        for (const p of [...profiles.values()]) if (p.tenantId === id) profiles.delete(p.id);
        for (const u of [...users.values()]) if (u.tenantId === id) deleteUser(u.id);
        for (const k of [...apiKeys.values()]) if (k.tenantId === id) apiKeys.delete(k.id);
        rules.forgetTenant(id);
        notifications.forgetTenant(id);
        tenants.delete(id);
      },
    },
    users: {
      insert: async (u) => {
        unique(users, u.id, 'EMAIL_TAKEN', (o) => o.email === u.email);
        insertNew(users, u);
      },
      get: async (id) => copy(users.get(id)),
      findByEmail: async (email) => copy([...users.values()].find((u) => u.email === email)),
      list: async (q) => listPage(users.values(), q, 'email', (u) => q.tenantId === undefined || u.tenantId === q.tenantId),
      update: async (id, patch) => {
        const u = users.get(id);
        if (!u) return;
        if (patch.email !== undefined) unique(users, id, 'EMAIL_TAKEN', (o) => o.email === patch.email);
        users.set(id, { ...u, ...defined(patch) });
      },
      delete: async (id) => {
        deleteUser(id);
      },
      count: async (q) =>
        [...users.values()].filter(
          (u) =>
            (q.role === undefined || u.role === q.role) &&
            (q.tenantId === undefined || u.tenantId === q.tenantId) &&
            (q.disabled === undefined || u.disabled === q.disabled),
        ).length,
    },
    apiKeys: {
      insert: async (k) => {
        insertNew(apiKeys, k);
      },
      get: async (id) => copy(apiKeys.get(id)),
      list: async (q) =>
        [...apiKeys.values()]
          .filter((k) => k.tenantId === q.tenantId && (q.userId === undefined || k.userId === q.userId))
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
          .map(copy),
      revoke: async (id, at) => {
        const k = apiKeys.get(id);
        if (k) k.revokedAt = at;
      },
      touch: async (id, at) => {
        const k = apiKeys.get(id);
        if (k) k.lastUsedAt = at;
      },
    },
    refreshTokens: {
      insert: async (t) => {
        insertNew(refreshTokens, t);
      },
      get: async (id) => copy(refreshTokens.get(id)),
      revoke: async (id, at) => {
        const t = refreshTokens.get(id);
        if (!t || t.revokedAt !== null) return false;
        t.revokedAt = at;
        return true;
      },
      revokeFamily: async (familyId, at) => {
        for (const t of refreshTokens.values()) if (t.familyId === familyId && t.revokedAt === null) t.revokedAt = at;
      },
      revokeAllOfUser: async (userId, at) => {
        for (const t of refreshTokens.values()) if (t.userId === userId && t.revokedAt === null) t.revokedAt = at;
      },
      deleteExpired: async (before) => {
        let n = 0;
        for (const t of [...refreshTokens.values()]) if (t.expiresAt <= before && refreshTokens.delete(t.id)) n++;
        return n;
      },
    },
    profiles: {
      insert: async (p) => {
        unique(profiles, p.id, 'PROFILE_NAME_TAKEN', (o) => o.tenantId === p.tenantId && o.name === p.name);
        insertNew(profiles, p);
      },
      get: async (id) => copy(profiles.get(id)),
      findByName: async (tenantId, name) => copy([...profiles.values()].find((p) => p.tenantId === tenantId && p.name === name)),
      findDefault: async (tenantId) => copy([...profiles.values()].find((p) => p.tenantId === tenantId && p.isDefault)),
      list: async (q) => listPage(profiles.values(), q, 'name', (p) => p.tenantId === q.tenantId),
      update: async (id, patch) => {
        const p = profiles.get(id);
        if (!p) return;
        if (patch.name !== undefined) unique(profiles, id, 'PROFILE_NAME_TAKEN', (o) => o.tenantId === p.tenantId && o.name === patch.name);
        profiles.set(id, { ...p, ...copy(defined(patch)) });
      },
      delete: async (id) => {
        profiles.delete(id);
      },
      countDevices: async (profileId) => [...devices.values()].filter((d) => d.profileId === profileId).length,
    },
    devices: {
      insert: async (d, c) => {
        unique(devices, d.id, 'DEVICE_NAME_TAKEN', (o) => o.tenantId === d.tenantId && o.name === d.name);
        checkCredentials(c);
        insertNew(devices, d);
        credentials.set(d.id, copy(c));
      },
      get: async (id) => copy(devices.get(id)),
      findByName: async (tenantId, name) => copy([...devices.values()].find((d) => d.tenantId === tenantId && d.name === name)),
      list: async (q) => {
        const rows = [...devices.values()].map((d): ListedDevice => ({ ...d, ...(connectivity.get(d.id) ?? noConnectivity) }));
        return listPage(
          rows,
          q,
          'name',
          (d) =>
            d.tenantId === q.tenantId &&
            (q.profileId === undefined || d.profileId === q.profileId) &&
            (q.gatewayId === undefined || d.gatewayId === q.gatewayId) &&
            (q.connected === undefined || d.connected === q.connected) &&
            (q.activity === undefined || (d.lastActivityAt !== null && d.lastActivityAt > q.activity.now - timeoutMsOf(d)) === q.activity.active),
        );
      },
      update: async (id, patch) => {
        const d = devices.get(id);
        if (!d) return;
        if (patch.name !== undefined) unique(devices, id, 'DEVICE_NAME_TAKEN', (o) => o.tenantId === d.tenantId && o.name === patch.name);
        devices.set(id, { ...d, ...copy(defined(patch)) });
      },
      delete: async (id) => {
        deleteDevice(id);
      },
      getCredentials: async (deviceId) => copy(credentials.get(deviceId)),
      setCredentials: async (c) => {
        if (!devices.has(c.deviceId)) return;
        checkCredentials(c);
        credentials.set(c.deviceId, copy(c));
      },
      findByAccessToken: async (token) => credentialsHit((c) => c.type === 'access-token' && c.accessToken === token)?.device,
      findByMqttUsername: async (username) => credentialsHit((c) => c.type === 'mqtt-basic' && c.username === username),
      findByMqttClientId: async (clientId) => credentialsHit((c) => c.type === 'mqtt-basic' && c.clientId === clientId),
      setConnectivity: async (deviceId, patch) => {
        if (!devices.has(deviceId)) return;
        const rec = connectivity.get(deviceId) ?? noConnectivity;
        // As in SQL's COALESCE: a field not given (or null) keeps its value.
        connectivity.set(deviceId, {
          connected: patch.connected ?? rec.connected,
          lastConnectAt: patch.lastConnectAt ?? rec.lastConnectAt,
          lastDisconnectAt: patch.lastDisconnectAt ?? rec.lastDisconnectAt,
          lastActivityAt: patch.lastActivityAt ?? rec.lastActivityAt,
        });
      },
      setActivity: async (batch) => {
        for (const [deviceId, at] of batch) {
          if (!devices.has(deviceId)) continue;
          const rec = connectivity.get(deviceId) ?? noConnectivity;
          connectivity.set(deviceId, { ...rec, lastActivityAt: at });
        }
      },
      getConnectivity: async (deviceId) => copy(connectivity.get(deviceId)),
      clearConnected: async () => {
        live();
        const was: { deviceId: string; tenantId: string }[] = [];
        for (const [deviceId, rec] of connectivity) {
          const d = devices.get(deviceId);
          if (!rec.connected || !d) continue;
          was.push({ deviceId, tenantId: d.tenantId });
          connectivity.set(deviceId, { ...rec, connected: false });
        }
        return was;
      },
      listActive: async (now, filter = {}) => {
        live();
        return [...devices.values()].flatMap((d) => {
          const at = connectivity.get(d.id)?.lastActivityAt ?? null;
          const p = profiles.get(d.profileId);
          if (at === null || !p || at <= now - p.inactivityTimeoutSec * 1000) return [];
          if (filter.profileId !== undefined && d.profileId !== filter.profileId) return [];
          return [{ deviceId: d.id, tenantId: d.tenantId, profileId: d.profileId, lastActivityAt: at, inactivityTimeoutSec: p.inactivityTimeoutSec }];
        });
      },
    },
    telemetry,
    attributes,
    rpcs,
    rules,
    alarms,
    notifications,
    ping: async () => {
      live();
    },
    close: async () => {
      closed = true;
    },
  };
}

/** The fields of a patch that are set (a patch leaves undefined fields as they are). */
function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

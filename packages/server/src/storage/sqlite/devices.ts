import type { ConnectivityRecord, Device, DeviceCredentials, DeviceProfile, DeviceRepo, ListedDevice, ProfileRepo } from '@thingstead/core';
import type { Db } from './database';
import { listPage, one, unique, updateColumns, stmt } from './sql';
import { deleteSeries } from './telemetry';

interface ProfileRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  default_settings: string;
  inactivity_timeout_sec: number;
  is_default: number;
  created_at: number;
}
interface DeviceRow {
  seq: number;
  id: string;
  tenant_id: string;
  profile_id: string;
  name: string;
  label: string;
  metadata: string;
  created_at: number;
  gateway: number;
  gateway_id: string | null;
}
interface ConnectivityRow {
  connected: number | null;
  last_connect_at: number | null;
  last_disconnect_at: number | null;
  last_activity_at: number | null;
}
interface CredRow {
  device_seq: number;
  type: string;
  access_token: string | null;
  mqtt_client_id: string | null;
  mqtt_username: string | null;
  mqtt_password_hash: string | null;
}

const profile = (r: ProfileRow): DeviceProfile => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  description: r.description,
  defaultSettings: JSON.parse(r.default_settings) as Record<string, unknown>,
  inactivityTimeoutSec: r.inactivity_timeout_sec,
  isDefault: r.is_default === 1,
  createdAt: r.created_at,
});
const device = (r: DeviceRow): Device => ({
  id: r.id,
  tenantId: r.tenant_id,
  profileId: r.profile_id,
  name: r.name,
  label: r.label,
  metadata: JSON.parse(r.metadata) as Record<string, unknown>,
  createdAt: r.created_at,
  gateway: r.gateway === 1,
  gatewayId: r.gateway_id,
});
const connectivity = (r: ConnectivityRow): ConnectivityRecord => ({
  connected: r.connected === 1,
  lastConnectAt: r.last_connect_at,
  lastDisconnectAt: r.last_disconnect_at,
  lastActivityAt: r.last_activity_at,
});
/** Devices with their connectivity (a device that never connected nor sent has no row) and profile, for the device list. */
const listedFrom = `devices d LEFT JOIN device_connectivity c ON c.device_seq = d.seq JOIN device_profiles p ON p.id = d.profile_id`;
const activeSql = 'c.last_activity_at > ? - p.inactivity_timeout_sec * 1000';

function credentials(deviceId: string, r: CredRow): DeviceCredentials {
  if (r.type === 'access-token') return { deviceId, type: 'access-token', accessToken: r.access_token ?? '' };
  return { deviceId, type: 'mqtt-basic', clientId: r.mqtt_client_id, username: r.mqtt_username, passwordHash: r.mqtt_password_hash };
}

export function profileRepo(db: Db): ProfileRepo {
  return {
    insert: async (p) => {
      unique(() =>
        db
          .prepare(
            'INSERT INTO device_profiles (id, tenant_id, name, description, default_settings, inactivity_timeout_sec, is_default, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(p.id, p.tenantId, p.name, p.description, JSON.stringify(p.defaultSettings), p.inactivityTimeoutSec, p.isDefault ? 1 : 0, p.createdAt),
      );
    },
    get: async (id) => one(db, 'SELECT * FROM device_profiles WHERE id = ?', profile, id),
    findByName: async (tenantId, name) => one(db, 'SELECT * FROM device_profiles WHERE tenant_id = ? AND name = ?', profile, tenantId, name),
    findDefault: async (tenantId) => one(db, 'SELECT * FROM device_profiles WHERE tenant_id = ? AND is_default = 1', profile, tenantId),
    list: async (q) =>
      listPage(db, q, {
        table: 'device_profiles',
        sortColumns: { name: 'name', createdAt: 'created_at' },
        searchColumn: 'name',
        filters: { tenant_id: q.tenantId },
        map: profile,
      }),
    update: async (id, patch) => {
      unique(() => {
        updateColumns(db, 'device_profiles', id, {
          name: patch.name,
          description: patch.description,
          default_settings: patch.defaultSettings && JSON.stringify(patch.defaultSettings),
          inactivity_timeout_sec: patch.inactivityTimeoutSec,
        });
      });
    },
    delete: async (id) => {
      stmt(db, 'DELETE FROM device_profiles WHERE id = ?').run(id);
    },
    countDevices: async (profileId) => (stmt(db, 'SELECT COUNT(*) AS n FROM devices WHERE profile_id = ?').get(profileId) as { n: number }).n,
  };
}

/** `forget` drops a deleted device (and dictionary keys it may have taken along) from the telemetry adapter's caches. */
export function deviceRepo(db: Db, forget: (deviceId: string) => void): DeviceRepo {
  const insert = db.transaction((d: Device, c: DeviceCredentials) => {
    const { lastInsertRowid } = db
      .prepare('INSERT INTO devices (id, tenant_id, profile_id, name, label, metadata, created_at, gateway, gateway_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(d.id, d.tenantId, d.profileId, d.name, d.label, JSON.stringify(d.metadata), d.createdAt, d.gateway ? 1 : 0, d.gatewayId);
    writeCredentials(Number(lastInsertRowid), c);
  });
  const writeCredentials = (seq: number, c: DeviceCredentials) => {
    // An upsert on the device only: INSERT OR REPLACE would also replace (delete) another device's row that
    // holds the same token or username, instead of refusing the duplicate.
    stmt(
      db,
      `INSERT INTO device_credentials (device_seq, type, access_token, mqtt_client_id, mqtt_username, mqtt_password_hash) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (device_seq) DO UPDATE SET type = excluded.type, access_token = excluded.access_token, mqtt_client_id = excluded.mqtt_client_id,
        mqtt_username = excluded.mqtt_username, mqtt_password_hash = excluded.mqtt_password_hash`,
    ).run(
      seq,
      c.type,
      c.type === 'access-token' ? c.accessToken : null,
      c.type === 'mqtt-basic' ? c.clientId : null,
      c.type === 'mqtt-basic' ? c.username : null,
      c.type === 'mqtt-basic' ? c.passwordHash : null,
    );
  };
  const del = db.transaction((id: string) => {
    const row = db.prepare('SELECT seq FROM devices WHERE id = ?').get(id) as { seq: number } | undefined;
    if (!row) return;
    deleteSeries(db, { deviceSeq: row.seq });
    stmt(db, 'DELETE FROM devices WHERE seq = ?').run(row.seq);
  });
  const activity = db.prepare(`INSERT INTO device_connectivity (device_seq, last_activity_at) SELECT seq, ? FROM devices WHERE id = ?
    ON CONFLICT (device_seq) DO UPDATE SET last_activity_at = excluded.last_activity_at`);
  /** The connectivity flush: one transaction for the whole batch (a device not found inserts nothing). */
  const writeActivity = db.transaction((batch: ReadonlyMap<string, number>) => {
    for (const [deviceId, at] of batch) activity.run(at, deviceId);
  });
  const clearConnected = db.transaction(() => {
    const was = db.prepare('SELECT d.id, d.tenant_id FROM device_connectivity c JOIN devices d ON d.seq = c.device_seq WHERE c.connected = 1').all() as {
      id: string;
      tenant_id: string;
    }[];
    db.prepare('UPDATE device_connectivity SET connected = 0 WHERE connected = 1').run();
    return was.map((r) => ({ deviceId: r.id, tenantId: r.tenant_id }));
  });
  // Prepared once: every HTTP device request and every MQTT CONNECT looks a credential up.
  const credentialQuery = (column: 'access_token' | 'mqtt_username' | 'mqtt_client_id') =>
    stmt(
      db,
      `SELECT d.*, c.device_seq, c.type, c.access_token, c.mqtt_client_id, c.mqtt_username, c.mqtt_password_hash
      FROM device_credentials c JOIN devices d ON d.seq = c.device_seq WHERE c.${column} = ? LIMIT 1`,
    );
  const credentialQueries = {
    access_token: credentialQuery('access_token'),
    mqtt_username: credentialQuery('mqtt_username'),
    mqtt_client_id: credentialQuery('mqtt_client_id'),
  };
  const byCredential = (column: keyof typeof credentialQueries, value: string) => {
    const r = credentialQueries[column].get(value) as (DeviceRow & CredRow) | undefined;
    return r && { device: device(r), credentials: credentials(r.id, r) };
  };
  return {
    insert: async (d, c) => {
      unique(() => {
        insert(d, c);
      });
    },
    get: async (id) => one(db, 'SELECT * FROM devices WHERE id = ?', device, id),
    findByName: async (tenantId, name) => one(db, 'SELECT * FROM devices WHERE tenant_id = ? AND name = ?', device, tenantId, name),
    list: async (q) => {
      const where: { sql: string; params: unknown[] }[] = [];
      if (q.connected !== undefined) where.push({ sql: 'COALESCE(c.connected, 0) = ?', params: [q.connected ? 1 : 0] });
      if (q.activity !== undefined)
        where.push({ sql: q.activity.active ? activeSql : `(c.last_activity_at IS NULL OR NOT ${activeSql})`, params: [q.activity.now] });
      return listPage(db, q, {
        table: listedFrom,
        select: 'd.*, c.connected, c.last_connect_at, c.last_disconnect_at, c.last_activity_at',
        idColumn: 'd.id',
        sortColumns: { name: 'd.name', createdAt: 'd.created_at', label: 'd.label', lastActivityAt: 'c.last_activity_at' },
        searchColumn: 'd.name',
        filters: { 'd.tenant_id': q.tenantId, 'd.profile_id': q.profileId, 'd.gateway_id': q.gatewayId },
        where,
        map: (r: DeviceRow & ConnectivityRow): ListedDevice => ({ ...device(r), ...connectivity(r) }),
      });
    },
    update: async (id, patch) => {
      unique(() => {
        updateColumns(db, 'devices', id, {
          name: patch.name,
          label: patch.label,
          metadata: patch.metadata && JSON.stringify(patch.metadata),
          profile_id: patch.profileId,
          gateway: patch.gateway === undefined ? undefined : patch.gateway ? 1 : 0,
        });
      });
    },
    delete: async (id) => {
      del(id);
      forget(id);
    },
    getCredentials: async (deviceId) => {
      const r = db.prepare('SELECT c.* FROM device_credentials c JOIN devices d ON d.seq = c.device_seq WHERE d.id = ?').get(deviceId) as CredRow | undefined;
      return r && credentials(deviceId, r);
    },
    setCredentials: async (c) => {
      const row = db.prepare('SELECT seq FROM devices WHERE id = ?').get(c.deviceId) as { seq: number } | undefined;
      if (row)
        unique(() => {
          writeCredentials(row.seq, c);
        });
    },
    findByAccessToken: async (token) => byCredential('access_token', token)?.device,
    findByMqttUsername: async (username) => byCredential('mqtt_username', username),
    findByMqttClientId: async (clientId) => byCredential('mqtt_client_id', clientId),
    setConnectivity: async (deviceId, patch) => {
      const row = db.prepare('SELECT seq FROM devices WHERE id = ?').get(deviceId) as { seq: number } | undefined;
      if (!row) return;
      stmt(
        db,
        `INSERT INTO device_connectivity (device_seq, connected, last_connect_at, last_disconnect_at, last_activity_at)
        VALUES (@seq, COALESCE(@connected, 0), @connect, @disconnect, @activity)
        ON CONFLICT (device_seq) DO UPDATE SET
          connected = COALESCE(@connected, connected),
          last_connect_at = COALESCE(@connect, last_connect_at),
          last_disconnect_at = COALESCE(@disconnect, last_disconnect_at),
          last_activity_at = COALESCE(@activity, last_activity_at)`,
      ).run({
        seq: row.seq,
        connected: patch.connected === undefined ? null : patch.connected ? 1 : 0,
        connect: patch.lastConnectAt ?? null,
        disconnect: patch.lastDisconnectAt ?? null,
        activity: patch.lastActivityAt ?? null,
      });
    },
    setActivity: async (batch) => {
      writeActivity(batch);
    },
    getConnectivity: async (deviceId): Promise<ConnectivityRecord | undefined> => {
      const r = db
        .prepare(
          `SELECT c.connected, c.last_connect_at, c.last_disconnect_at, c.last_activity_at FROM device_connectivity c
        JOIN devices d ON d.seq = c.device_seq WHERE d.id = ?`,
        )
        .get(deviceId) as ConnectivityRow | undefined;
      return r && connectivity(r);
    },
    clearConnected: async () => clearConnected(),
    listActive: async (now, filter = {}) =>
      (
        db
          .prepare(
            `SELECT d.id, d.tenant_id, d.profile_id, c.last_activity_at, p.inactivity_timeout_sec FROM ${listedFrom} WHERE ${activeSql}` +
              (filter.profileId === undefined ? '' : ' AND d.profile_id = ?'),
          )
          .all(now, ...(filter.profileId === undefined ? [] : [filter.profileId])) as {
          id: string;
          tenant_id: string;
          profile_id: string;
          last_activity_at: number;
          inactivity_timeout_sec: number;
        }[]
      ).map((r) => ({
        deviceId: r.id,
        tenantId: r.tenant_id,
        profileId: r.profile_id,
        lastActivityAt: r.last_activity_at,
        inactivityTimeoutSec: r.inactivity_timeout_sec,
      })),
  };
}

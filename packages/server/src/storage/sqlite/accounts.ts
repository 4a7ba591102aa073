import type { ApiKey, ApiKeyRepo, RefreshToken, RefreshTokenRepo, Role, Tenant, TenantRepo, User, UserRepo } from '@thingstead/core';
import type { Db } from './database';
import { listPage, one, unique, updateColumns, stmt } from './sql';
import { deleteSeries } from './telemetry';

interface TenantRow {
  id: string;
  name: string;
  created_at: number;
}
interface UserRow {
  id: string;
  tenant_id: string;
  email: string;
  role: string;
  password_hash: string;
  disabled: number;
  created_at: number;
}
interface ApiKeyRow {
  id: string;
  tenant_id: string;
  user_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}
interface RefreshRow {
  id: string;
  user_id: string;
  family_id: string | null;
  secret_hash: string;
  expires_at: number;
  revoked_at: number | null;
}

const tenant = (r: TenantRow): Tenant => ({ id: r.id, name: r.name, createdAt: r.created_at });
const user = (r: UserRow): User => ({
  id: r.id,
  tenantId: r.tenant_id,
  email: r.email,
  role: r.role as Role,
  passwordHash: r.password_hash,
  disabled: r.disabled === 1,
  createdAt: r.created_at,
});
const apiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  tenantId: r.tenant_id,
  userId: r.user_id,
  name: r.name,
  prefix: r.prefix,
  secretHash: r.secret_hash,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});
const refresh = (r: RefreshRow): RefreshToken => ({
  id: r.id,
  userId: r.user_id,
  familyId: r.family_id ?? r.id,
  secretHash: r.secret_hash,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

export function tenantRepo(db: Db, forgetDevices: () => void): TenantRepo {
  const del = db.transaction((id: string) => {
    // Telemetry rows carry no foreign key (it would slow ingest); delete them explicitly.
    deleteSeries(db, { tenantId: id });
    stmt(db, 'DELETE FROM devices WHERE tenant_id = ?').run(id);
    stmt(db, 'DELETE FROM tenants WHERE id = ?').run(id);
  });
  return {
    insert: async (t) => {
      unique(() => stmt(db, 'INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)').run(t.id, t.name, t.createdAt));
    },
    get: async (id) => one(db, 'SELECT * FROM tenants WHERE id = ?', tenant, id),
    findByName: async (name) => one(db, 'SELECT * FROM tenants WHERE name = ?', tenant, name),
    list: async (q) =>
      listPage(db, q, { table: 'tenants', sortColumns: { name: 'name', createdAt: 'created_at' }, searchColumn: 'name', filters: {}, map: tenant }),
    update: async (id, patch) => {
      unique(() => {
        updateColumns(db, 'tenants', id, { name: patch.name });
      });
    },
    delete: async (id) => {
      del(id);
      forgetDevices();
    },
  };
}

export function userRepo(db: Db): UserRepo {
  return {
    insert: async (u) => {
      unique(() =>
        db
          .prepare('INSERT INTO users (id, tenant_id, email, role, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(u.id, u.tenantId, u.email, u.role, u.passwordHash, u.disabled ? 1 : 0, u.createdAt),
      );
    },
    get: async (id) => one(db, 'SELECT * FROM users WHERE id = ?', user, id),
    findByEmail: async (email) => one(db, 'SELECT * FROM users WHERE email = ?', user, email),
    list: async (q) =>
      listPage(db, q, {
        table: 'users',
        sortColumns: { email: 'email', createdAt: 'created_at', role: 'role' },
        searchColumn: 'email',
        filters: { tenant_id: q.tenantId },
        map: user,
      }),
    update: async (id, patch) => {
      unique(() => {
        updateColumns(db, 'users', id, {
          email: patch.email,
          role: patch.role,
          password_hash: patch.passwordHash,
          disabled: patch.disabled === undefined ? undefined : patch.disabled ? 1 : 0,
        });
      });
    },
    delete: async (id) => {
      stmt(db, 'DELETE FROM users WHERE id = ?').run(id);
    },
    count: async (q) => {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (q.role !== undefined) {
        where.push('role = ?');
        params.push(q.role);
      }
      if (q.disabled !== undefined) {
        where.push('disabled = ?');
        params.push(q.disabled ? 1 : 0);
      }
      if (q.tenantId !== undefined) {
        where.push('tenant_id = ?');
        params.push(q.tenantId);
      }
      const { n } = db.prepare(`SELECT COUNT(*) AS n FROM users ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`).get(...params) as { n: number };
      return n;
    },
  };
}

export function apiKeyRepo(db: Db): ApiKeyRepo {
  return {
    insert: async (k) => {
      unique(() =>
        db
          .prepare(
            'INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, secret_hash, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(k.id, k.tenantId, k.userId, k.name, k.prefix, k.secretHash, k.createdAt, k.lastUsedAt, k.revokedAt),
      );
    },
    get: async (id) => one(db, 'SELECT * FROM api_keys WHERE id = ?', apiKey, id),
    list: async (q) => {
      const rows =
        q.userId === undefined
          ? stmt(db, 'SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id').all(q.tenantId)
          : stmt(db, 'SELECT * FROM api_keys WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, id').all(q.tenantId, q.userId);
      return (rows as ApiKeyRow[]).map(apiKey);
    },
    revoke: async (id, at) => {
      stmt(db, 'UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(at, id);
    },
    touch: async (id, at) => {
      stmt(db, 'UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(at, id);
    },
  };
}

export function refreshTokenRepo(db: Db): RefreshTokenRepo {
  return {
    insert: async (t) => {
      unique(() =>
        db
          .prepare('INSERT INTO refresh_tokens (id, user_id, family_id, secret_hash, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(t.id, t.userId, t.familyId, t.secretHash, t.expiresAt, t.revokedAt),
      );
    },
    get: async (id) => one(db, 'SELECT * FROM refresh_tokens WHERE id = ?', refresh, id),
    revoke: async (id, at) => stmt(db, 'UPDATE refresh_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes === 1,
    revokeFamily: async (familyId, at) => {
      stmt(db, 'UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL').run(at, familyId);
    },
    revokeAllOfUser: async (userId, at) => {
      stmt(db, 'UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL').run(at, userId);
    },
    deleteExpired: async (before) => stmt(db, 'DELETE FROM refresh_tokens WHERE expires_at <= ?').run(before).changes,
  };
}

import { rpcDueAt, type RpcRepo, type RpcStatus, type StoredRpc } from '@thingstead/core';
import type { Db } from './database';
import { stmt } from './sql';

interface Row {
  id: string;
  tenant_id: string;
  device_id: string;
  rpc_id: number;
  method: string;
  params: string;
  oneway: number;
  status: RpcStatus;
  created_at: number;
  updated_at: number;
  expires_at: number;
  timeout_ms: number;
  attempts: number;
  max_attempts: number;
  sent_at: number | null;
  response: string | null;
  error: string | null;
}

const columns = `r.id, d.tenant_id, d.id AS device_id, r.rpc_id, r.method, r.params, r.oneway, r.status, r.created_at, r.updated_at,
  r.expires_at, r.timeout_ms, r.attempts, r.max_attempts, r.sent_at, r.response, r.error`;
const from = 'FROM rpcs r JOIN devices d ON d.seq = r.device_seq';

function toRpc(r: Row): StoredRpc {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    deviceId: r.device_id,
    rpcId: r.rpc_id,
    method: r.method,
    params: JSON.parse(r.params) as unknown,
    oneway: r.oneway === 1,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
    timeoutMs: r.timeout_ms,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    sentAt: r.sent_at,
    ...(r.response === null ? {} : { response: JSON.parse(r.response) as unknown }),
    error: r.error,
  };
}

/** Persistent RPCs; a transition is one UPDATE guarded by the allowed statuses, so two nodes cannot both apply one. */
export function rpcRepo(db: Db): RpcRepo {
  const insert = db.prepare(`INSERT INTO rpcs (id, device_seq, rpc_id, method, params, oneway, status, created_at, updated_at, expires_at,
    timeout_ms, attempts, max_attempts, sent_at, response, error, due_at)
    SELECT ?, seq, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM devices WHERE id = ?`);
  const get = db.prepare(`SELECT ${columns} ${from} WHERE r.id = ?`);
  const findOpen = db.prepare(`SELECT ${columns} ${from} WHERE d.id = ? AND r.rpc_id = ? AND r.due_at IS NOT NULL`);
  const open = db.prepare(`SELECT ${columns} ${from} WHERE d.id = ? AND r.due_at IS NOT NULL ORDER BY r.created_at, r.rowid`);
  const countOpen = db.prepare('SELECT COUNT(*) AS n FROM rpcs r JOIN devices d ON d.seq = r.device_seq WHERE d.id = ? AND r.due_at IS NOT NULL');
  const due = db.prepare(`SELECT ${columns} ${from} WHERE r.due_at IS NOT NULL AND r.due_at <= ? ORDER BY r.due_at, r.rowid LIMIT ?`);
  const remove = db.prepare('DELETE FROM rpcs WHERE id = ?');
  const update = db.prepare(
    `UPDATE rpcs SET status = ?, updated_at = ?, attempts = ?, sent_at = ?, response = ?, error = ?, due_at = ? WHERE id = ? AND status = ?`,
  );

  const transition = db.transaction((id: string, allowed: readonly RpcStatus[], patch: Parameters<RpcRepo['transition']>[2]): boolean => {
    const row = get.get(id) as Row | undefined;
    if (!row || !allowed.includes(row.status)) return false;
    const next = { ...toRpc(row), ...patch };
    const response = next.response === undefined ? null : JSON.stringify(next.response);
    // Guarded by the status read above, inside the same transaction.
    return update.run(next.status, next.updatedAt, next.attempts, next.sentAt, response, next.error, rpcDueAt(next), id, row.status).changes === 1;
  });

  return {
    insert: async (r) => {
      insert.run(
        r.id,
        r.rpcId,
        r.method,
        JSON.stringify(r.params),
        r.oneway ? 1 : 0,
        r.status,
        r.createdAt,
        r.updatedAt,
        r.expiresAt,
        r.timeoutMs,
        r.attempts,
        r.maxAttempts,
        r.sentAt,
        r.response === undefined ? null : JSON.stringify(r.response),
        r.error,
        rpcDueAt(r),
        r.deviceId,
      );
    },
    get: async (id) => {
      const row = get.get(id) as Row | undefined;
      return row && toRpc(row);
    },
    findOpen: async (deviceId, rpcId) => {
      const row = findOpen.get(deviceId, rpcId) as Row | undefined;
      return row && toRpc(row);
    },
    list: async (q) => {
      const where = `WHERE d.id = ?${q.status === undefined ? '' : ' AND r.status = ?'}`;
      const args = q.status === undefined ? [q.deviceId] : [q.deviceId, q.status];
      const items = (
        stmt(db, `SELECT ${columns} ${from} ${where} ORDER BY r.created_at DESC, r.rowid DESC LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as Row[]
      ).map(toRpc);
      const total = (stmt(db, `SELECT COUNT(*) AS n ${from} ${where}`).get(...args) as { n: number }).n;
      return { items, total };
    },
    countOpen: async (deviceId) => (countOpen.get(deviceId) as { n: number }).n,
    open: async (deviceId) => (open.all(deviceId) as Row[]).map(toRpc),
    due: async (now, limit) => (due.all(now, limit) as Row[]).map(toRpc),
    transition: async (id, allowed, patch) => transition(id, allowed, patch),
    delete: async (id) => remove.run(id).changes === 1,
  };
}

import {
  alarmSeverities,
  alarmStatus,
  statusFlags,
  type Alarm,
  type AlarmComment,
  type AlarmCounts,
  type AlarmRepo,
  type AlarmSeverity,
} from '@thingstead/core';
import type { Db } from './database';
import { stmt, unique } from './sql';

interface Row {
  id: string;
  tenant_id: string;
  device_id: string;
  type: string;
  severity: AlarmSeverity;
  acknowledged: number;
  cleared: number;
  start_ts: number;
  end_ts: number;
  ack_ts: number | null;
  clear_ts: number | null;
  created_at: number;
  updated_at: number;
  details: string;
  rule_id: string | null;
  ack_by: string | null;
  cleared_by: string | null;
}

interface CommentRow {
  id: string;
  alarm_id: string;
  tenant_id: string;
  user_id: string | null;
  text: string;
  created_at: number;
}

const columns = `a.id, a.tenant_id, d.id AS device_id, a.type, a.severity, a.acknowledged, a.cleared, a.start_ts, a.end_ts, a.ack_ts,
  a.clear_ts, a.created_at, a.updated_at, a.details, a.rule_id, a.ack_by, a.cleared_by`;
const from = 'FROM alarms a JOIN devices d ON d.seq = a.device_seq';

function toAlarm(r: Row): Alarm {
  const flags = { acknowledged: r.acknowledged === 1, cleared: r.cleared === 1 };
  return {
    id: r.id,
    tenantId: r.tenant_id,
    deviceId: r.device_id,
    type: r.type,
    severity: r.severity,
    ...flags,
    status: alarmStatus(flags),
    startTs: r.start_ts,
    endTs: r.end_ts,
    ackTs: r.ack_ts,
    clearTs: r.clear_ts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    details: JSON.parse(r.details) as Record<string, unknown>,
    ruleId: r.rule_id,
    ackBy: r.ack_by,
    clearedBy: r.cleared_by,
  };
}

const toComment = (r: CommentRow): AlarmComment => ({
  id: r.id,
  alarmId: r.alarm_id,
  tenantId: r.tenant_id,
  userId: r.user_id,
  text: r.text,
  createdAt: r.created_at,
});

/** Patch field -> column, with the conversion to SQL. */
const patchColumns: Record<string, [string, (v: never) => unknown]> = {
  severity: ['severity', (v: string) => v],
  acknowledged: ['acknowledged', (v: boolean) => (v ? 1 : 0)],
  cleared: ['cleared', (v: boolean) => (v ? 1 : 0)],
  endTs: ['end_ts', (v: number) => v],
  ackTs: ['ack_ts', (v: number | null) => v],
  clearTs: ['clear_ts', (v: number | null) => v],
  updatedAt: ['updated_at', (v: number) => v],
  details: ['details', (v: unknown) => JSON.stringify(v)],
  ackBy: ['ack_by', (v: string | null) => v],
  clearedBy: ['cleared_by', (v: string | null) => v],
};

/**
 * Alarms and their comments. The unique partial index alarms_active (device, type WHERE cleared = 0) refuses a
 * second alarm that is not cleared (CONFLICT, through unique()); an update is one UPDATE guarded by the flags.
 */
export function alarmRepo(db: Db): AlarmRepo {
  const insert = db.prepare(`INSERT INTO alarms (id, device_seq, tenant_id, type, severity, acknowledged, cleared, start_ts, end_ts, ack_ts,
    clear_ts, created_at, updated_at, details, rule_id, ack_by, cleared_by)
    SELECT ?, seq, tenant_id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM devices WHERE id = ?`);
  const get = db.prepare(`SELECT ${columns} ${from} WHERE a.id = ?`);
  const findActive = db.prepare(`SELECT ${columns} ${from} WHERE d.id = ? AND a.type = ? AND a.cleared = 0`);
  const remove = db.prepare('DELETE FROM alarms WHERE id = ?');
  const addComment = db.prepare('INSERT INTO alarm_comments (id, alarm_seq, user_id, text, created_at) SELECT ?, seq, ?, ?, ? FROM alarms WHERE id = ?');
  const comments = db.prepare(`SELECT c.id, a.id AS alarm_id, a.tenant_id, c.user_id, c.text, c.created_at
    FROM alarm_comments c JOIN alarms a ON a.seq = c.alarm_seq WHERE a.id = ? ORDER BY c.created_at, c.rowid LIMIT ? OFFSET ?`);
  const countComments = db.prepare('SELECT COUNT(*) AS n FROM alarm_comments c JOIN alarms a ON a.seq = c.alarm_seq WHERE a.id = ?');

  return {
    insert: async (a) => {
      unique(() =>
        insert.run(
          a.id,
          a.type,
          a.severity,
          a.acknowledged ? 1 : 0,
          a.cleared ? 1 : 0,
          a.startTs,
          a.endTs,
          a.ackTs,
          a.clearTs,
          a.createdAt,
          a.updatedAt,
          JSON.stringify(a.details),
          a.ruleId,
          a.ackBy,
          a.clearedBy,
          a.deviceId,
        ),
      );
    },
    get: async (id) => {
      const row = get.get(id) as Row | undefined;
      return row && toAlarm(row);
    },
    findActive: async (deviceId, type) => {
      const row = findActive.get(deviceId, type) as Row | undefined;
      return row && toAlarm(row);
    },
    list: async (q) => {
      const where = ['a.tenant_id = ?'];
      const args: unknown[] = [q.tenantId];
      const add = (sql: string, ...values: unknown[]) => {
        where.push(sql);
        args.push(...values);
      };
      if (q.deviceId !== undefined) add('d.id = ?', q.deviceId);
      if (q.type !== undefined) add('a.type = ?', q.type);
      const flags = q.status === undefined ? {} : statusFlags(q.status);
      if (flags.cleared !== undefined) add('a.cleared = ?', flags.cleared ? 1 : 0);
      if (flags.acknowledged !== undefined) add('a.acknowledged = ?', flags.acknowledged ? 1 : 0);
      if (q.severities !== undefined && q.severities.length > 0) add(`a.severity IN (${q.severities.map(() => '?').join(', ')})`, ...q.severities);
      if (q.from !== undefined) add('a.start_ts >= ?', q.from);
      if (q.to !== undefined) add('a.start_ts <= ?', q.to);
      const clause = `WHERE ${where.join(' AND ')}`;
      const items = (
        stmt(db, `SELECT ${columns} ${from} ${clause} ORDER BY a.start_ts DESC, a.seq DESC LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as Row[]
      ).map(toAlarm);
      const total = (stmt(db, `SELECT COUNT(*) AS n ${from} ${clause}`).get(...args) as { n: number }).n;
      return { items, total };
    },
    counts: async (q) => {
      const clause = q.deviceId === undefined ? 'WHERE a.tenant_id = ?' : 'WHERE a.tenant_id = ? AND d.id = ?';
      const args = q.deviceId === undefined ? [q.tenantId] : [q.tenantId, q.deviceId];
      const rows = stmt(db, `SELECT a.severity, a.cleared, a.acknowledged, COUNT(*) AS n ${from} ${clause} GROUP BY a.severity, a.cleared, a.acknowledged`).all(
        ...args,
      ) as { severity: AlarmSeverity; cleared: number; acknowledged: number; n: number }[];
      const c: AlarmCounts = {
        active: Object.fromEntries(alarmSeverities.map((s) => [s, 0])) as AlarmCounts['active'],
        activeTotal: 0,
        unacknowledged: 0,
        activeUnacknowledged: 0,
      };
      for (const r of rows) {
        if (r.cleared === 0) {
          c.active[r.severity] += r.n;
          c.activeTotal += r.n;
        }
        if (r.acknowledged === 0) c.unacknowledged += r.n;
        if (r.acknowledged === 0 && r.cleared === 0) c.activeUnacknowledged += r.n;
      }
      return c;
    },
    update: async (id, patch, expect) => {
      const set: string[] = [];
      const args: unknown[] = [];
      for (const [field, value] of Object.entries(patch) as [string, unknown][]) {
        const col = patchColumns[field];
        if (value === undefined || col === undefined) continue;
        set.push(`${col[0]} = ?`);
        args.push(col[1](value as never));
      }
      const guard = ['id = ?'];
      args.push(id);
      if (expect.cleared !== undefined) {
        guard.push('cleared = ?');
        args.push(expect.cleared ? 1 : 0);
      }
      if (expect.acknowledged !== undefined) {
        guard.push('acknowledged = ?');
        args.push(expect.acknowledged ? 1 : 0);
      }
      if (set.length === 0) return stmt(db, `SELECT 1 FROM alarms WHERE ${guard.join(' AND ')}`).get(...args) !== undefined;
      return unique(() => stmt(db, `UPDATE alarms SET ${set.join(', ')} WHERE ${guard.join(' AND ')}`).run(...args).changes === 1);
    },
    // The comments go by ON DELETE CASCADE.
    delete: async (id) => remove.run(id).changes === 1,
    addComment: async (c) => {
      unique(() => addComment.run(c.id, c.userId, c.text, c.createdAt, c.alarmId));
    },
    comments: async (alarmId, page) => ({
      items: (comments.all(alarmId, page.limit, page.offset) as CommentRow[]).map(toComment),
      total: (countComments.get(alarmId) as { n: number }).n,
    }),
  };
}

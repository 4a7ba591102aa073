import type { ChannelType, DeliveryStatus, InboxItem, NotificationRepo, StoredChannel, StoredDelivery } from '@thingstead/core';
import type { Db } from './database';
import { stmt, unique } from './sql';

interface ChannelRow {
  id: string;
  tenant_id: string;
  name: string;
  type: ChannelType;
  config: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

interface DeliveryRow {
  id: string;
  tenant_id: string;
  channel_id: string | null;
  kind: ChannelType | null;
  target: string;
  subject: string;
  status: DeliveryStatus;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  next_attempt_at: number | null;
  created_at: number;
  sent_at: number | null;
  rule_id: string | null;
  request: string;
}

interface InboxRow {
  id: string;
  tenant_id: string;
  user_id: string;
  delivery_id: string;
  subject: string;
  body: string;
  created_at: number;
  read_at: number | null;
  rule_id: string | null;
}

const toChannel = (r: ChannelRow): StoredChannel =>
  ({
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    type: r.type,
    config: JSON.parse(r.config) as unknown,
    enabled: r.enabled === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }) as StoredChannel;

const toDelivery = (r: DeliveryRow): StoredDelivery => ({
  id: r.id,
  tenantId: r.tenant_id,
  channelId: r.channel_id,
  kind: r.kind,
  target: r.target,
  subject: r.subject,
  status: r.status,
  attempts: r.attempts,
  lastError: r.last_error,
  nextAttemptAt: r.next_attempt_at,
  createdAt: r.created_at,
  sentAt: r.sent_at,
  ruleId: r.rule_id,
  maxAttempts: r.max_attempts,
  request: JSON.parse(r.request) as StoredDelivery['request'],
});

const toInbox = (r: InboxRow): InboxItem => ({
  id: r.id,
  tenantId: r.tenant_id,
  userId: r.user_id,
  deliveryId: r.delivery_id,
  subject: r.subject,
  body: r.body,
  createdAt: r.created_at,
  readAt: r.read_at,
  ruleId: r.rule_id,
});

/** Notification channels, the delivery log and the inbox. A delivery's update is one UPDATE guarded by the allowed statuses. */
export function notificationRepo(db: Db): NotificationRepo {
  const insertDelivery = db.prepare(`INSERT INTO notification_deliveries (id, tenant_id, channel_id, kind, target, subject, status, attempts,
    max_attempts, last_error, next_attempt_at, created_at, sent_at, rule_id, request)
    SELECT ?, t.id, (SELECT c.id FROM notification_channels c WHERE c.id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM tenants t WHERE t.id = ?`);
  const insertDeliveries = db.transaction((ds: readonly StoredDelivery[]) => {
    for (const d of ds)
      insertDelivery.run(
        d.id,
        d.channelId,
        d.kind,
        d.target,
        d.subject,
        d.status,
        d.attempts,
        d.maxAttempts,
        d.lastError,
        d.nextAttemptAt,
        d.createdAt,
        d.sentAt,
        d.ruleId,
        JSON.stringify(d.request),
        d.tenantId,
      );
  });
  // OR IGNORE: an item's id follows from its delivery and user, so a repeated attempt adds nothing twice.
  const insertItem = db.prepare(`INSERT OR IGNORE INTO notification_inbox (id, tenant_id, user_id, delivery_id, subject, body, created_at, read_at, rule_id)
    SELECT ?, u.tenant_id, u.id, ?, ?, ?, ?, ?, ? FROM users u WHERE u.id = ? AND u.tenant_id = ?`);
  const insertInbox = db.transaction((items: readonly InboxItem[]) => {
    let n = 0;
    for (const i of items) n += insertItem.run(i.id, i.deliveryId, i.subject, i.body, i.createdAt, i.readAt, i.ruleId, i.userId, i.tenantId).changes;
    return n;
  });
  const getDelivery = (id: string) => stmt(db, 'SELECT * FROM notification_deliveries WHERE id = ?').get(id) as DeliveryRow | undefined;
  const updateDelivery = db.transaction((id: string, from: readonly DeliveryStatus[], patch: Parameters<NotificationRepo['updateDelivery']>[2]) => {
    const row = getDelivery(id);
    if (!row || !from.includes(row.status)) return false;
    const next: StoredDelivery = { ...toDelivery(row), ...patch };
    // Guarded by the status read above, inside the same transaction.
    return (
      stmt(db, 'UPDATE notification_deliveries SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?, sent_at = ? WHERE id = ? AND status = ?').run(
        next.status,
        next.attempts,
        next.lastError,
        next.nextAttemptAt,
        next.sentAt,
        id,
        row.status,
      ).changes === 1
    );
  });

  return {
    insertChannel: async (c) => {
      unique(() =>
        stmt(
          db,
          `INSERT INTO notification_channels (id, tenant_id, name, type, config, enabled, created_at, updated_at)
           SELECT ?, id, ?, ?, ?, ?, ?, ? FROM tenants WHERE id = ?`,
        ).run(c.id, c.name, c.type, JSON.stringify(c.config), c.enabled ? 1 : 0, c.createdAt, c.updatedAt, c.tenantId),
      );
    },
    getChannel: async (id) => {
      const row = stmt(db, 'SELECT * FROM notification_channels WHERE id = ?').get(id) as ChannelRow | undefined;
      return row && toChannel(row);
    },
    listChannels: async (tenantId) =>
      (stmt(db, 'SELECT * FROM notification_channels WHERE tenant_id = ? ORDER BY name').all(tenantId) as ChannelRow[]).map(toChannel),
    countChannels: async (tenantId) => (stmt(db, 'SELECT COUNT(*) AS n FROM notification_channels WHERE tenant_id = ?').get(tenantId) as { n: number }).n,
    updateChannel: async (id, patch) => {
      const set: [string, unknown][] = [];
      if (patch.name !== undefined) set.push(['name', patch.name]);
      if (patch.config !== undefined) set.push(['config', JSON.stringify(patch.config)]);
      if (patch.enabled !== undefined) set.push(['enabled', patch.enabled ? 1 : 0]);
      if (patch.updatedAt !== undefined) set.push(['updated_at', patch.updatedAt]);
      if (set.length === 0) return;
      unique(() => stmt(db, `UPDATE notification_channels SET ${set.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ?`).run(...set.map(([, v]) => v), id));
    },
    deleteChannel: async (id) => stmt(db, 'DELETE FROM notification_channels WHERE id = ?').run(id).changes === 1,
    insertDeliveries: async (ds) => {
      unique(() => {
        insertDeliveries(ds);
      });
    },
    getDelivery: async (id) => {
      const row = getDelivery(id);
      return row && toDelivery(row);
    },
    listDeliveries: async (q) => {
      const where = ['tenant_id = ?'];
      const args: unknown[] = [q.tenantId];
      if (q.channelId !== undefined) {
        where.push('channel_id = ?');
        args.push(q.channelId);
      }
      if (q.status !== undefined) {
        where.push('status = ?');
        args.push(q.status);
      }
      const clause = `WHERE ${where.join(' AND ')}`;
      const items = (
        stmt(db, `SELECT * FROM notification_deliveries ${clause} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`).all(
          ...args,
          q.limit,
          q.offset,
        ) as DeliveryRow[]
      ).map(toDelivery);
      const total = (stmt(db, `SELECT COUNT(*) AS n FROM notification_deliveries ${clause}`).get(...args) as { n: number }).n;
      return { items, total };
    },
    updateDelivery: async (id, from, patch) => updateDelivery(id, from, patch),
    dueDeliveries: async (now, limit) =>
      (
        stmt(
          db,
          `SELECT * FROM notification_deliveries WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? AND status IN ('PENDING', 'RETRYING')
           ORDER BY next_attempt_at, rowid LIMIT ?`,
        ).all(now, limit) as DeliveryRow[]
      ).map(toDelivery),
    pruneDeliveries: async (tenantId, keep) =>
      stmt(
        db,
        `DELETE FROM notification_deliveries WHERE status IN ('SENT', 'FAILED') AND rowid IN (
           SELECT rowid FROM notification_deliveries WHERE tenant_id = ? ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
      ).run(tenantId, keep).changes,
    insertInbox: async (items) => insertInbox(items),
    listInbox: async (q) => {
      const clause = `WHERE user_id = ?${q.unreadOnly === true ? ' AND read_at IS NULL' : ''}`;
      const items = (
        stmt(db, `SELECT * FROM notification_inbox ${clause} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`).all(
          q.userId,
          q.limit,
          q.offset,
        ) as InboxRow[]
      ).map(toInbox);
      const total = (stmt(db, `SELECT COUNT(*) AS n FROM notification_inbox ${clause}`).get(q.userId) as { n: number }).n;
      return { items, total };
    },
    countUnread: async (userId) =>
      (stmt(db, 'SELECT COUNT(*) AS n FROM notification_inbox WHERE user_id = ? AND read_at IS NULL').get(userId) as { n: number }).n,
    markRead: async (userId, id, at) =>
      stmt(db, 'UPDATE notification_inbox SET read_at = COALESCE(read_at, ?) WHERE id = ? AND user_id = ?').run(at, id, userId).changes === 1,
    markAllRead: async (userId, at) => stmt(db, 'UPDATE notification_inbox SET read_at = ? WHERE user_id = ? AND read_at IS NULL').run(at, userId).changes,
    pruneInbox: async (userId, keep) =>
      stmt(
        db,
        `DELETE FROM notification_inbox WHERE rowid IN (
           SELECT rowid FROM notification_inbox WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
      ).run(userId, keep).changes,
  };
}

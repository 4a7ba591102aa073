import { ThingsteadError } from '../errors';
import { openDeliveryStatuses, type InboxItem, type NotificationRepo, type StoredChannel, type StoredDelivery } from '../notifications/model';

/** The memory store's notification channels, delivery log and inbox (see memory-store.ts). */
export function createMemoryNotifications(o: {
  live: () => void;
  tenantExists: (id: string) => boolean;
  userTenant: (id: string) => string | undefined;
}): NotificationRepo & { forgetTenant(id: string): void; forgetUser(id: string): void } {
  const channels = new Map<string, StoredChannel>();
  // Map order is insertion order: ties in creation time sort as SQLite's rowid does.
  const deliveries = new Map<string, StoredDelivery>();
  const inbox = new Map<string, InboxItem>();
  const copy = <T>(v: T): T => structuredClone(v);
  const nameTaken = (c: Pick<StoredChannel, 'id' | 'tenantId' | 'name'>) => {
    for (const other of channels.values())
      if (other.id !== c.id && other.tenantId === c.tenantId && other.name === c.name) throw new ThingsteadError('NOTIFICATION_CHANNEL_NAME_TAKEN');
  };
  const newestFirst = <T extends { createdAt: number }>(rows: Iterable<T>): T[] => [...rows].reverse().sort((a, b) => b.createdAt - a.createdAt);
  const isFinal = (d: StoredDelivery) => !openDeliveryStatuses.includes(d.status);
  return {
    insertChannel: async (c) => {
      o.live();
      if (!o.tenantExists(c.tenantId)) return;
      nameTaken(c);
      if (channels.has(c.id)) throw new ThingsteadError('CONFLICT');
      channels.set(c.id, copy(c));
    },
    getChannel: async (id) => {
      o.live();
      return copy(channels.get(id));
    },
    listChannels: async (tenantId) => {
      o.live();
      return [...channels.values()]
        .filter((c) => c.tenantId === tenantId)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map(copy);
    },
    countChannels: async (tenantId) => {
      o.live();
      return [...channels.values()].filter((c) => c.tenantId === tenantId).length;
    },
    updateChannel: async (id, patch) => {
      o.live();
      const c = channels.get(id);
      if (!c) return;
      const next = { ...c, ...copy(patch) } as StoredChannel;
      nameTaken(next);
      channels.set(id, next);
    },
    deleteChannel: async (id) => {
      o.live();
      if (!channels.delete(id)) return false;
      // As SQL's ON DELETE SET NULL: the log keeps the deliveries.
      for (const d of deliveries.values()) if (d.channelId === id) d.channelId = null;
      return true;
    },
    insertDeliveries: async (ds) => {
      o.live();
      for (const d of ds) if (deliveries.has(d.id)) throw new ThingsteadError('CONFLICT');
      for (const d of ds) {
        if (!o.tenantExists(d.tenantId)) continue;
        const channelId = d.channelId !== null && channels.has(d.channelId) ? d.channelId : null;
        deliveries.set(d.id, { ...copy(d), channelId });
      }
    },
    getDelivery: async (id) => {
      o.live();
      return copy(deliveries.get(id));
    },
    listDeliveries: async (q) => {
      o.live();
      const all = newestFirst(deliveries.values()).filter(
        (d) => d.tenantId === q.tenantId && (q.channelId === undefined || d.channelId === q.channelId) && (q.status === undefined || d.status === q.status),
      );
      return { items: all.slice(q.offset, q.offset + q.limit).map(copy), total: all.length };
    },
    updateDelivery: async (id, from, patch) => {
      o.live();
      const d = deliveries.get(id);
      if (!d || !from.includes(d.status)) return false;
      deliveries.set(id, { ...d, ...copy(patch) });
      return true;
    },
    dueDeliveries: async (now, limit) => {
      o.live();
      return [...deliveries.values()]
        .filter((d): d is StoredDelivery & { nextAttemptAt: number } => !isFinal(d) && d.nextAttemptAt !== null && d.nextAttemptAt <= now)
        .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt)
        .slice(0, limit)
        .map(copy);
    },
    pruneDeliveries: async (tenantId, keep) => {
      o.live();
      let n = 0;
      for (const d of newestFirst(deliveries.values())
        .filter((x) => x.tenantId === tenantId)
        .slice(keep)
        .filter(isFinal))
        if (deliveries.delete(d.id)) n++;
      return n;
    },
    insertInbox: async (items) => {
      o.live();
      let n = 0;
      for (const i of items) {
        if (o.userTenant(i.userId) !== i.tenantId || inbox.has(i.id)) continue; // as INSERT OR IGNORE ... WHERE the user is of the tenant
        inbox.set(i.id, copy(i));
        n++;
      }
      return n;
    },
    listInbox: async (q) => {
      o.live();
      const all = newestFirst(inbox.values()).filter((i) => i.userId === q.userId && (q.unreadOnly !== true || i.readAt === null));
      return { items: all.slice(q.offset, q.offset + q.limit).map(copy), total: all.length };
    },
    countUnread: async (userId) => {
      o.live();
      return [...inbox.values()].filter((i) => i.userId === userId && i.readAt === null).length;
    },
    markRead: async (userId, id, at) => {
      o.live();
      const i = inbox.get(id);
      if (i?.userId !== userId) return false;
      i.readAt ??= at;
      return true;
    },
    markAllRead: async (userId, at) => {
      o.live();
      let n = 0;
      for (const i of inbox.values())
        if (i.userId === userId && i.readAt === null) {
          i.readAt = at;
          n++;
        }
      return n;
    },
    pruneInbox: async (userId, keep) => {
      o.live();
      let n = 0;
      for (const i of newestFirst(inbox.values())
        .filter((x) => x.userId === userId)
        .slice(keep))
        if (inbox.delete(i.id)) n++;
      return n;
    },
    forgetTenant: (id) => {
      for (const [k, c] of channels) if (c.tenantId === id) channels.delete(k);
      for (const [k, d] of deliveries) if (d.tenantId === id) deliveries.delete(k);
      for (const [k, i] of inbox) if (i.tenantId === id) inbox.delete(k);
    },
    forgetUser: (id) => {
      for (const [k, i] of inbox) if (i.userId === id) inbox.delete(k);
    },
  };
}

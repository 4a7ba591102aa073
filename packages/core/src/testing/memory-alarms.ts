import { alarmSeverities, alarmStatus, statusFlags, type Alarm, type AlarmComment, type AlarmCounts, type AlarmPatch, type AlarmRepo } from '../alarms/model';
import { ThingsteadError } from '../errors';

/** The memory store's alarms and comments (see memory-store.ts). */
export function createMemoryAlarms(o: {
  live: () => void;
  tenantOf: (deviceId: string) => string | undefined;
}): AlarmRepo & { forget(deviceId: string): void } {
  const rows = new Map<string, Alarm>();
  const comments = new Map<string, AlarmComment[]>();
  const copy = <T>(v: T): T => structuredClone(v);
  const out = (a: Alarm): Alarm => copy({ ...a, status: alarmStatus(a) });
  return {
    insert: async (a) => {
      o.live();
      // As SQL's INSERT ... SELECT FROM devices: an alarm of a device that is gone is not stored; its tenant is the device's.
      const tenantId = o.tenantOf(a.deviceId);
      if (tenantId === undefined) return;
      if (rows.has(a.id)) throw new ThingsteadError('CONFLICT');
      // As the unique partial index (device, type) WHERE cleared = 0.
      if (!a.cleared && [...rows.values()].some((x) => x.deviceId === a.deviceId && x.type === a.type && !x.cleared)) throw new ThingsteadError('CONFLICT');
      rows.set(a.id, copy({ ...a, tenantId }));
    },
    get: async (id) => {
      o.live();
      const a = rows.get(id);
      return a && out(a);
    },
    findActive: async (deviceId, type) => {
      o.live();
      const a = [...rows.values()].find((x) => x.deviceId === deviceId && x.type === type && !x.cleared);
      return a && out(a);
    },
    list: async (q) => {
      o.live();
      const flags = q.status === undefined ? {} : statusFlags(q.status);
      const all = [...rows.values()]
        .filter(
          (a) =>
            a.tenantId === q.tenantId &&
            (q.deviceId === undefined || a.deviceId === q.deviceId) &&
            (q.type === undefined || a.type === q.type) &&
            (flags.cleared === undefined || a.cleared === flags.cleared) &&
            (flags.acknowledged === undefined || a.acknowledged === flags.acknowledged) &&
            (q.severities === undefined || q.severities.includes(a.severity)) &&
            (q.from === undefined || a.startTs >= q.from) &&
            (q.to === undefined || a.startTs <= q.to),
        )
        // Newest start first; of one start the last stored first (as SQLite's rowid DESC).
        .reverse()
        .sort((a, b) => b.startTs - a.startTs);
      return { items: all.slice(q.offset, q.offset + q.limit).map(out), total: all.length };
    },
    counts: async (q) => {
      o.live();
      const c: AlarmCounts = {
        active: Object.fromEntries(alarmSeverities.map((s) => [s, 0])) as AlarmCounts['active'],
        activeTotal: 0,
        unacknowledged: 0,
        activeUnacknowledged: 0,
      };
      for (const a of rows.values()) {
        if (a.tenantId !== q.tenantId || (q.deviceId !== undefined && a.deviceId !== q.deviceId)) continue;
        if (!a.cleared) {
          c.active[a.severity]++;
          c.activeTotal++;
        }
        if (!a.acknowledged) c.unacknowledged++;
        if (!a.acknowledged && !a.cleared) c.activeUnacknowledged++;
      }
      return c;
    },
    update: async (id, patch, expect) => {
      o.live();
      const a = rows.get(id);
      if (!a) return false;
      if ((expect.cleared !== undefined && a.cleared !== expect.cleared) || (expect.acknowledged !== undefined && a.acknowledged !== expect.acknowledged))
        return false;
      const next: Alarm = {
        ...a,
        ...(copy(Object.fromEntries((Object.entries(patch) as [string, unknown][]).filter(([, v]) => v !== undefined))) as AlarmPatch),
      };
      if (!next.cleared && [...rows.values()].some((x) => x.id !== id && x.deviceId === a.deviceId && x.type === a.type && !x.cleared))
        throw new ThingsteadError('CONFLICT');
      rows.set(id, next);
      return true;
    },
    delete: async (id) => {
      o.live();
      comments.delete(id);
      return rows.delete(id);
    },
    addComment: async (c) => {
      o.live();
      if (!rows.has(c.alarmId)) return;
      const list = comments.get(c.alarmId) ?? [];
      if (list.some((x) => x.id === c.id)) throw new ThingsteadError('CONFLICT');
      list.push(copy(c));
      comments.set(c.alarmId, list);
    },
    comments: async (alarmId, page) => {
      o.live();
      const all = [...(comments.get(alarmId) ?? [])].sort((a, b) => a.createdAt - b.createdAt);
      return { items: all.slice(page.offset, page.offset + page.limit).map(copy), total: all.length };
    },
    forget: (deviceId) => {
      for (const [id, a] of rows)
        if (a.deviceId === deviceId) {
          rows.delete(id);
          comments.delete(id);
        }
    },
  };
}

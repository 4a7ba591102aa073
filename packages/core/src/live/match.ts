import type { AttributeEvent } from '../attributes/model';
import type { CommittedMessage, ConnectivityEvent } from '../bus';
import type { TimedValue } from '../telemetry/model';
import type { ActiveSubscription } from './live-session';
import type { LiveMessage } from './model';

/** What a filter is matched against: the device's name and profile. */
export interface DeviceInfo {
  tenantId: string;
  profileId: string;
  name: string;
}

/** True when the subscription's filter looks at more than the tenant, so the device's record is needed. */
export const needsDeviceInfo = (s: ActiveSubscription): boolean =>
  s.filter !== undefined && (s.filter.profileId !== undefined || s.filter.namePrefix !== undefined);

/** Whether an event of deviceId (already of the subscription's tenant) is the subscription's. */
export function targetMatches(s: ActiveSubscription, deviceId: string, info: DeviceInfo | undefined): boolean {
  if (s.deviceId !== undefined) return s.deviceId === deviceId;
  const f = s.filter;
  if (f === undefined) return false;
  if (!needsDeviceInfo(s)) return true;
  if (info === undefined) return false;
  return (f.profileId === undefined || info.profileId === f.profileId) && (f.namePrefix === undefined || info.name.startsWith(f.namePrefix));
}

/**
 * The merge key of a conflatable update (outbox.ts): one per subscription, device and, for attributes, scope.
 * The parts are joined with a character no id contains.
 */
export function conflationKey(msg: LiveMessage): string | undefined {
  switch (msg.type) {
    case 'telemetry':
    case 'connectivity':
      return `${msg.type}\u0000${msg.id}\u0000${msg.deviceId}`;
    case 'attributes':
      return `${msg.type}\u0000${msg.id}\u0000${msg.deviceId}\u0000${msg.scope}`;
    default:
      return undefined;
  }
}

const wanted = (s: ActiveSubscription, key: string): boolean => s.keys === undefined || s.keys.has(key);

/** A latest-telemetry update: each key's newest value in the committed message. */
export function telemetryUpdate(s: ActiveSubscription, m: CommittedMessage): LiveMessage | undefined {
  const values: Record<string, TimedValue> = {};
  let any = false;
  for (const p of m.points) {
    if (!wanted(s, p.key)) continue;
    const old = values[p.key];
    if (old === undefined || p.ts >= old.ts) values[p.key] = { ts: p.ts, value: p.value };
    any = true;
  }
  return any ? { type: 'telemetry', id: s.req.id, deviceId: m.deviceId, values } : undefined;
}

/** A series update: every value of the message at or after the subscription's start, in commit order. */
export function seriesUpdate(s: ActiveSubscription, m: CommittedMessage): LiveMessage | undefined {
  if (s.req.kind !== 'series') return undefined;
  const from = s.req.from;
  const data: Record<string, TimedValue[]> = {};
  let any = false;
  for (const p of m.points) {
    if (p.ts < from || !wanted(s, p.key)) continue;
    (data[p.key] ??= []).push({ ts: p.ts, value: p.value });
    any = true;
  }
  return any ? { type: 'series', id: s.req.id, deviceId: m.deviceId, history: false, data } : undefined;
}

export function attributesUpdate(s: ActiveSubscription, e: AttributeEvent): LiveMessage | undefined {
  if (s.scope !== undefined && s.scope !== e.scope) return undefined;
  const updated: Record<string, { value: AttributeEvent['updated'][string]; updatedAt: number }> = {};
  let any = false;
  for (const [k, value] of Object.entries(e.updated))
    if (wanted(s, k)) {
      updated[k] = { value, updatedAt: e.updatedAt };
      any = true;
    }
  const deleted = e.deleted.filter((k) => wanted(s, k));
  if (!any && deleted.length === 0) return undefined;
  return { type: 'attributes', id: s.req.id, deviceId: e.deviceId, scope: e.scope, updated, deleted, version: e.version };
}

export function connectivityUpdate(s: ActiveSubscription, e: ConnectivityEvent): LiveMessage {
  return { type: 'connectivity', id: s.req.id, deviceId: e.deviceId, change: e.change, at: e.at, connected: e.connected, active: e.active };
}

import type { AlarmEvent } from '../alarms/model';
import { fail } from '../errors';
import type { Store } from '../store';
import type { ActiveSubscription } from './live-session';
import { needsDeviceInfo, targetMatches, type DeviceInfo } from './match';
import type { LiveMessage } from './model';

/** Active alarms an alarms subscription sends when it starts; more is refused (name a device, severities or types). */
export const maxSnapshotAlarms = 10_000;
/** Alarms per `alarms` message of the snapshot. */
const snapshotChunk = 100;

/** Whether an alarm of this type and severity (or of the severity before its change) is the subscription's. */
function wanted(s: ActiveSubscription, e: Pick<AlarmEvent, 'type' | 'severity' | 'previousSeverity'>): boolean {
  if (s.types !== undefined && !s.types.has(e.type)) return false;
  if (s.severities === undefined) return true;
  // One that moved out of the severities is sent too, so a client showing it learns of the change.
  return s.severities.has(e.severity) || (e.previousSeverity !== undefined && s.severities.has(e.previousSeverity));
}

/** The live message of an `alarm` bus event (of a device the subscription targets), or undefined when filtered out. */
export function alarmUpdate(s: ActiveSubscription, e: AlarmEvent): LiveMessage | undefined {
  if (s.req.kind !== 'alarms' || !wanted(s, e)) return undefined;
  return { type: 'alarm', id: s.req.id, deviceId: e.deviceId, change: e.change, alarm: e.alarm };
}

/**
 * Sends the alarms active now of the subscription's device or filter, in chunks (the last with more: false), and
 * answers the seam: live changes held meanwhile that the snapshot already shows are dropped (the same alarm, as
 * it was read, or older).
 */
export async function loadAlarms(
  store: Store,
  sub: ActiveSubscription,
  deviceInfo: (deviceId: string) => Promise<DeviceInfo | undefined>,
): Promise<(m: LiveMessage) => LiveMessage | undefined> {
  const { req, session } = sub;
  const types = sub.types ? [...sub.types] : undefined;
  const page = await store.alarms.list({
    tenantId: sub.tenantId,
    deviceId: sub.deviceId,
    status: 'ACTIVE',
    severities: sub.severities ? [...sub.severities] : undefined,
    type: types?.length === 1 ? types[0] : undefined,
    limit: maxSnapshotAlarms,
    offset: 0,
  });
  // Checked before the filters applied here (several types, a profile or name prefix): the read must be complete.
  if (page.total > maxSnapshotAlarms)
    fail('LIMIT_REACHED', `More than ${maxSnapshotAlarms} alarms are active for this subscription; name a device, severities or types.`, { field: 'target' });
  const alarms = [];
  for (const a of page.items) {
    if (!wanted(sub, a)) continue;
    if (sub.deviceId === undefined && needsDeviceInfo(sub) && !targetMatches(sub, a.deviceId, await deviceInfo(a.deviceId))) continue;
    alarms.push(a);
  }
  for (let i = 0; i === 0 || i < alarms.length; i += snapshotChunk)
    session.send({ type: 'alarms', id: req.id, alarms: alarms.slice(i, i + snapshotChunk), more: i + snapshotChunk < alarms.length });
  const sent = new Map(alarms.map((a) => [a.id, { updatedAt: a.updatedAt, json: canonical(a) }]));
  return (m) => {
    if (m.type !== 'alarm') return m;
    const snap = sent.get(m.alarm.id);
    if (snap === undefined) return m;
    return m.alarm.updatedAt < snap.updatedAt || canonical(m.alarm) === snap.json ? undefined : m;
  };
}

/** An alarm's JSON with its fields in one order (the store and the service build them in different orders). */
const canonical = (a: object): string => JSON.stringify(Object.fromEntries(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1))));

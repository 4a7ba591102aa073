import { requireReadable, targetTenant } from '../access';
import { attributeScopes } from '../attributes/model';
import { fail } from '../errors';
import type { Store } from '../store';
import type { TimedValue } from '../telemetry/model';
import { loadAlarms } from './alarms';
import type { ActiveSubscription, LiveSession } from './live-session';
import type { DeviceInfo } from './match';
import type { LiveLimits, LiveMessage, SubscriptionRequest } from './model';

/** Values of one key sent per history message. */
const historyChunk = 1000;

/**
 * Checks a request as REST would (the device or tenant must be readable by the session's principal, else "not
 * found") and resolves it into a subscription, not yet registered.
 */
export async function resolveSubscription(store: Store, session: LiveSession, req: SubscriptionRequest, limits: LiveLimits): Promise<ActiveSubscription> {
  const p = session.principal;
  if (session.subscriptions.has(req.id)) fail('VALIDATION', `A subscription with id ${req.id} exists already in this session.`, { field: 'id' });
  if (session.subscriptions.size >= limits.maxSubscriptionsPerSession)
    fail('LIMIT_REACHED', `A session may hold ${limits.maxSubscriptionsPerSession} subscriptions; unsubscribe from some first.`);
  const keys = 'keys' in req && req.keys !== undefined && req.keys.length > 0 ? new Set(req.keys) : undefined;
  const deviceId = req.kind === 'series' ? req.deviceId : 'deviceId' in req.target ? req.target.deviceId : undefined;
  const base = { req, session, pending: undefined as LiveMessage[] | undefined, seam: undefined, ...(keys ? { keys } : {}) };
  const scope = {
    ...(req.kind === 'attributes' && req.scope !== undefined ? { scope: req.scope } : {}),
    ...(req.kind === 'alarms' && req.severities !== undefined && req.severities.length > 0 ? { severities: new Set(req.severities) } : {}),
    ...(req.kind === 'alarms' && req.types !== undefined && req.types.length > 0 ? { types: new Set(req.types) } : {}),
  };
  if (deviceId !== undefined) {
    const device = requireReadable(p, await store.devices.get(deviceId), 'Device');
    // Live updates are held while the current values or the history are read (LiveService.subscribe).
    const loads = req.kind === 'series' || req.kind === 'telemetry' || req.kind === 'attributes' || req.kind === 'alarms';
    return { ...base, ...scope, tenantId: device.tenantId, deviceId, pending: loads ? [] : undefined };
  }
  if (req.kind === 'series' || !('filter' in req.target)) return fail('VALIDATION', 'Name a deviceId or a filter.', { field: 'target' });
  const f = req.target.filter;
  const tenantId = targetTenant(p, f.tenantId);
  if (f.profileId !== undefined) {
    const profile = requireReadable(p, await store.profiles.get(f.profileId), 'Device profile');
    if (profile.tenantId !== tenantId) fail('NOT_FOUND', 'Device profile not found.');
  }
  const filter = {
    tenantId,
    ...(f.profileId === undefined ? {} : { profileId: f.profileId }),
    ...(f.namePrefix === undefined ? {} : { namePrefix: f.namePrefix }),
  };
  // An alarms subscription sends the active alarms of its filter first, so it loads too.
  return { ...base, ...scope, tenantId, filter, pending: req.kind === 'alarms' ? [] : undefined };
}

/** Drops from a live update what the snapshot or history sent already. */
export type Seam = (m: LiveMessage) => LiveMessage | undefined;

/**
 * Sends a one-device subscription's current state (latest telemetry, attributes), history (series) or the active
 * alarms (of a device or a filter: alarms.ts), and answers
 * the seam: the filter for live updates that arrived meanwhile. The subscription was registered before the
 * read, so every value committed after it started reading arrives live; one committed before is in what was read
 * (and may also arrive live, its bus event being later than the commit): the seam drops exactly those.
 */
export async function loadSubscription(
  store: Store,
  sub: ActiveSubscription,
  limits: LiveLimits,
  deviceInfo: (deviceId: string) => Promise<DeviceInfo | undefined>,
): Promise<Seam | undefined> {
  const { req, deviceId, session } = sub;
  if (req.kind === 'alarms') return loadAlarms(store, sub, deviceInfo);
  if (deviceId === undefined) return undefined;
  const keyList = sub.keys ? [...sub.keys] : undefined;
  if (req.kind === 'telemetry') {
    const latest = await store.telemetry.latest(deviceId, keyList);
    if (Object.keys(latest).length > 0) session.send({ type: 'telemetry', id: req.id, deviceId, values: latest });
    return (m) => {
      if (m.type !== 'telemetry') return m;
      const values = Object.fromEntries(Object.entries(m.values).filter(([k, v]) => !sentAlready(latest[k], v)));
      return Object.keys(values).length > 0 ? { ...m, values } : undefined;
    };
  }
  if (req.kind === 'attributes') {
    const state = await store.attributes.read(deviceId);
    for (const scope of sub.scope === undefined ? attributeScopes : [sub.scope]) {
      const updated = Object.fromEntries(Object.entries(state[scope]).filter(([k]) => sub.keys === undefined || sub.keys.has(k)));
      if (Object.keys(updated).length > 0) session.send({ type: 'attributes', id: req.id, deviceId, scope, updated, deleted: [], version: state.version });
    }
    // The version orders a device's attribute writes: one at or below the one read is in the snapshot.
    return (m) => (m.type === 'attributes' && m.version <= state.version ? undefined : m);
  }
  if (req.kind !== 'series') return undefined;
  const keys = keyList ?? (await store.telemetry.keys(deviceId));
  const history = new Map<string, Map<number, string>>();
  let points = 0;
  for (const key of keys) {
    const values = (
      await store.telemetry.query({ deviceId, keys: [key], from: req.from, to: Number.MAX_SAFE_INTEGER, limit: limits.maxHistoryPoints + 1, order: 'asc' })
    )[key];
    if (!values || values.length === 0) continue;
    if (values.length > limits.maxHistoryPoints)
      fail('LIMIT_REACHED', `Key ${key} has more than ${limits.maxHistoryPoints} values since ${req.from}; choose a later start (from).`, { field: 'from' });
    history.set(key, new Map(values.map((v) => [v.ts, JSON.stringify(v.value)])));
    points += values.length;
    for (let i = 0; i < values.length; i += historyChunk)
      session.send({ type: 'series', id: req.id, deviceId, history: true, data: { [key]: values.slice(i, i + historyChunk) } });
  }
  session.send({ type: 'history.end', id: req.id, deviceId, points });
  return (m) => {
    if (m.type !== 'series') return m;
    const data: Record<string, TimedValue[]> = {};
    let any = false;
    for (const [k, vs] of Object.entries(m.data)) {
      const seen = history.get(k);
      const fresh = seen ? vs.filter((v) => seen.get(v.ts) !== JSON.stringify(v.value)) : vs;
      if (fresh.length > 0) {
        data[k] = fresh;
        any = true;
      }
    }
    return any ? { ...m, data } : undefined;
  };
}

/** A live value the snapshot covers: older than the latest sent, or the same value at the same ts. */
function sentAlready(snap: TimedValue | undefined, v: TimedValue): boolean {
  if (snap === undefined) return false;
  return v.ts < snap.ts || (v.ts === snap.ts && JSON.stringify(v.value) === JSON.stringify(snap.value));
}

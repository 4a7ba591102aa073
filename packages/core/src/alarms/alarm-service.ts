import { randomUUID } from 'node:crypto';
import { requireReadable, requireWritable, targetTenant } from '../access';
import type { Principal } from '../accounts/model';
import type { EventBus } from '../bus';
import type { Clock } from '../clock';
import { fail, isThingsteadError } from '../errors';
import { maxPageLimit, maxPageOffset } from '../paging';
import type { Page, Store } from '../store';
import { cleanName, jsonObject, wellFormed } from '../validate';
import {
  alarmSeverities,
  alarmStatus,
  alarmStatusFilters,
  defaultAlarmLimits,
  severityRank,
  type Alarm,
  type AlarmChange,
  type AlarmComment,
  type AlarmCounts,
  type AlarmLimits,
  type AlarmSeverity,
  type AlarmStatusFilter,
  type AlarmListInput,
  type ClearInput,
  type RaiseChange,
  type RaiseInput,
} from './model';

export interface AlarmServiceOptions {
  store: Store;
  clock: Clock;
  bus: EventBus;
  limits?: Partial<AlarmLimits>;
}

/**
 * Alarms: raised and cleared by rules (raise, clear), acknowledged, cleared, commented and deleted by people
 * with tenant and role checks (viewers read). A device has at most one alarm of a type that is not cleared:
 * raise and clear of one (device, type) run one after another here (a promise chain per key), and the store's
 * guarded writes keep that rule between nodes. Every change is an `alarm` bus event.
 */
export class AlarmService {
  private readonly limits: AlarmLimits;
  /** The tail of the work queued per (device, type); removed when it ends. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly o: AlarmServiceOptions) {
    this.limits = { ...defaultAlarmLimits, ...o.limits };
  }

  /** Creates the device's alarm of this type, or extends the one that is not cleared (endTs, details, severity). */
  async raise(i: RaiseInput): Promise<{ alarm: Alarm; change: RaiseChange }> {
    const type = this.type(i.type);
    if (!(alarmSeverities as readonly string[]).includes(i.severity))
      fail('VALIDATION', `severity must be one of ${alarmSeverities.join(', ')}.`, { field: 'severity' });
    const at = this.at(i.at);
    const details = jsonObject(i.details ?? {}, 'details', this.limits.maxDetailsBytes);
    return this.serial(i.deviceId, type, async () => {
      const device = await this.device(i.tenantId, i.deviceId);
      // A second node may insert or clear between our read and write: the store refuses, and we look again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const now = this.o.clock.now();
        const current = await this.o.store.alarms.findActive(device, type);
        if (!current) {
          const alarm: Alarm = {
            id: randomUUID(),
            tenantId: i.tenantId,
            deviceId: device,
            type,
            severity: i.severity,
            acknowledged: false,
            cleared: false,
            status: 'ACTIVE_UNACK',
            startTs: at,
            endTs: at,
            ackTs: null,
            clearTs: null,
            createdAt: now,
            updatedAt: now,
            details,
            ruleId: i.ruleId ?? null,
            ackBy: null,
            clearedBy: null,
          };
          try {
            await this.o.store.alarms.insert(alarm);
          } catch (e) {
            if (isThingsteadError(e) && e.kind === 'CONFLICT') continue;
            throw e;
          }
          const stored = await this.o.store.alarms.get(alarm.id);
          if (!stored) fail('NOT_FOUND', 'Device not found.'); // deleted meanwhile
          await this.publish(stored, 'created');
          return { alarm: stored, change: 'created' };
        }
        const rank = severityRank[i.severity] - severityRank[current.severity];
        const change: RaiseChange = rank > 0 ? 'escalated' : rank < 0 ? 'deescalated' : 'updated';
        const patch = { endTs: Math.max(current.endTs, at), details, severity: i.severity, updatedAt: now };
        if (!(await this.o.store.alarms.update(current.id, patch, { cleared: false }))) continue;
        const alarm = await this.reread({ ...current, ...patch });
        if (change !== 'updated')
          await this.systemComment(alarm, `Severity ${change === 'escalated' ? 'escalated' : 'lowered'} from ${current.severity} to ${i.severity}.`);
        await this.publish(alarm, change, change === 'updated' ? undefined : current.severity);
        return { alarm, change };
      }
      return fail('UNAVAILABLE', `The alarm ${type} of this device kept changing under the raise; try again.`);
    });
  }

  /** Clears the device's alarm of this type that is not cleared; undefined when there is none. */
  async clear(i: ClearInput): Promise<Alarm | undefined> {
    const type = this.type(i.type);
    const at = this.at(i.at);
    const details = i.details === undefined ? undefined : jsonObject(i.details, 'details', this.limits.maxDetailsBytes);
    return this.serial(i.deviceId, type, async () => {
      const device = await this.device(i.tenantId, i.deviceId);
      const current = await this.o.store.alarms.findActive(device, type);
      if (!current) return undefined;
      const by = i.ruleId === undefined ? null : `rule:${i.ruleId}`;
      return this.markCleared(current, at, by, details);
    });
  }

  async get(p: Principal, id: string): Promise<Alarm> {
    return requireReadable(p, await this.o.store.alarms.get(id), 'Alarm');
  }

  /** Newest start first, with the total. */
  async list(p: Principal, input: AlarmListInput): Promise<Page<Alarm>> {
    let tenantId = targetTenant(p, input.tenantId);
    if (input.deviceId !== undefined) {
      const device = requireReadable(p, await this.o.store.devices.get(input.deviceId), 'Device');
      if (input.tenantId !== undefined && device.tenantId !== tenantId) fail('NOT_FOUND', 'Device not found.');
      tenantId = device.tenantId;
    }
    const limit = input.limit ?? 50;
    const offset = input.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > maxPageLimit)
      fail('VALIDATION', `limit must be an integer from 1 to ${maxPageLimit}.`, { field: 'limit' });
    if (!Number.isInteger(offset) || offset < 0 || offset > maxPageOffset)
      fail('VALIDATION', `offset must be an integer from 0 to ${maxPageOffset}.`, { field: 'offset' });
    const status = input.status;
    if (status !== undefined && !(alarmStatusFilters as readonly string[]).includes(status))
      fail('VALIDATION', `status must be one of ${alarmStatusFilters.join(', ')}.`, { field: 'status' });
    const severities = this.severities(input.severity);
    for (const f of ['from', 'to'] as const) {
      const v = input[f];
      if (v !== undefined && !Number.isSafeInteger(v)) fail('VALIDATION', `${f} must be an integer (ms since 1970).`, { field: f });
    }
    const page = await this.o.store.alarms.list({
      tenantId,
      deviceId: input.deviceId,
      type: input.type === undefined ? undefined : this.type(input.type),
      status: status as AlarmStatusFilter | undefined,
      severities,
      from: input.from,
      to: input.to,
      limit,
      offset,
    });
    return { ...page, limit, offset };
  }

  /** Active alarms per severity and the unacknowledged, of a tenant or of one device. */
  async counts(p: Principal, q: { tenantId?: string | undefined; deviceId?: string | undefined }): Promise<AlarmCounts> {
    if (q.deviceId === undefined) return this.o.store.alarms.counts({ tenantId: targetTenant(p, q.tenantId) });
    const device = requireReadable(p, await this.o.store.devices.get(q.deviceId), 'Device');
    return this.o.store.alarms.counts({ tenantId: device.tenantId, deviceId: device.id });
  }

  /** Acknowledges the alarm; an acknowledged one is answered as it is. */
  async acknowledge(p: Principal, id: string): Promise<Alarm> {
    const a = requireWritable(p, await this.o.store.alarms.get(id), 'Alarm');
    if (a.acknowledged) return a;
    const now = this.o.clock.now();
    const patch = { acknowledged: true, ackTs: now, ackBy: p.userId, updatedAt: now };
    if (!(await this.o.store.alarms.update(a.id, patch, { acknowledged: false }))) return this.get(p, id);
    const alarm = await this.reread({ ...a, ...patch });
    await this.systemComment(alarm, `Acknowledged by user ${p.userId}.`);
    await this.publish(alarm, 'acknowledged');
    return alarm;
  }

  /** Clears the alarm as a person; a cleared one is answered as it is. */
  async clearByUser(p: Principal, id: string): Promise<Alarm> {
    const a = requireWritable(p, await this.o.store.alarms.get(id), 'Alarm');
    if (a.cleared) return a;
    return this.serial(a.deviceId, a.type, async () => {
      // Read again in turn: a raise queued before this may have extended it.
      const current = await this.get(p, id);
      if (current.cleared) return current;
      return (await this.markCleared(current, this.o.clock.now(), p.userId, undefined)) ?? this.get(p, id);
    });
  }

  async addComment(p: Principal, id: string, text: string): Promise<AlarmComment> {
    const a = requireWritable(p, await this.o.store.alarms.get(id), 'Alarm');
    const t = wellFormed(text, 'text');
    if (t.trim().length === 0 || t.length > this.limits.maxCommentLength)
      fail('VALIDATION', `text must be 1 to ${this.limits.maxCommentLength} characters, not only spaces.`, { field: 'text' });
    const c: AlarmComment = { id: randomUUID(), alarmId: a.id, tenantId: a.tenantId, userId: p.userId, text: t, createdAt: this.o.clock.now() };
    await this.o.store.alarms.addComment(c);
    return c;
  }

  /** An alarm's comments, oldest first. */
  async comments(p: Principal, id: string, page: { limit?: number | undefined; offset?: number | undefined } = {}): Promise<Page<AlarmComment>> {
    const a = requireReadable(p, await this.o.store.alarms.get(id), 'Alarm');
    const limit = page.limit ?? 100;
    const offset = page.offset ?? 0;
    return { ...(await this.o.store.alarms.comments(a.id, { limit, offset })), limit, offset };
  }

  /** Deletes the alarm and its comments (tenant administrators). */
  async delete(p: Principal, id: string): Promise<void> {
    const a = requireWritable(p, await this.o.store.alarms.get(id), 'Alarm');
    if (await this.o.store.alarms.delete(a.id)) await this.publish(a, 'deleted');
  }

  private async markCleared(a: Alarm, at: number, by: string | null, details: Record<string, unknown> | undefined): Promise<Alarm | undefined> {
    const now = this.o.clock.now();
    const patch = { cleared: true, clearTs: at, clearedBy: by, updatedAt: now, ...(details === undefined ? {} : { details }) };
    if (!(await this.o.store.alarms.update(a.id, patch, { cleared: false }))) return undefined;
    const alarm = await this.reread({ ...a, ...patch });
    await this.systemComment(alarm, by === null ? 'Cleared.' : by.startsWith('rule:') ? `Cleared by ${by}.` : `Cleared by user ${by}.`);
    await this.publish(alarm, 'cleared');
    return alarm;
  }

  /** Runs fn after everything queued for the same device and type. */
  private serial<T>(deviceId: string, type: string, fn: () => Promise<T>): Promise<T> {
    const key = `${deviceId}\u0000${type}`;
    const run = (this.chains.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  /** The device's id, when it exists and is of the tenant (a rule names both). */
  private async device(tenantId: string, deviceId: string): Promise<string> {
    const d = await this.o.store.devices.get(deviceId);
    if (!d || d.tenantId !== tenantId) fail('NOT_FOUND', 'Device not found.');
    return d.id;
  }

  private type(t: string): string {
    if (typeof t !== 'string') fail('VALIDATION', 'type must be a string.', { field: 'type' });
    return cleanName(t, 'type', this.limits.maxTypeLength);
  }

  private at(at: number): number {
    if (!Number.isSafeInteger(at) || at < 0) fail('VALIDATION', 'at must be an integer (ms since 1970).', { field: 'at' });
    return at;
  }

  private severities(s: string | readonly string[] | undefined): AlarmSeverity[] | undefined {
    if (s === undefined) return undefined;
    const list = (typeof s === 'string' ? s.split(',') : s).map((x) => x.trim()).filter((x) => x !== '');
    for (const x of list)
      if (!(alarmSeverities as readonly string[]).includes(x))
        fail('VALIDATION', `severity must be one or more of ${alarmSeverities.join(', ')}.`, { field: 'severity' });
    return list.length === 0 ? undefined : (list as AlarmSeverity[]);
  }

  /** The alarm as stored after a change (another change may have come between: the event carries what is stored). */
  private async reread(changed: Alarm): Promise<Alarm> {
    return (await this.o.store.alarms.get(changed.id)) ?? this.withStatus(changed);
  }

  private withStatus(a: Alarm): Alarm {
    return { ...a, status: alarmStatus(a) };
  }

  private async systemComment(a: Alarm, text: string): Promise<void> {
    await this.o.store.alarms.addComment({ id: randomUUID(), alarmId: a.id, tenantId: a.tenantId, userId: null, text, createdAt: this.o.clock.now() });
  }

  private publish(a: Alarm, change: AlarmChange, previousSeverity?: AlarmSeverity): Promise<void> {
    const alarm = this.withStatus(a);
    return this.o.bus.publish('alarm', {
      tenantId: alarm.tenantId,
      deviceId: alarm.deviceId,
      alarmId: alarm.id,
      type: alarm.type,
      severity: alarm.severity,
      change,
      at: this.o.clock.now(),
      alarm,
      ...(previousSeverity === undefined ? {} : { previousSeverity }),
    });
  }
}

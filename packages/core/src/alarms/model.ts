/**
 * Alarms (docs/reference/alarms.md): a condition of one device that someone should see, raised and cleared by
 * rules, acknowledged and cleared by people. Per device and type at most one alarm is not cleared: raising it
 * again extends that one (ThingsBoard's model, whose severity and status names these are).
 */

/** Most severe first. */
export const alarmSeverities = ['CRITICAL', 'MAJOR', 'MINOR', 'WARNING', 'INDETERMINATE'] as const;
export type AlarmSeverity = (typeof alarmSeverities)[number];

/** Higher is more severe: CRITICAL 4 ... INDETERMINATE 0. */
export const severityRank: Readonly<Record<AlarmSeverity, number>> = { CRITICAL: 4, MAJOR: 3, MINOR: 2, WARNING: 1, INDETERMINATE: 0 };

export const alarmStatuses = ['ACTIVE_UNACK', 'ACTIVE_ACK', 'CLEARED_UNACK', 'CLEARED_ACK'] as const;
export type AlarmStatus = (typeof alarmStatuses)[number];

/** A list filter: one status, or all active (not cleared), all cleared, all unacknowledged. */
export const alarmStatusFilters = [...alarmStatuses, 'ACTIVE', 'CLEARED', 'UNACK'] as const;
export type AlarmStatusFilter = (typeof alarmStatusFilters)[number];

export function alarmStatus(a: { acknowledged: boolean; cleared: boolean }): AlarmStatus {
  return `${a.cleared ? 'CLEARED' : 'ACTIVE'}_${a.acknowledged ? 'ACK' : 'UNACK'}`;
}

/** The flags a status filter asks for (undefined: either). */
export function statusFlags(s: AlarmStatusFilter): { cleared?: boolean; acknowledged?: boolean } {
  switch (s) {
    case 'ACTIVE':
      return { cleared: false };
    case 'CLEARED':
      return { cleared: true };
    case 'UNACK':
      return { acknowledged: false };
    case 'ACTIVE_UNACK':
      return { cleared: false, acknowledged: false };
    case 'ACTIVE_ACK':
      return { cleared: false, acknowledged: true };
    case 'CLEARED_UNACK':
      return { cleared: true, acknowledged: false };
    case 'CLEARED_ACK':
      return { cleared: true, acknowledged: true };
  }
}

export interface Alarm {
  id: string;
  tenantId: string;
  deviceId: string;
  /** What is wrong, e.g. "High temperature": with the device, the key of the one alarm that is not cleared. */
  type: string;
  severity: AlarmSeverity;
  acknowledged: boolean;
  cleared: boolean;
  /** Derived from acknowledged and cleared. */
  status: AlarmStatus;
  /** Clock ms of the first raise. */
  startTs: number;
  /** Clock ms of the latest raise. */
  endTs: number;
  ackTs: number | null;
  clearTs: number | null;
  createdAt: number;
  updatedAt: number;
  /** What the latest raise (or the clear) said, e.g. the value that crossed the threshold. */
  details: Record<string, unknown>;
  /** The rule that raised it; null when raised otherwise. */
  ruleId: string | null;
  /** Who acknowledged / cleared it: a user id, or 'rule:<id>' (null: not yet, or the platform itself). */
  ackBy: string | null;
  clearedBy: string | null;
}

export interface AlarmComment {
  id: string;
  alarmId: string;
  tenantId: string;
  /** null: written by the platform (severity changed, acknowledged, cleared). */
  userId: string | null;
  text: string;
  createdAt: number;
}

export interface AlarmLimits {
  maxTypeLength: number;
  /** Bytes of JSON of an alarm's details. */
  maxDetailsBytes: number;
  maxCommentLength: number;
}

export const defaultAlarmLimits: AlarmLimits = { maxTypeLength: 128, maxDetailsBytes: 16_384, maxCommentLength: 4096 };

/** A list query of the store: newest start first (of one start: the last stored first). */
export interface AlarmQuery {
  tenantId: string;
  deviceId?: string | undefined;
  type?: string | undefined;
  status?: AlarmStatusFilter | undefined;
  /** Any of these severities; all when absent. */
  severities?: readonly AlarmSeverity[] | undefined;
  /** startTs at or after from, at or before to. */
  from?: number | undefined;
  to?: number | undefined;
  limit: number;
  offset: number;
}

export interface AlarmCounts {
  /** Alarms not cleared, per severity. */
  active: Record<AlarmSeverity, number>;
  /** Alarms not cleared. */
  activeTotal: number;
  /** Alarms not acknowledged, cleared or not (what still wants a person's look). */
  unacknowledged: number;
  /** Alarms neither cleared nor acknowledged. */
  activeUnacknowledged: number;
}

export type AlarmPatch = Partial<
  Pick<Alarm, 'severity' | 'acknowledged' | 'cleared' | 'endTs' | 'ackTs' | 'clearTs' | 'updatedAt' | 'details' | 'ackBy' | 'clearedBy'>
>;

/** The alarms of the store. Alarms and their comments go with their device (and so with its tenant). */
export interface AlarmRepo {
  /**
   * Stores a new alarm; rejects with CONFLICT when the device has an alarm of this type that is not cleared
   * (whoever checked first: the one-active rule holds across nodes). An alarm of a device that is gone is not stored.
   */
  insert(a: Alarm): Promise<void>;
  get(id: string): Promise<Alarm | undefined>;
  /** The device's alarm of this type that is not cleared, if any. */
  findActive(deviceId: string, type: string): Promise<Alarm | undefined>;
  list(q: AlarmQuery): Promise<{ items: Alarm[]; total: number }>;
  counts(q: { tenantId: string; deviceId?: string | undefined }): Promise<AlarmCounts>;
  /**
   * Applies the patch only while the alarm's flags are as `expect` says (atomically); true when it did. The
   * guard makes a clear and a repeated raise, or two acknowledgements, of two nodes exclusive.
   */
  update(id: string, patch: AlarmPatch, expect: { cleared?: boolean; acknowledged?: boolean }): Promise<boolean>;
  /** Deletes the alarm and its comments; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** Stores a comment; one of an alarm that is gone is not stored. */
  addComment(c: AlarmComment): Promise<void>;
  /** An alarm's comments, oldest first (of one time: as stored), with the total. */
  comments(alarmId: string, page: { limit: number; offset: number }): Promise<{ items: AlarmComment[]; total: number }>;
}

/** What changed: a repeated raise extends (updated) or changes the severity (escalated, deescalated). */
export type AlarmChange = 'created' | 'updated' | 'escalated' | 'deescalated' | 'acknowledged' | 'cleared' | 'deleted';

/** The `alarm` bus event: every change of an alarm, with the alarm after it (before it, for deleted). */
export interface AlarmEvent {
  tenantId: string;
  deviceId: string;
  alarmId: string;
  type: string;
  severity: AlarmSeverity;
  change: AlarmChange;
  /** Clock ms of the change. */
  at: number;
  alarm: Alarm;
  /** escalated, deescalated: the severity before (a live subscription filtering by severity needs it). */
  previousSeverity?: AlarmSeverity;
}

/** What a rule (or anything inside the platform) raises. */
export interface RaiseInput {
  tenantId: string;
  deviceId: string;
  type: string;
  severity: AlarmSeverity;
  /** Clock ms of the condition (e.g. the telemetry's ts). */
  at: number;
  details?: Record<string, unknown>;
  ruleId?: string;
}

export interface ClearInput {
  tenantId: string;
  deviceId: string;
  type: string;
  at: number;
  details?: Record<string, unknown>;
  ruleId?: string;
}

export type RaiseChange = Extract<AlarmChange, 'created' | 'updated' | 'escalated' | 'deescalated'>;

/** A user's list query (GET /api/alarms, GET /api/devices/{id}/alarms). */
export interface AlarmListInput {
  tenantId?: string | undefined;
  deviceId?: string | undefined;
  type?: string | undefined;
  status?: string | undefined;
  severity?: string | readonly string[] | undefined;
  from?: number | undefined;
  to?: number | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

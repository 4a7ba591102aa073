import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Id, Ms, Obj } from './common';
import { maxOffset } from './paging';

/** Alarms (docs/reference/alarms.md): REST schemas, and the severity list the live API's alarm subscription uses. */
const severities = ['CRITICAL', 'MAJOR', 'MINOR', 'WARNING', 'INDETERMINATE'] as const;
export const AlarmSeverity = Type.Union(
  severities.map((s) => Type.Literal(s)),
  { description: 'Most severe first: CRITICAL, MAJOR, MINOR, WARNING, INDETERMINATE' },
);
const statuses = ['ACTIVE_UNACK', 'ACTIVE_ACK', 'CLEARED_UNACK', 'CLEARED_ACK'] as const;
export const AlarmStatus = Type.Union(
  statuses.map((s) => Type.Literal(s)),
  { description: 'Whether it is cleared and whether it is acknowledged' },
);
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const Alarm = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  deviceId: Type.String(),
  type: Type.String({ description: 'What is wrong, e.g. "High temperature"; a device has at most one alarm of a type that is not cleared.' }),
  severity: AlarmSeverity,
  acknowledged: Type.Boolean(),
  cleared: Type.Boolean(),
  status: AlarmStatus,
  startTs: Type.Integer({ description: 'The first raise (ms).' }),
  endTs: Type.Integer({ description: 'The latest raise (ms).' }),
  ackTs: Nullable(Ms),
  clearTs: Nullable(Ms),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  details: Obj,
  ruleId: Nullable(Type.String({ description: 'The rule that raised it.' })),
  ackBy: Nullable(Type.String({ description: 'The user id that acknowledged it.' })),
  clearedBy: Nullable(Type.String({ description: "A user id, or 'rule:<id>' for a rule; null when cleared by the platform." })),
});
export type Alarm = Static<typeof Alarm>;

export const AlarmComment = Type.Object({
  id: Type.String(),
  alarmId: Type.String(),
  tenantId: Type.String(),
  userId: Type.Union([Type.String(), Type.Null()], { description: 'null: written by the platform (severity changed, acknowledged, cleared).' }),
  text: Type.String(),
  createdAt: Type.Integer(),
});

export const AlarmCommentBody = Type.Object({ text: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false });

const statusFilters = [...statuses, 'ACTIVE', 'CLEARED', 'UNACK'] as const;
const AlarmFilters = {
  type: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Only alarms of this type' })),
  status: Type.Optional(
    Type.Union(
      statusFilters.map((s) => Type.Literal(s)),
      { description: 'One status, or ACTIVE (not cleared), CLEARED, UNACK (not acknowledged)' },
    ),
  ),
  severity: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'One severity or several, comma-separated: CRITICAL,MAJOR' })),
  from: Type.Optional(Type.Integer({ minimum: 0, description: 'Only alarms that started at or after this (ms)' })),
  to: Type.Optional(Type.Integer({ minimum: 0, description: 'Only alarms that started at or before this (ms)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: maxOffset, default: 0 })),
};
/** GET /api/devices/{id}/alarms. */
export const DeviceAlarmQuery = Type.Object(AlarmFilters);
/** GET /api/alarms. */
export const AlarmListQuery = Type.Object({
  ...AlarmFilters,
  deviceId: Type.Optional(Id),
  tenantId: Type.Optional(Type.String({ maxLength: 64, description: 'System admins only: list another tenant' })),
});

export const AlarmCountsQuery = Type.Object({
  deviceId: Type.Optional(Id),
  tenantId: Type.Optional(Type.String({ maxLength: 64, description: 'System admins only: count another tenant' })),
});
export const AlarmCounts = Type.Object({
  active: Type.Object(
    { CRITICAL: Type.Integer(), MAJOR: Type.Integer(), MINOR: Type.Integer(), WARNING: Type.Integer(), INDETERMINATE: Type.Integer() },
    { description: 'Alarms not cleared, per severity' },
  ),
  activeTotal: Type.Integer({ description: 'Alarms not cleared' }),
  unacknowledged: Type.Integer({ description: 'Alarms not acknowledged, cleared or not' }),
  activeUnacknowledged: Type.Integer({ description: 'Alarms neither cleared nor acknowledged' }),
});

export const CommentPageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: maxOffset, default: 0 })),
});

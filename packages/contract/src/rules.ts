import { Type } from '@sinclair/typebox';
import { maxOffset } from './paging';

/**
 * Rules (docs/reference/rules.md). The document's inner parts (trigger, condition, analytics, actions) are
 * checked by core, which names every bad field by its JSON Pointer in details.problems; the schema here keeps
 * the outer shape and documents it.
 */
const irrigation = {
  name: 'Irrigate when dry',
  enabled: true,
  scope: { profileIds: ['<profile id>'] },
  trigger: { type: 'telemetry', keys: ['moisture'] },
  condition: {
    type: 'duration',
    forMs: 120000,
    condition: { type: 'threshold', key: 'moisture', op: '<', valueFrom: 'shared.moistureMin', value: 30, hysteresis: 5 },
  },
  actions: [
    { type: 'rpc', method: 'setPump', params: { on: true } },
    { type: 'rpc', method: 'setPump', params: { on: false }, on: 'fall' },
    { type: 'alarm', alarmType: 'Soil dry', severity: 'WARNING' },
  ],
};

export const RuleBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    enabled: Type.Optional(Type.Boolean({ description: 'Default true.' })),
    scope: Type.Optional(Type.Unknown({ description: '{profileIds?, deviceIds?, filter?}: every device of the tenant when absent.' })),
    trigger: Type.Unknown({ description: 'telemetry, attributes, connectivity, rpc, alarm or schedule (cron with time zone).' }),
    condition: Type.Optional(
      Type.Unknown({
        description: 'expression (JSONata), threshold, duration, repeat, window, nodata, anomaly, forecast, all, any, not. Absent: true on every trigger.',
      }),
    ),
    analytics: Type.Optional(
      Type.Unknown({ description: 'Named analytics (window, ewma, zscore, ewma-anomaly, rate, forecast, until), read as $analytics.<name>.' }),
    ),
    actions: Type.Array(Type.Unknown(), {
      description: 'alarm, clear-alarm, rpc, attributes, telemetry (calculated), notify, republish, webhook; each with on: rise|fall|true|false.',
    }),
  },
  { additionalProperties: true, examples: [irrigation] },
);

export const RuleReply = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  name: Type.String(),
  description: Type.Optional(Type.String()),
  enabled: Type.Boolean(),
  scope: Type.Optional(Type.Unknown()),
  trigger: Type.Unknown(),
  condition: Type.Optional(Type.Unknown()),
  analytics: Type.Optional(Type.Unknown()),
  actions: Type.Array(Type.Unknown()),
  version: Type.Integer({ description: 'Increases with every save; GET /api/rules/{id}/versions has the history.' }),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  disabledReason: Type.Union([Type.String(), Type.Null()], { description: 'Why the engine disabled it (it kept failing).' }),
  stats: Type.Unknown({ description: 'What the engine counted since the rule was loaded (evaluations, errors, actions), null when it does not run.' }),
});

export const RuleListQuery = Type.Object({
  enabled: Type.Optional(Type.Boolean()),
  search: Type.Optional(Type.String({ maxLength: 255 })),
  tenantId: Type.Optional(Type.String({ maxLength: 64, description: 'System admins only' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: maxOffset, default: 0 })),
});

export const RuleUpdateQuery = Type.Object({
  version: Type.Optional(Type.Integer({ minimum: 1, description: 'Refuse (409) unless the stored rule is at this version.' })),
});

export const RuleEnabledBody = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false });

export const RuleVersionReply = Type.Object({
  ruleId: Type.String(),
  version: Type.Integer(),
  document: Type.Unknown(),
  createdAt: Type.Integer(),
  createdBy: Type.String({ description: "A user id, or 'engine' when the engine disabled it." }),
});

export const TraceReply = Type.Object({
  at: Type.Integer(),
  deviceId: Type.String(),
  trigger: Type.String(),
  input: Type.Unknown(),
  analytics: Type.Unknown(),
  result: Type.Union([Type.Boolean(), Type.Null()]),
  change: Type.Union([Type.Literal('rise'), Type.Literal('fall'), Type.Null()]),
  actions: Type.Array(
    Type.Object({
      type: Type.String(),
      index: Type.Integer(),
      detail: Type.Unknown(),
      status: Type.String({ description: 'running, done or failed' }),
      outcome: Type.Optional(Type.String()),
    }),
  ),
  error: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Number(),
});

export const RuleFile = Type.Object(
  {
    format: Type.Literal('thingstead.rules'),
    version: Type.Literal(1),
    exportedAt: Type.Optional(Type.Integer()),
    rules: Type.Array(Type.Unknown(), { maxItems: 1000 }),
  },
  { description: 'The file of GET /api/rules/export.' },
);

export const ImportReply = Type.Object({ created: Type.Integer(), updated: Type.Integer(), unchanged: Type.Integer() });

export const RuleTestBody = Type.Object(
  {
    rule: Type.Optional(Type.Unknown({ description: 'A draft rule document (or give ruleId).' })),
    ruleId: Type.Optional(Type.String({ maxLength: 64 })),
    devices: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000, description: "Default: every device in the rule's scope." })),
    from: Type.Integer({ minimum: 0, description: 'ms since the epoch' }),
    to: Type.Integer({ minimum: 0, description: 'ms since the epoch; at most 31 days after from' }),
    tenantId: Type.Optional(Type.String({ maxLength: 64, description: 'System admins only, for a draft rule' })),
  },
  {
    additionalProperties: false,
    examples: [
      {
        rule: {
          name: 'Hot',
          trigger: { type: 'telemetry', keys: ['temperature'] },
          condition: { type: 'threshold', key: 'temperature', op: '>', value: 30, hysteresis: 2 },
          actions: [{ type: 'alarm', alarmType: 'Overheating', severity: 'MAJOR' }],
        },
        from: 1767225600000,
        to: 1767830400000,
      },
    ],
  },
);

export const RuleTestReply = Type.Object({
  from: Type.Integer(),
  to: Type.Integer(),
  devices: Type.Integer(),
  messages: Type.Integer(),
  points: Type.Integer(),
  evaluations: Type.Integer(),
  durationMs: Type.Integer(),
  pointsPerSecond: Type.Integer(),
  alarms: Type.Array(
    Type.Object({
      deviceId: Type.String(),
      alarmType: Type.String(),
      severity: Type.String(),
      startTs: Type.Integer(),
      endTs: Type.Integer(),
      clearedAt: Type.Union([Type.Integer(), Type.Null()]),
      escalations: Type.Array(Type.Object({ at: Type.Integer(), severity: Type.String() })),
    }),
  ),
  transitions: Type.Array(Type.Object({ at: Type.Integer(), deviceId: Type.String(), result: Type.Boolean() })),
  actions: Type.Array(Type.Object({ at: Type.Integer(), deviceId: Type.String(), type: Type.String(), detail: Type.Unknown() })),
  actionCounts: Type.Record(Type.String(), Type.Integer()),
  errors: Type.Array(Type.Object({ at: Type.Integer(), deviceId: Type.String(), message: Type.String() })),
  truncated: Type.Boolean(),
});

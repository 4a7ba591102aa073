import type { AnalyticSpec } from './analytics';

/**
 * A rule as data (DESIGN.md invariant 10): a JSON document validated by rules/validate-rule.ts, stored with its
 * history, evaluated by the same evaluator live and in replay. docs/reference/rules.md describes every field.
 */
export interface RuleDocument {
  name: string;
  description?: string;
  enabled: boolean;
  /** Which devices it watches: all of the given profiles and devices (both empty or absent: every device of the tenant), narrowed by `filter`. */
  scope?: RuleScope;
  trigger: Trigger;
  /** Absent: true on every trigger. */
  condition?: ConditionSpec;
  /** Named analytics computed on every telemetry message carrying their key; read in expressions as `analytics.<name>`. */
  analytics?: Record<string, AnalyticSpec>;
  actions: ActionSpec[];
}

export interface RuleScope {
  profileIds?: string[];
  deviceIds?: string[];
  /** A JSONata expression over the device ({id, name, label, profileId, metadata}) that must be true. */
  filter?: string;
}

/** Versions kept per rule: a save beyond it drops the oldest (the history of a rule edited forever stays bounded). */
export const maxRuleVersions = 100;
/** Rules per tenant: each one is evaluated on the tenant's messages, so their number is bounded. */
export const maxRulesPerTenant = 1000;

export const connectivityChanges = ['connected', 'disconnected', 'inactive', 'active'] as const;
export const rpcTriggerStatuses = ['QUEUED', 'SENT', 'DELIVERED', 'SUCCESSFUL', 'TIMEOUT', 'EXPIRED', 'FAILED', 'DELETED'] as const;
export const alarmChanges = ['created', 'updated', 'escalated', 'deescalated', 'acknowledged', 'cleared', 'deleted'] as const;

export type Trigger =
  /** Each committed telemetry message of a device in scope (only those carrying one of `keys`, when given). */
  | { type: 'telemetry'; keys?: string[] }
  /** Each attribute change (of one scope, of some keys, when given). */
  | { type: 'attributes'; scope?: 'client' | 'server' | 'shared'; keys?: string[] }
  | { type: 'connectivity'; changes?: (typeof connectivityChanges)[number][] }
  /** Persistent RPC status changes. */
  | { type: 'rpc'; statuses?: (typeof rpcTriggerStatuses)[number][]; methods?: string[] }
  | { type: 'alarm'; alarmTypes?: string[]; changes?: (typeof alarmChanges)[number][] }
  /** A cron schedule (5 or 6 fields, croner syntax) in an IANA time zone: every device in scope is evaluated at each tick. */
  | { type: 'schedule'; cron: string; timezone?: string };

export type TriggerType = Trigger['type'];

export const comparisons = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Comparison = (typeof comparisons)[number];

export type ConditionSpec =
  /** A JSONata expression; truthy is true. */
  | { type: 'expression'; expression: string }
  /**
   * key <op> value, with hysteresis: once true it turns false only when the value is `hysteresis` back on the
   * other side (for > and >=: value - hysteresis; for < and <=: value + hysteresis). `valueFrom` takes the
   * threshold from the context (e.g. "shared.moistureMin"), `value` being the default when it is missing.
   */
  | { type: 'threshold'; key: string; op: Comparison; value?: number; valueFrom?: string; hysteresis?: number }
  /** The inner condition has been true for at least forMs (checked on each trigger and at the moment it would elapse). */
  | { type: 'duration'; forMs: number; condition: ConditionSpec }
  /** The inner condition was true on at least `count` triggers within the last withinMs. */
  | { type: 'repeat'; count: number; withinMs: number; condition: ConditionSpec }
  /** A window aggregate of the key compared with value. */
  | { type: 'window'; key: string; fn: 'avg' | 'min' | 'max' | 'sum' | 'count' | 'delta' | 'stddev'; windowMs: number; op: Comparison; value: number }
  /** No value of `key` (any key when absent) for forMs. */
  | { type: 'nodata'; key?: string; forMs: number }
  /** The anomaly score of the key (rolling z-score over windowMs, or EWMA-based over halfLifeMs) is at least threshold. */
  | { type: 'anomaly'; key: string; method: 'zscore' | 'ewma'; windowMs?: number; halfLifeMs?: number; threshold: number }
  /** The key's least-squares line over windowMs, extended horizonMs ahead, compared with value. */
  | { type: 'forecast'; key: string; windowMs: number; horizonMs: number; op: Comparison; value: number }
  | { type: 'all'; conditions: ConditionSpec[] }
  | { type: 'any'; conditions: ConditionSpec[] }
  | { type: 'not'; condition: ConditionSpec };

export type ConditionType = ConditionSpec['type'];

export const alarmSeverityNames = ['CRITICAL', 'MAJOR', 'MINOR', 'WARNING', 'INDETERMINATE'] as const;
export type RuleAlarmSeverity = (typeof alarmSeverityNames)[number];

/**
 * When an action runs: rise (the condition turned true; the default), fall (it turned false), true (every
 * evaluation that is true), false (every evaluation that is false).
 */
export const actionWhens = ['rise', 'fall', 'true', 'false'] as const;
export type ActionWhen = (typeof actionWhens)[number];

interface ActionBase {
  on?: ActionWhen;
}

export type ActionSpec =
  /**
   * Raises the alarm while the condition is true (created on rise, extended while it stays true, escalated after
   * `escalation[i].afterMs` of being active) and clears it on fall unless clear is false. `on` is ignored.
   */
  | (ActionBase & {
      type: 'alarm';
      alarmType: string;
      severity: RuleAlarmSeverity;
      escalation?: { afterMs: number; severity: RuleAlarmSeverity }[];
      clear?: boolean;
      /** A JSONata expression for the alarm's details (an object); default: the values of the trigger. */
      details?: string;
    })
  | (ActionBase & { type: 'clear-alarm'; alarmType: string })
  /** A command to the device; persistent ones wait for an offline device. cooldownMs (default 10 s) spaces them. */
  | (ActionBase & { type: 'rpc'; method: string; params?: unknown; persistent?: boolean; cooldownMs?: number })
  | (ActionBase & { type: 'attributes'; scope: 'shared' | 'server'; values: Record<string, unknown>; cooldownMs?: number })
  /** Calculated telemetry: each key's JSONata expression, stored at the trigger's timestamp. Default on: true. */
  | (ActionBase & { type: 'telemetry'; values: Record<string, string> })
  /** Sends to notification channels; subject and body are templates ({{device.name}}, {{alarm.severity}}, {{values.t}}). */
  | (ActionBase & { type: 'notify'; channelIds: string[]; subject: string; body: string })
  /** Publishes to an MQTT topic (a template) on the platform's broker; payload is a JSONata expression (default: the trigger's values). */
  | (ActionBase & { type: 'republish'; topic: string; payload?: string; qos?: 0 | 1; retain?: boolean })
  /** A signed JSON POST (notifications' webhook delivery: retried, logged); payload is a JSONata expression. */
  | (ActionBase & { type: 'webhook'; url: string; secret?: string; payload?: string; headers?: Record<string, string> });

export type ActionType = ActionSpec['type'];

/** A stored rule: the document with its identity, version and state. */
export interface Rule extends RuleDocument {
  id: string;
  tenantId: string;
  version: number;
  createdAt: number;
  updatedAt: number;
  /** Why the engine disabled it (it kept failing), until a user enables it again. */
  disabledReason: string | null;
}

/** One saved version of a rule (every create and update). */
export interface RuleVersion {
  ruleId: string;
  version: number;
  document: RuleDocument;
  createdAt: number;
  /** The user who saved it, or 'engine' when the engine disabled it. */
  createdBy: string;
}

export interface RuleListQuery {
  tenantId: string;
  enabled?: boolean;
  search?: string;
  limit: number;
  offset: number;
}

export interface RuleRepo {
  /** Inserts the rule and its first version. */
  insert(rule: Rule, createdBy: string): Promise<void>;
  get(id: string): Promise<Rule | undefined>;
  findByName(tenantId: string, name: string): Promise<Rule | undefined>;
  list(q: RuleListQuery): Promise<{ items: Rule[]; total: number }>;
  /** Every enabled rule of every tenant (what the engine loads at start). */
  listEnabled(): Promise<Rule[]>;
  /** Replaces the rule (its version already incremented) and adds that version to the history, keeping the newest maxRuleVersions. */
  update(rule: Rule, createdBy: string): Promise<void>;
  delete(id: string): Promise<void>;
  versions(ruleId: string): Promise<RuleVersion[]>;
}

import type { TelemetryValue } from '../../telemetry/model';
import type { Checker } from '../checker';
import type { CompiledExpression } from '../expressions';
import type { ActionSpec, ActionWhen, RuleAlarmSeverity as AlarmSeverity } from '../model';

/** What the live engine acts through; replay has none of these and only records what would have been done. */
export interface ActionPorts {
  raiseAlarm(i: {
    tenantId: string;
    deviceId: string;
    type: string;
    severity: AlarmSeverity;
    at: number;
    details?: Record<string, unknown>;
    ruleId: string;
  }): Promise<string>;
  clearAlarm(i: { tenantId: string; deviceId: string; type: string; at: number; ruleId: string }): Promise<string>;
  rpc(i: { tenantId: string; deviceId: string; method: string; params: unknown; persistent: boolean }): Promise<string>;
  setAttributes(i: { tenantId: string; deviceId: string; scope: 'shared' | 'server'; values: Record<string, unknown> }): Promise<string>;
  writeTelemetry(i: { tenantId: string; deviceId: string; ts: number; values: Record<string, TelemetryValue> }): Promise<string>;
  notify(i: {
    tenantId: string;
    channelIds: readonly string[];
    subject: string;
    body: string;
    context: Record<string, unknown>;
    ruleId: string;
  }): Promise<string>;
  webhook(i: { tenantId: string; url: string; secret?: string; headers?: Record<string, string>; payload: unknown; ruleId: string }): Promise<string>;
  republish(i: { tenantId: string; topic: string; payload: string; qos: 0 | 1; retain: boolean }): Promise<string>;
}

/** Per (rule, device, action) memory the evaluator keeps: when it last ran (cooldowns), the alarm it holds. */
export interface ActionState {
  lastRunAt?: number;
  /** The alarm action: since when the condition is true (escalation), the severity last raised, the last extension. */
  activeSince?: number;
  severity?: AlarmSeverity;
  extendedAt?: number;
}

export interface ActionContext {
  now: number;
  tenantId: string;
  deviceId: string;
  ruleId: string;
  /** The condition's result now, and whether it just turned true (rise) or false (fall). */
  result: boolean;
  rise: boolean;
  fall: boolean;
  message: Readonly<Record<string, TelemetryValue>>;
  values: Readonly<Record<string, TelemetryValue>>;
  bindings: Readonly<Record<string, unknown>>;
  /** The template and expression context: {device, values, analytics, event, shared, server, client, rule, ts}. */
  context: Record<string, unknown>;
  state: ActionState;
  /** A compiled expression of this rule (compiled once at build). */
  expression: (source: string) => CompiledExpression;
  /** Asks for an evaluation at `at` (an escalation due). */
  wake: (at: number) => void;
}

/** A decided action: what the trace and replay show, and what the live engine runs. */
export interface PlannedAction {
  type: ActionSpec['type'];
  /** The action's index in the rule's actions. */
  index: number;
  /** JSON describing what it does (method and params, alarm type and severity, ...). */
  detail: Record<string, unknown>;
  /** A replay alarm timeline needs to know raise from clear. */
  alarm?: { op: 'raise' | 'clear'; type: string; severity?: AlarmSeverity; change?: 'created' | 'extended' | 'escalated' };
  run(ports: ActionPorts): Promise<string>;
}

export interface ActionDef<T extends ActionSpec = ActionSpec> {
  type: T['type'];
  /** When the action runs if the rule does not say (on). */
  defaultOn: ActionWhen;
  /** plan() is called on every evaluation and decides itself (the alarm action: raise while true, clear on fall). */
  always?: boolean;
  /**
   * For an `always` action: true when plan() would do nothing now (the evaluation's hot path then skips it).
   * Only a shortcut: leaving it out calls plan() on every evaluation.
   */
  idle?(spec: T, state: ActionState, result: boolean, now: number): boolean;
  validate(o: Record<string, unknown>, path: string, c: Checker): void;
  /** Expressions to compile at build (checked at save). */
  expressions(spec: T): string[];
  /** Decides and prepares the action for this evaluation; undefined when it does not run now. */
  plan(spec: T, x: ActionContext, index: number): Promise<PlannedAction | undefined>;
}

/** Whether an action with `on` runs for this evaluation. */
export function due(on: ActionWhen, x: Pick<ActionContext, 'rise' | 'fall' | 'result'>): boolean {
  switch (on) {
    case 'rise':
      return x.rise;
    case 'fall':
      return x.fall;
    case 'true':
      return x.result;
    case 'false':
      return !x.result;
  }
}

export const defaultCooldownMs = 10_000;

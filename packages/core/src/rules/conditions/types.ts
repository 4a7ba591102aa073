import type { TelemetryValue } from '../../telemetry/model';
import type { Checker } from '../checker';
import type { CompiledExpression } from '../expressions';
import type { ConditionSpec, TriggerType } from '../model';

/** What one evaluation of a rule for one device sees. */
export interface EvalContext {
  /** Clock ms of the evaluation: a telemetry message's timestamp, a timer's due time, or the clock's now. */
  now: number;
  trigger: TriggerType | 'timer';
  /** The values of the triggering telemetry message (empty for other triggers). */
  message: Readonly<Record<string, TelemetryValue>>;
  /** The device's latest values, the message's included. */
  values: Readonly<Record<string, TelemetryValue>>;
  /** When each latest value was measured. */
  latestTs: Readonly<Record<string, number>>;
  /** The `$` variables of expressions: device, shared, server, client, event, analytics, ts, latest. */
  bindings: Readonly<Record<string, unknown>>;
  /** Asks for an evaluation (trigger 'timer') at `at`, for conditions that change with time alone. */
  wake: (at: number) => void;
}

/** One device's instance of a condition: its state lives in the closure. */
export interface ConditionNode {
  evaluate(c: EvalContext): boolean | Promise<boolean>;
}

/** Makes a node per device from a compiled condition. */
export type NodeFactory = () => ConditionNode;

export interface BuildEnv {
  expression(source: string): CompiledExpression;
  child(spec: ConditionSpec): NodeFactory;
}

export interface ConditionDef<T extends ConditionSpec = ConditionSpec> {
  type: T['type'];
  /** Checks the spec's own fields (`o` is the object at `path`); nested conditions through `child`. */
  validate(o: Record<string, unknown>, path: string, c: Checker, child: (spec: unknown, path: string) => void): void;
  build(spec: T, env: BuildEnv): NodeFactory;
  /** The telemetry keys it reads (null: it may read any key, e.g. an expression). */
  keys(spec: T, child: (spec: ConditionSpec) => string[] | null): string[] | null;
  /** How much recent telemetry rebuilds its state after a restart. */
  warmupMs(spec: T, child: (spec: ConditionSpec) => number): number;
}

export function numeric(v: TelemetryValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

import type { Cron } from 'croner';
import { fail } from '../errors';
import { warmupMs as analyticWarmupMs, type AnalyticSpec } from './analytics';
import { actionRegistry, type ActionDef } from './actions';
import { conditionRegistry, type NodeFactory } from './conditions';
import type { ConditionDef } from './conditions/types';
import { compileExpression, defaultExpressionLimits, type CompiledExpression, type ExpressionLimits } from './expressions';
import type { ActionSpec, ActionWhen, ConditionSpec, RuleDocument, Trigger } from './model';
import { cronOf } from './schedule';
import { validateRule } from './validate-rule';

/** The longest history a rule's state is rebuilt from after a restart (and before a replay's `from`). */
export const maxWarmupMs = 86_400_000;

export interface CompiledAction {
  spec: ActionSpec;
  def: ActionDef;
  on: ActionWhen;
}

/** A rule ready to evaluate: its condition as a node factory, expressions compiled once, its trigger's keys. */
export interface CompiledRule {
  id: string;
  tenantId: string;
  name: string;
  version: number;
  doc: RuleDocument;
  trigger: Trigger;
  condition: NodeFactory | null;
  analytics: [string, AnalyticSpec][];
  actions: CompiledAction[];
  /** Telemetry keys that trigger it (null: any key). */
  keys: ReadonlySet<string> | null;
  /** Keys its own telemetry actions write: a message of only these does not trigger it again. */
  ownKeys: ReadonlySet<string>;
  warmupMs: number;
  /** Its expressions or thresholds read attributes ($shared, $server, $client or valueFrom). */
  needsAttributes: boolean;
  scopeFilter: CompiledExpression | undefined;
  cron: Cron | undefined;
  expression: (source: string) => CompiledExpression;
}

function def(spec: ConditionSpec): ConditionDef {
  return conditionRegistry[spec.type];
}

function conditionKeys(spec: ConditionSpec): string[] | null {
  return def(spec).keys(spec, conditionKeys);
}

function conditionWarmup(spec: ConditionSpec): number {
  return def(spec).warmupMs(spec, conditionWarmup);
}

/** Compiles a valid document; an invalid one is refused with every problem at its field. */
export function compileRule(
  doc: RuleDocument,
  identity: { id: string; tenantId: string; version: number },
  limits: ExpressionLimits = defaultExpressionLimits,
): CompiledRule {
  const problems = validateRule(doc);
  if (problems.length > 0) {
    fail('RULE_INVALID', `The rule is invalid: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}.`, { problems });
  }
  const cache = new Map<string, CompiledExpression>();
  const expression = (source: string) => {
    let e = cache.get(source);
    if (!e) cache.set(source, (e = compileExpression(source, limits)));
    return e;
  };
  const build = (spec: ConditionSpec): NodeFactory => def(spec).build(spec, { expression, child: build });
  const analytics = Object.entries(doc.analytics ?? {});
  const actions = doc.actions.map((spec) => {
    const d = actionRegistry[spec.type] as unknown as ActionDef;
    for (const e of d.expressions(spec)) expression(e);
    return { spec, def: d, on: spec.on ?? d.defaultOn };
  });
  let keys: Set<string> | null = null;
  if (doc.trigger.type === 'telemetry') {
    if (doc.trigger.keys && doc.trigger.keys.length > 0) keys = new Set(doc.trigger.keys);
    else {
      const fromCondition = doc.condition ? conditionKeys(doc.condition) : null;
      keys = fromCondition === null ? null : new Set([...fromCondition, ...analytics.map(([, a]) => a.key)]);
      if (keys?.size === 0) keys = null;
    }
  }
  const ownKeys = new Set(doc.actions.flatMap((a) => (a.type === 'telemetry' ? Object.keys(a.values) : [])));
  const text = JSON.stringify([doc.condition, doc.actions]);
  const warm = Math.max(doc.condition ? conditionWarmup(doc.condition) : 0, ...analytics.map(([, a]) => analyticWarmupMs(a)));
  return {
    ...identity,
    name: doc.name,
    doc,
    trigger: doc.trigger,
    condition: doc.condition ? build(doc.condition) : null,
    analytics,
    actions,
    keys,
    ownKeys,
    warmupMs: Math.min(maxWarmupMs, warm),
    needsAttributes: /\$(shared|server|client)\b|"valueFrom":"(shared|server|client)\./.test(text),
    scopeFilter: doc.scope?.filter === undefined ? undefined : expression(doc.scope.filter),
    cron: doc.trigger.type === 'schedule' ? cronOf(doc.trigger.cron, doc.trigger.timezone) : undefined,
    expression,
  };
}

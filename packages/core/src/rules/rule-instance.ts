import { createAnalyser, type Analyser } from './analytics';
import type { ActionContext, ActionState, PlannedAction } from './actions';
import { due } from './actions/types';
import type { CompiledRule } from './compile-rule';
import type { ConditionNode } from './conditions';
import type { EvalContext } from './conditions/types';
import { numeric } from './conditions/types';
import type { TelemetryValue } from '../telemetry/model';
import type { TriggerType } from './model';

/** The device a rule evaluates for, as expressions see it ($device). */
export interface RuleDevice {
  id: string;
  tenantId: string;
  name: string;
  label: string;
  profileId: string;
  metadata: Record<string, unknown>;
}

export interface InstanceInput {
  now: number;
  trigger: TriggerType | 'timer';
  message: Readonly<Record<string, TelemetryValue>>;
  values: Readonly<Record<string, TelemetryValue>>;
  latestTs: Readonly<Record<string, number>>;
  attributes: { client: Record<string, unknown>; server: Record<string, unknown>; shared: Record<string, unknown> };
  device: RuleDevice;
  event: Record<string, unknown>;
  wake: (at: number) => void;
}

export interface Evaluation {
  result: boolean;
  rise: boolean;
  fall: boolean;
  analytics: Record<string, number | null>;
  actions: PlannedAction[];
}

/**
 * One rule's state for one device: its condition nodes, analysers, whether it holds, and each action's memory.
 * Live and replay drive the same class, so a replay reports what the live engine would have done.
 */
export class RuleInstance {
  private active = false;
  private readonly node: ConditionNode | null;
  private readonly analysers: [string, Analyser][];
  private readonly actionStates: ActionState[];

  private readonly ruleRef: { id: string; name: string };
  /** The earliest time a condition asked to be evaluated again (the engine reads and resets it). */
  wakeAt = Infinity;
  /** The engine's timer for wakeAt. */
  timer: { at: number; handle: unknown } | undefined = undefined;
  readonly requestWake = (at: number): void => {
    if (at < this.wakeAt) this.wakeAt = at;
  };
  private readonly analytics: Record<string, number | null> = {};
  private readonly bindings: Bindings;
  private readonly ctx: EvalContext;
  private readonly out: Evaluation;

  constructor(readonly rule: CompiledRule) {
    this.ruleRef = { id: rule.id, name: rule.name };
    this.node = rule.condition ? rule.condition() : null;
    this.analysers = rule.analytics.map(([name, spec]) => [name, createAnalyser(spec)]);
    this.actionStates = rule.actions.map(() => ({}));
    for (const [name] of this.analysers) this.analytics[name] = null;
    const empty = {};
    const device: RuleDevice = { id: '', tenantId: '', name: '', label: '', profileId: '', metadata: empty };
    this.bindings = { device, shared: empty, server: empty, client: empty, event: empty, analytics: this.analytics, ts: 0, rule: this.ruleRef };
    this.ctx = { now: 0, trigger: 'timer', message: empty, values: empty, latestTs: empty, bindings: this.bindings, wake: this.requestWake };
    this.out = { result: false, rise: false, fall: false, analytics: this.analytics, actions: noActions };
  }

  get holds(): boolean {
    return this.active;
  }

  /**
   * Evaluates; `dry` (a warm-up from history) updates the state but plans no action. Synchronous when the
   * condition is and no action has anything to do (the common case: a value that changes nothing).
   *
   * The answer, its analytics and what conditions see are this instance's own objects, overwritten by the next
   * evaluation (an evaluation per message allocated five objects otherwise): callers read them before evaluating
   * the same instance again, and evaluations of one instance never overlap (the engine and replay await each).
   */
  evaluate(i: InstanceInput, dry = false): Evaluation | Promise<Evaluation> {
    const analytics = this.analytics;
    for (const [name, a] of this.analysers) {
      const v = numeric(i.message[a.spec.key]);
      if (v !== undefined) a.update(i.now, v);
      analytics[name] = a.value(i.now);
    }
    const b = this.bindings;
    b.device = i.device;
    b.shared = i.attributes.shared;
    b.server = i.attributes.server;
    b.client = i.attributes.client;
    b.event = i.event;
    b.ts = i.now;
    if (!this.node) return this.decide(i, true, dry);
    const ctx = this.ctx;
    ctx.now = i.now;
    ctx.trigger = i.trigger;
    ctx.message = i.message;
    ctx.values = i.values;
    ctx.latestTs = i.latestTs;
    ctx.wake = i.wake;
    const result = this.node.evaluate(ctx);
    return typeof result === 'boolean' ? this.decide(i, result, dry) : result.then((r) => this.decide(i, r, dry));
  }

  private decide(i: InstanceInput, result: boolean, dry: boolean): Evaluation | Promise<Evaluation> {
    const rise = result && !this.active;
    const fall = !result && this.active;
    this.active = result;
    const out = this.out;
    out.result = result;
    out.rise = rise;
    out.fall = fall;
    out.actions = noActions;
    let todo = false;
    for (let n = 0; n < this.rule.actions.length && !todo; n++) {
      const a = this.rule.actions[n];
      const state = this.actionStates[n];
      if (!a || !state) continue;
      if (a.def.always) todo = !(a.def.idle?.(a.spec, state, result, i.now) ?? false);
      else todo = !dry && due(a.on, out);
    }
    if (!todo) return out;
    // Actions keep what they were planned with (a notification renders later): their own copy of the bindings.
    return this.plan(i, result, rise, fall, { ...this.bindings, analytics: { ...this.analytics } }, dry);
  }

  private async plan(i: InstanceInput, result: boolean, rise: boolean, fall: boolean, bindings: Bindings, dry: boolean): Promise<Evaluation> {
    const actions: PlannedAction[] = [];
    const context: Record<string, unknown> = { ...bindings, values: i.values, message: i.message };
    for (let n = 0; n < this.rule.actions.length; n++) {
      const a = this.rule.actions[n];
      const state = this.actionStates[n];
      if (!a || !state) continue;
      const x: ActionContext = {
        now: i.now,
        tenantId: i.device.tenantId,
        deviceId: i.device.id,
        ruleId: this.rule.id,
        result,
        rise,
        fall,
        message: i.message,
        values: i.values,
        bindings,
        context,
        state,
        expression: this.rule.expression,
        wake: i.wake,
      };
      if (!a.def.always && !due(a.on, x)) continue;
      if (dry && !a.def.always) continue;
      const planned = await a.def.plan(a.spec, x, n);
      if (!planned) continue;
      if (planned.alarm?.op === 'raise') context.alarm = { type: planned.alarm.type, severity: planned.alarm.severity, change: planned.alarm.change };
      if (!dry) actions.push(planned);
    }
    const out = this.out;
    out.actions = actions;
    return out;
  }
}

type Bindings = {
  device: RuleDevice;
  shared: Record<string, unknown>;
  server: Record<string, unknown>;
  client: Record<string, unknown>;
  event: Record<string, unknown>;
  analytics: Record<string, number | null>;
  ts: number;
  rule: { id: string; name: string };
};

const noActions: PlannedAction[] = [];

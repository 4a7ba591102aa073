import type { CommittedMessage, EventBus } from '../bus';
import type { Clock, TimerHandle } from '../clock';
import type { Store } from '../store';
import type { TelemetryValue } from '../telemetry/model';
import type { ActionPorts, PlannedAction } from './actions';
import { compileRule, type CompiledRule } from './compile-rule';
import { DeviceCache, type DeviceEntry } from './device-cache';
import { documentOf } from './document';
import { defaultExpressionLimits, truthy, type ExpressionLimits } from './expressions';
import { storedMessages } from './history';
import type { Rule, TriggerType } from './model';
import { RuleInstance, type Evaluation, type InstanceInput } from './rule-instance';
import { emptyStats, RuleTrace, traceInput, type RuleStats, type TraceAction, type TraceEntry } from './rule-trace';
import { nextTick } from './schedule';

export interface RuleEngineLimits {
  /** (rule, device) states kept; beyond it the oldest of the rule holding the most is dropped, and rebuilt from history on next use. */
  maxInstances: number;
  /** Devices whose latest values and attributes are cached. */
  maxDevices: number;
  /** Evaluations waiting; beyond it new work is dropped and counted (rules fall behind, ingest never waits). */
  maxQueued: number;
  /** Actions running at once (RPCs, alarm writes, notifications); beyond it they are dropped and counted. */
  maxInflightActions: number;
  /** Failed evaluations in a row after which the engine disables the rule. */
  maxConsecutiveErrors: number;
  /** Devices a schedule tick evaluates per rule. */
  maxScheduledDevices: number;
  /**
   * Times rules may write calculated telemetry to one device instant (a calculated value is stored at its trigger's
   * ts) before what they write there triggers no rule: rules feeding each other (A writes what triggers B, which
   * writes what triggers A) stop there instead of writing for ever.
   */
  maxChainedWrites: number;
  expression: ExpressionLimits;
}

export const defaultRuleEngineLimits: RuleEngineLimits = {
  maxInstances: 200_000,
  maxDevices: 100_000,
  maxQueued: 10_000,
  maxInflightActions: 1_000,
  maxConsecutiveErrors: 10,
  maxScheduledDevices: 10_000,
  maxChainedWrites: 16,
  expression: defaultExpressionLimits,
};

export interface RuleEngineOptions {
  store: Store;
  bus: EventBus;
  clock: Clock;
  ports: ActionPorts;
  limits?: Partial<RuleEngineLimits>;
  /** The engine disabled a rule that kept failing (the service stores it and tells the bus). */
  onDisable: (rule: CompiledRule, reason: string) => Promise<void>;
}

interface Loaded {
  compiled: CompiledRule;
  /** The rule's state per device id. */
  instances: Map<string, RuleInstance>;
  /** Caches whether a device is in scope: id@version. */
  scopeKey: string;
  stats: RuleStats;
  trace: RuleTrace;
  scheduleTimer?: TimerHandle;
}

export interface RuleEngineTotals {
  evaluations: number;
  errors: number;
  actionsRun: number;
  actionsFailed: number;
  /** Actions refused because maxInflightActions were running. */
  actionsDropped: number;
  /** Rules the engine disabled after failing maxConsecutiveErrors times in a row. */
  disabled: number;
  /** Events refused because maxQueued were waiting (rules fell behind; ingest never waits). */
  eventsDropped: number;
  /** Rule-written telemetry that triggered no rule because rules had written to its instant maxChainedWrites times. */
  chainsStopped: number;
}

type EventInput = Pick<InstanceInput, 'trigger' | 'message' | 'event'> & { now: number };

/**
 * Runs the enabled rules after commit, off the acknowledgement path: it consumes bus events, evaluates each
 * rule in scope one evaluation at a time (so each compiled expression has one evaluation in flight and its
 * time box holds), and runs the actions in the background with a bound. A rule that throws is counted and
 * traced; one that fails `maxConsecutiveErrors` times in a row is disabled with its reason.
 */
export class RuleEngine {
  private readonly limits: RuleEngineLimits;
  private readonly rules = new Map<string, Loaded>();
  private readonly byTenant = new Map<string, Map<TriggerType, TriggerRules>>();
  /** (rule, device) states over every rule, bounded by maxInstances. */
  private instanceCount = 0;
  /** Enabled rules that do not compile, with the reason. */
  private readonly unloadable = new Map<string, string>();
  /** The stats and trace of rules unloaded but not deleted (disabled, or being replaced), so a disabled rule still shows why. */
  private readonly retired = new Map<string, Pick<Loaded, 'stats' | 'trace'>>();
  private readonly devices: DeviceCache;
  private readonly unsubscribe: (() => void)[] = [];
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private inflight = 0;
  private closed = false;
  private sliceStart = 0;
  private readonly scratch: InstanceInput = { ...blankInput };
  /** Running totals over every rule since start (for /metrics). */
  readonly totals: RuleEngineTotals = {
    evaluations: 0,
    errors: 0,
    actionsRun: 0,
    actionsFailed: 0,
    actionsDropped: 0,
    disabled: 0,
    eventsDropped: 0,
    chainsStopped: 0,
  };
  /** Device instants rules wrote calculated telemetry to, with how often (the oldest forgotten beyond maxWrittenInstants). */
  private readonly written = new Map<string, number>();

  constructor(private readonly o: RuleEngineOptions) {
    this.limits = { ...defaultRuleEngineLimits, ...o.limits };
    this.devices = new DeviceCache(o.store, this.limits.maxDevices);
  }

  async start(): Promise<void> {
    for (const r of await this.o.store.rules.listEnabled()) this.load(r);
    const { bus } = this.o;
    const name = 'rules';
    const maxQueued = this.limits.maxQueued;
    this.unsubscribe.push(
      bus.subscribe(
        'telemetry',
        (e) => {
          this.enqueue(() => this.onTelemetry(e.messages));
        },
        { name, maxQueued },
      ),
      bus.subscribe(
        'attributes',
        (e) => {
          this.devices.observeAttributes(e.deviceId, e.scope, e.updated, e.deleted);
          this.enqueue(() =>
            this.onEvent(
              e.tenantId,
              e.deviceId,
              'attributes',
              (r) =>
                r.trigger.type === 'attributes' &&
                (!r.trigger.scope || r.trigger.scope === e.scope) &&
                hasAny(r.trigger.keys, [...Object.keys(e.updated), ...e.deleted]),
              {
                trigger: 'attributes',
                message: {},
                now: e.updatedAt,
                event: { type: 'attributes', scope: e.scope, updated: e.updated, deleted: e.deleted },
              },
            ),
          );
        },
        { name, maxQueued },
      ),
      bus.subscribe(
        'device.connectivity',
        (e) => {
          this.enqueue(() =>
            this.onEvent(
              e.tenantId,
              e.deviceId,
              'connectivity',
              (r) => r.trigger.type === 'connectivity' && (!r.trigger.changes || r.trigger.changes.includes(e.change)),
              {
                trigger: 'connectivity',
                message: {},
                now: e.at,
                event: { type: 'connectivity', change: e.change, connected: e.connected, active: e.active },
              },
            ),
          );
        },
        { name, maxQueued },
      ),
      bus.subscribe(
        'rpc.lifecycle',
        (e) => {
          this.enqueue(() =>
            this.onEvent(e.tenantId, e.deviceId, 'rpc', (r) => r.trigger.type === 'rpc' && (!r.trigger.statuses || r.trigger.statuses.includes(e.status)), {
              trigger: 'rpc',
              message: {},
              now: e.at,
              event: { type: 'rpc', status: e.status, rpcId: e.rpcId, id: e.id },
            }),
          );
        },
        { name, maxQueued },
      ),
      bus.subscribe(
        'alarm',
        (e) => {
          this.enqueue(() =>
            this.onEvent(
              e.tenantId,
              e.deviceId,
              'alarm',
              (r) =>
                r.trigger.type === 'alarm' &&
                (!r.trigger.changes || r.trigger.changes.includes(e.change)) &&
                (!r.trigger.alarmTypes || r.trigger.alarmTypes.includes(e.type)),
              {
                trigger: 'alarm',
                message: {},
                now: e.at,
                event: { type: 'alarm', change: e.change, alarmType: e.type, severity: e.severity, alarmId: e.alarmId, status: e.alarm.status },
              },
            ),
          );
        },
        { name, maxQueued },
      ),
      bus.subscribe(
        'device.updated',
        (e) => {
          this.devices.forget(e.deviceId);
        },
        { name },
      ),
      bus.subscribe(
        'device.deleted',
        (e) => {
          this.forgetDevice(e.deviceId);
        },
        { name },
      ),
      bus.subscribe(
        'tenant.deleted',
        (e) => {
          for (const l of [...this.rules.values()]) if (l.compiled.tenantId === e.tenantId) this.unload(l.compiled.id);
        },
        { name },
      ),
    );
  }

  /** Loads or replaces a rule (a disabled one is unloaded); its per-device state starts afresh. */
  upsert(rule: Rule): void {
    this.unload(rule.id, { keepTrace: true });
    if (rule.enabled) this.load(rule);
  }

  /** Stops a rule; its stats and trace stay readable with keepTrace (a disabled rule), else they go (deleted). */
  unload(ruleId: string, o: { keepTrace?: boolean } = {}): void {
    this.unloadable.delete(ruleId);
    if (!o.keepTrace) this.retired.delete(ruleId);
    const l = this.rules.get(ruleId);
    if (!l) return;
    this.rules.delete(ruleId);
    if (o.keepTrace) {
      this.retired.set(ruleId, { stats: l.stats, trace: l.trace });
      if (this.retired.size > maxRetired) this.retired.delete(this.retired.keys().next().value as string);
    }
    if (l.scheduleTimer) this.o.clock.clearTimeout(l.scheduleTimer);
    const t = this.byTenant.get(l.compiled.tenantId)?.get(l.compiled.trigger.type);
    if (t) t.set(t.all.filter((x) => x !== l));
    for (const deviceId of [...l.instances.keys()]) this.dropInstance(l, deviceId);
  }

  stats(ruleId: string): RuleStats | undefined {
    const broken = this.unloadable.get(ruleId);
    return broken === undefined ? (this.rules.get(ruleId) ?? this.retired.get(ruleId))?.stats : { ...emptyStats(), lastError: broken };
  }

  trace(ruleId: string): TraceEntry[] | undefined {
    return (this.rules.get(ruleId) ?? this.retired.get(ruleId))?.trace.list();
  }

  /** What the engine holds now: rules loaded, events waiting, actions running, (rule, device) states. */
  status(): { rules: number; queued: number; inflightActions: number; instances: number } {
    return { rules: this.rules.size, queued: this.queued, inflightActions: this.inflight, instances: this.instanceCount };
  }

  /** Resolves when every evaluation queued so far has run (tests and shutdown). */
  async idle(): Promise<void> {
    await this.o.bus.drain();
    for (;;) {
      const c = this.chain;
      await c;
      if (c === this.chain && this.inflight === 0) return;
      if (c === this.chain) await new Promise((r) => setTimeout(r, 1));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const u of this.unsubscribe.splice(0)) u();
    for (const id of [...this.rules.keys()]) this.unload(id);
    await this.chain;
  }

  private load(rule: Rule): void {
    let compiled: CompiledRule;
    try {
      compiled = compileRule(documentOf(rule), { id: rule.id, tenantId: rule.tenantId, version: rule.version }, this.limits.expression);
    } catch (e) {
      // Stored before a check it now fails (an upgrade): it does not run until saved again, and says why.
      this.unloadable.set(rule.id, e instanceof Error ? e.message : String(e));
      return;
    }
    this.unloadable.delete(rule.id);
    // An edited or re-enabled rule keeps its counts and trace; its errors in a row start again.
    const prior = this.retired.get(rule.id);
    this.retired.delete(rule.id);
    const l: Loaded = {
      compiled,
      instances: new Map(),
      scopeKey: `${rule.id}@${rule.version}`,
      stats: prior ? { ...prior.stats, consecutiveErrors: 0 } : emptyStats(),
      trace: prior?.trace ?? new RuleTrace(),
    };
    this.rules.set(rule.id, l);
    let t = this.byTenant.get(rule.tenantId);
    if (!t) this.byTenant.set(rule.tenantId, (t = new Map<TriggerType, TriggerRules>()));
    let list = t.get(compiled.trigger.type);
    if (!list) t.set(compiled.trigger.type, (list = new TriggerRules()));
    list.set([...list.all, l]);
    if (compiled.cron) this.scheduleTick(l, this.o.clock.now());
  }

  /** Runs work one at a time, in order; beyond maxQueued it is dropped and counted. */
  private enqueue(work: () => Promise<void>): void {
    if (this.closed) return;
    if (this.queued >= this.limits.maxQueued) {
      this.totals.eventsDropped++;
      return;
    }
    this.queued++;
    this.chain = this.chain.then(async () => {
      this.queued--;
      try {
        await work();
      } catch {
        // each evaluation catches its own errors; this is the store failing to load a device: the event is skipped
      }
    });
  }

  private async onTelemetry(messages: readonly CommittedMessage[]): Promise<void> {
    for (const m of messages) {
      const t = this.byTenant.get(m.tenantId)?.get('telemetry');
      // Points of one message with different timestamps (an array payload) are evaluated one timestamp at a time.
      const groups = groupByTs(m.points);
      for (const [ts, values] of groups) this.devices.observe(m.deviceId, ts, values);
      if (!t || !t.reads(m.points)) continue;
      // Evaluations that need nothing from the store run without a promise; a long run of them gives the event
      // loop back every few ms, so acknowledgements and other connections are not held up behind the rules.
      if (performance.now() - this.sliceStart > sliceMs) await this.yieldTurn();
      const got = this.devices.get(m.deviceId);
      const entry = got instanceof Promise ? await got : got;
      if (!entry) continue;
      const rules = t.of(entry.device.profileId);
      for (const [ts, values] of groups) {
        if (this.written.size > 0 && (this.written.get(instantKey(m.deviceId, ts)) ?? 0) >= this.limits.maxChainedWrites) {
          this.totals.chainsStopped++;
          continue;
        }
        const input: EventInput = { trigger: 'telemetry', message: values, now: ts, event: telemetryEvent };
        for (const l of rules) {
          if (!triggeredBy(l.compiled, values)) continue;
          const p = this.evaluate(l, entry, input);
          if (p) await p;
        }
      }
    }
  }

  private async onEvent(tenantId: string, deviceId: string, type: TriggerType, match: (r: CompiledRule) => boolean, input: EventInput): Promise<void> {
    const t = this.byTenant.get(tenantId)?.get(type);
    if (!t || !t.all.some((l) => match(l.compiled))) return;
    const entry = await this.devices.get(deviceId);
    if (!entry) return;
    for (const l of t.of(entry.device.profileId)) if (match(l.compiled)) await this.evaluate(l, entry, input);
  }

  /** Whether the device is in the rule's scope: known at once after the first time (the filter is an expression). */
  private inScope(l: Loaded, e: DeviceEntry): boolean | Promise<boolean> {
    const known = e.inScope.get(l.scopeKey);
    if (known !== undefined) return known;
    return this.scopeOf(l, e);
  }

  private async scopeOf(l: Loaded, e: DeviceEntry): Promise<boolean> {
    const r = l.compiled;
    const s = r.doc.scope;
    let ok = e.device.tenantId === r.tenantId;
    const lists = (s?.profileIds?.length ?? 0) + (s?.deviceIds?.length ?? 0) > 0;
    if (ok && lists) ok = (s?.profileIds?.includes(e.device.profileId) ?? false) || (s?.deviceIds?.includes(e.device.id) ?? false);
    if (ok && r.scopeFilter) {
      try {
        ok = truthy(await r.scopeFilter.evaluate(e.device, {}, this.o.clock.now()));
      } catch {
        ok = false;
      }
    }
    e.inScope.set(l.scopeKey, ok);
    return ok;
  }

  /**
   * One evaluation of a rule for a device. Synchronous (no promise) when everything it needs is in memory and
   * nothing is to be done, which is most evaluations; otherwise a promise of the rest.
   */
  private evaluate(l: Loaded, e: DeviceEntry, input: EventInput): Promise<void> | undefined {
    if (!this.rules.has(l.compiled.id)) return undefined;
    const scoped = this.inScope(l, e);
    if (scoped === false) return undefined;
    if (scoped !== true) return scoped.then((ok) => (ok ? this.evaluateInScope(l, e, input) : undefined));
    return this.evaluateInScope(l, e, input);
  }

  private evaluateInScope(l: Loaded, e: DeviceEntry, input: EventInput): Promise<void> | undefined {
    const r = l.compiled;
    const inst = l.instances.get(e.device.id);
    const attributes = r.needsAttributes ? e.attributes : emptyAttributes;
    if (!inst || !e.values || !attributes) return this.evaluateLoading(l, e, input);
    const started = performance.now();
    let evaluation: Evaluation | Promise<Evaluation>;
    inst.wakeAt = Infinity;
    // One input object for every in-memory evaluation: filled here, read by the instance before this one returns
    // or before its promise settles, which the callers await before they evaluate again.
    const x = fillInput(this.scratch, input, e, e.values, attributes, inst);
    try {
      evaluation = inst.evaluate(x);
    } catch (err) {
      return this.finish(l, e, inst, input, undefined, err, started);
    }
    if (evaluation instanceof Promise) {
      return evaluation.then(
        (x) => this.finish(l, e, inst, input, x, null, started),
        (err: unknown) => this.finish(l, e, inst, input, undefined, err, started),
      );
    }
    return this.finish(l, e, inst, input, evaluation, null, started);
  }

  /** The first evaluation of a (rule, device), or one after the device's values or attributes were dropped: loads them. */
  private async evaluateLoading(l: Loaded, e: DeviceEntry, input: EventInput): Promise<void> {
    const r = l.compiled;
    const started = performance.now();
    let inst: RuleInstance | undefined;
    let evaluation: Evaluation | undefined;
    let error: unknown = null;
    try {
      const values = await this.devices.values(e);
      const attributes = r.needsAttributes ? await this.devices.attributes(e) : emptyAttributes;
      inst = l.instances.get(e.device.id) ?? (await this.newInstance(l, e, input.now, attributes));
      inst.wakeAt = Infinity;
      evaluation = await inst.evaluate(fillInput({ ...blankInput }, input, e, values, attributes, inst));
    } catch (err) {
      error = err;
    }
    await this.finish(l, e, inst, input, evaluation, error, started);
  }

  /** Counts, traces and runs what an evaluation decided; disables a rule that failed too often in a row. */
  private finish(
    l: Loaded,
    e: DeviceEntry,
    inst: RuleInstance | undefined,
    input: EventInput,
    evaluation: Evaluation | undefined,
    err: unknown,
    started: number,
  ): Promise<void> | undefined {
    const r = l.compiled;
    let error: string | null = null;
    if (err !== null) {
      error = errorText(err);
      l.stats.errors++;
      this.totals.errors++;
      l.stats.consecutiveErrors++;
      l.stats.lastError = error;
      l.stats.lastErrorAt = this.o.clock.now();
    } else l.stats.consecutiveErrors = 0;
    l.stats.evaluations++;
    this.totals.evaluations++;
    const change = evaluation?.rise ? 'rise' : evaluation?.fall ? 'fall' : null;
    const actions = evaluation?.actions ?? [];
    if (error !== null || change !== null || actions.length > 0 || l.trace.wants(input.now)) {
      const entry: TraceEntry = {
        at: input.now,
        deviceId: e.device.id,
        trigger: input.trigger,
        input: input.trigger === 'telemetry' || input.trigger === 'timer' ? traceInput(input.message) : traceInput(input.event),
        analytics: evaluation ? { ...evaluation.analytics } : {},
        result: evaluation ? evaluation.result : null,
        change,
        actions: [],
        error,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      };
      l.trace.add(entry);
      this.run(l, entry, actions);
    }
    if (inst && inst.wakeAt !== Infinity) this.wake(l, inst, e.device.id, inst.wakeAt);
    if (error !== null && l.stats.consecutiveErrors >= this.limits.maxConsecutiveErrors) {
      const reason = `disabled after ${l.stats.consecutiveErrors} failed evaluations in a row; the last: ${error}`;
      this.unload(r.id, { keepTrace: true });
      this.totals.disabled++;
      return this.o.onDisable(r, reason).catch(() => undefined);
    }
    return undefined;
  }

  /** A new (rule, device) state, rebuilt from the device's recent telemetry without acting (after a restart, or an eviction). */
  private async yieldTurn(): Promise<void> {
    await new Promise<void>((r) => {
      setImmediate(r);
    });
    this.sliceStart = performance.now();
  }

  private async newInstance(l: Loaded, e: DeviceEntry, now: number, attributes: InstanceInput['attributes']): Promise<RuleInstance> {
    const r = l.compiled;
    const inst = new RuleInstance(r);
    const keys = r.keys ? [...r.keys] : [];
    if (r.warmupMs > 0 && r.trigger.type === 'telemetry' && keys.length > 0) {
      const values: Record<string, TelemetryValue> = {};
      const latestTs: Record<string, number> = {};
      for await (const m of storedMessages(this.o.store.telemetry, e.device.id, keys, now - r.warmupMs, now)) {
        Object.assign(values, m.values);
        for (const k of Object.keys(m.values)) latestTs[k] = m.ts;
        await inst.evaluate(
          {
            now: m.ts,
            trigger: 'telemetry',
            message: m.values,
            values,
            latestTs,
            attributes,
            device: e.device,
            event: telemetryEvent,
            wake: () => undefined,
          },
          true,
        );
      }
    }
    if (!this.rules.has(r.id)) return inst; // unloaded while it warmed up: used once, not kept
    l.instances.set(e.device.id, inst);
    this.instanceCount++;
    if (this.instanceCount > this.limits.maxInstances) this.evictOne();
    return inst;
  }

  /** Drops the oldest state of the rule holding the most (the bound is over all rules). */
  private evictOne(): void {
    let biggest: Loaded | undefined;
    for (const x of this.rules.values()) if (!biggest || x.instances.size > biggest.instances.size) biggest = x;
    const oldest = biggest?.instances.keys().next().value;
    if (biggest && oldest !== undefined) this.dropInstance(biggest, oldest);
  }

  private dropInstance(l: Loaded, deviceId: string): void {
    const inst = l.instances.get(deviceId);
    if (!inst) return;
    l.instances.delete(deviceId);
    this.instanceCount--;
    if (inst.timer) this.o.clock.clearTimeout(inst.timer.handle as TimerHandle);
    inst.timer = undefined;
  }

  private forgetDevice(deviceId: string): void {
    this.devices.forget(deviceId);
    for (const l of this.rules.values()) this.dropInstance(l, deviceId);
  }

  /** One timer per (rule, device), at the earliest time a condition asked to be evaluated again. */
  private wake(l: Loaded, inst: RuleInstance, deviceId: string, at: number): void {
    const w = inst.timer;
    if (w && w.at <= at) return;
    if (w) this.o.clock.clearTimeout(w.handle as TimerHandle);
    const handle = this.o.clock.setTimeout(
      () => {
        inst.timer = undefined;
        this.enqueue(async () => {
          const e = await this.devices.get(deviceId);
          if (e && l.instances.get(deviceId) === inst) await this.evaluate(l, e, { trigger: 'timer', message: {}, now: at, event: { type: 'timer' } });
        });
      },
      Math.max(0, at - this.o.clock.now()),
    );
    handle.unref?.();
    inst.timer = { at, handle };
  }

  private scheduleTick(l: Loaded, after: number): void {
    const cron = l.compiled.cron;
    const at = cron ? nextTick(cron, after) : null;
    if (at === null || this.closed) return;
    const handle = this.o.clock.setTimeout(
      () => {
        this.scheduleTick(l, at);
        this.enqueue(() => this.onTick(l, at));
      },
      Math.max(0, at - this.o.clock.now()),
    );
    handle.unref?.();
    l.scheduleTimer = handle;
  }

  private async onTick(l: Loaded, at: number): Promise<void> {
    const r = l.compiled;
    const ids = r.doc.scope?.deviceIds?.length ? r.doc.scope.deviceIds : [];
    const profiles = r.doc.scope?.profileIds ?? [];
    const targets: string[] = [...ids];
    const lists = profiles.length > 0 ? profiles.map((p) => ({ profileId: p })) : ids.length === 0 ? [{}] : [];
    for (const f of lists) {
      const page = await this.o.store.devices.list({
        tenantId: r.tenantId,
        limit: this.limits.maxScheduledDevices,
        offset: 0,
        sort: 'name',
        order: 'asc',
        ...f,
      });
      for (const d of page.items) targets.push(d.id);
    }
    for (const id of targets.slice(0, this.limits.maxScheduledDevices)) {
      const e = await this.devices.get(id);
      if (e) await this.evaluate(l, e, { trigger: 'schedule', message: {}, now: at, event: { type: 'schedule', at } });
    }
  }

  /** Counts a rule's write of calculated telemetry to a device instant (its trigger's ts). */
  private noteWrite(deviceId: string, ts: number): void {
    const key = instantKey(deviceId, ts);
    this.written.set(key, (this.written.get(key) ?? 0) + 1);
    if (this.written.size > maxWrittenInstants) this.written.delete(this.written.keys().next().value as string);
  }

  /** Runs an evaluation's actions in order, in the background, recording each outcome in its trace entry. */
  private run(l: Loaded, entry: TraceEntry, actions: PlannedAction[]): void {
    for (const a of actions) {
      const t: TraceAction = { type: a.type, index: a.index, detail: a.detail, status: 'running' };
      entry.actions.push(t);
      if (this.inflight >= this.limits.maxInflightActions) {
        t.status = 'failed';
        t.outcome = `dropped: ${this.limits.maxInflightActions} actions already in flight`;
        l.stats.actionsDropped++;
        this.totals.actionsDropped++;
        continue;
      }
      if (a.type === 'telemetry') this.noteWrite(entry.deviceId, entry.at);
      this.inflight++;
      l.stats.actionsRun++;
      this.totals.actionsRun++;
      a.run(this.o.ports)
        .then(
          (outcome) => {
            t.status = 'done';
            t.outcome = outcome;
          },
          (err: unknown) => {
            t.status = 'failed';
            t.outcome = err instanceof Error ? err.message : String(err);
            l.stats.actionsFailed++;
            this.totals.actionsFailed++;
          },
        )
        .finally(() => {
          this.inflight--;
        });
    }
  }
}

/** Device instants whose rule writes are counted (a chain of rules runs within moments, so recent ones suffice). */
const maxWrittenInstants = 10_000;

function instantKey(deviceId: string, ts: number): string {
  return `${deviceId}@${ts}`;
}

/** How many unloaded rules keep their stats and trace (the oldest go first). */
const maxRetired = 10_000;

const emptyAttributes = { client: {}, server: {}, shared: {} };
const blankInput: InstanceInput = {
  now: 0,
  trigger: 'timer',
  message: {},
  values: {},
  latestTs: {},
  attributes: emptyAttributes,
  device: { id: '', tenantId: '', name: '', label: '', profileId: '', metadata: {} },
  event: {},
  wake: () => undefined,
};

/** Fills `x` with what one evaluation of `inst` for device `e` sees, and returns it. */
function fillInput(
  x: InstanceInput,
  input: EventInput,
  e: DeviceEntry,
  values: InstanceInput['values'],
  attributes: InstanceInput['attributes'],
  inst: RuleInstance,
): InstanceInput {
  x.now = input.now;
  x.trigger = input.trigger;
  x.message = input.message;
  x.event = input.event;
  x.values = values;
  x.latestTs = e.latestTs;
  x.attributes = attributes;
  x.device = e.device;
  x.wake = inst.requestWake;
  return x;
}
const telemetryEvent = { type: 'telemetry' };
/** How long the engine runs before it lets other work of the event loop in. */
const sliceMs = 1;

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  const m = (err as { message?: unknown } | null)?.message;
  if (typeof m === 'string') return m;
  const json: unknown = JSON.stringify(err);
  return typeof json === 'string' ? json : 'undefined';
}

/**
 * A tenant's loaded rules of one trigger type, with the ones that may hold a device of a given profile (a rule
 * scoped to other profiles only is not looked at), and the telemetry keys any of them reads.
 */
class TriggerRules {
  all: readonly Loaded[] = [];
  private readonly byProfile = new Map<string, readonly Loaded[]>();
  /** The keys the rules are triggered by; null when one of them takes every key. */
  private keys: ReadonlySet<string> | null = null;

  set(all: readonly Loaded[]): void {
    this.all = all;
    this.byProfile.clear();
    const keys = new Set<string>();
    for (const l of all) {
      if (l.compiled.keys === null) {
        this.keys = null;
        return;
      }
      for (const k of l.compiled.keys) keys.add(k);
    }
    this.keys = keys;
  }

  /** Whether a message with these points may trigger one of the rules. */
  reads(points: CommittedMessage['points']): boolean {
    if (this.all.length === 0) return false;
    const keys = this.keys;
    if (keys === null) return true;
    for (const p of points) if (keys.has(p.key)) return true;
    return false;
  }

  of(profileId: string): readonly Loaded[] {
    let out = this.byProfile.get(profileId);
    if (out === undefined) {
      out = this.all.filter((l) => {
        const s = l.compiled.doc.scope;
        return !s?.profileIds?.length || s.profileIds.includes(profileId) || (s.deviceIds?.length ?? 0) > 0;
      });
      this.byProfile.set(profileId, out);
    }
    return out;
  }
}

/** Whether a telemetry message's values trigger the rule: one of its keys, and not only what the rule writes itself. */
function triggeredBy(r: CompiledRule, values: Readonly<Record<string, TelemetryValue>>): boolean {
  let any = r.keys === null;
  let foreign = false;
  for (const k in values) {
    if (!any && r.keys?.has(k)) any = true;
    if (!r.ownKeys.has(k)) foreign = true;
    if (any && foreign) return true;
  }
  return any && (foreign || r.ownKeys.size === 0);
}

function hasAny(wanted: readonly string[] | undefined, keys: readonly string[]): boolean {
  return !wanted || wanted.length === 0 || keys.some((k) => wanted.includes(k));
}

function groupByTs(points: CommittedMessage['points']): [number, Record<string, TelemetryValue>][] {
  const first = points[0];
  if (first && points.every((p) => p.ts === first.ts)) {
    const values: Record<string, TelemetryValue> = {};
    for (const p of points) values[p.key] = p.value;
    return [[first.ts, values]];
  }
  const by = new Map<number, Record<string, TelemetryValue>>();
  for (const p of points) {
    let m = by.get(p.ts);
    if (!m) by.set(p.ts, (m = {}));
    m[p.key] = p.value;
  }
  return [...by].sort((a, b) => a[0] - b[0]);
}

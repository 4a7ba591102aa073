import { fail } from '../errors';
import type { Store } from '../store';
import type { TelemetryValue } from '../telemetry/model';
import type { PlannedAction } from './actions';
import { compileRule, type CompiledRule } from './compile-rule';
import { truthy } from './expressions';
import { storedMessages } from './history';
import type { RuleDocument } from './model';
import { RuleInstance, type InstanceInput, type RuleDevice } from './rule-instance';
import { nextTick } from './schedule';

export const replayLimits = { maxDevices: 1000, maxRangeMs: 31 * 86_400_000, maxPoints: 5_000_000, maxListed: 1000 };

export interface ReplayInput {
  rule: RuleDocument;
  tenantId: string;
  /** Devices to run on (default: every device in the rule's scope, at most 1,000). */
  devices?: string[] | undefined;
  from: number;
  to: number;
}

export interface ReplayAlarm {
  deviceId: string;
  alarmType: string;
  severity: string;
  startTs: number;
  /** The last time the condition held (extended at most every 10 s, as live). */
  endTs: number;
  /** When the rule would have cleared it; null when it was still active at `to`. */
  clearedAt: number | null;
  escalations: { at: number; severity: string }[];
}

export interface ReplayResult {
  from: number;
  to: number;
  devices: number;
  /** Stored messages read (values of one device and timestamp), points among them, evaluations run (messages and timers). */
  messages: number;
  points: number;
  evaluations: number;
  durationMs: number;
  /** Points evaluated per second of replay. */
  pointsPerSecond: number;
  alarms: ReplayAlarm[];
  /** Times the condition turned true or false. */
  transitions: { at: number; deviceId: string; result: boolean }[];
  /** What it would have done, in time order (alarm raises and clears included), the first 1,000. */
  actions: { at: number; deviceId: string; type: string; detail: Record<string, unknown> }[];
  actionCounts: Record<string, number>;
  errors: { at: number; deviceId: string; message: string }[];
  /** Lists were cut at 1,000 entries. */
  truncated: boolean;
}

async function devicesOf(store: Store, r: CompiledRule, input: ReplayInput): Promise<RuleDevice[]> {
  const plain = (d: RuleDevice) => ({ id: d.id, tenantId: d.tenantId, name: d.name, label: d.label, profileId: d.profileId, metadata: d.metadata });
  if (input.devices && input.devices.length > 0) {
    if (input.devices.length > replayLimits.maxDevices) fail('VALIDATION', `devices: at most ${replayLimits.maxDevices}.`, { field: 'devices' });
    const out: RuleDevice[] = [];
    for (const id of input.devices) {
      const d = await store.devices.get(id);
      if (!d || d.tenantId !== input.tenantId) fail('NOT_FOUND', `Device ${id} not found.`, { field: 'devices' });
      out.push(plain(d));
    }
    return out;
  }
  const s = r.doc.scope;
  const filters = s?.profileIds?.length ? s.profileIds.map((profileId) => ({ profileId })) : [{}];
  const out: RuleDevice[] = [];
  for (const f of filters) {
    const page = await store.devices.list({ tenantId: input.tenantId, limit: replayLimits.maxDevices, offset: 0, sort: 'name', order: 'asc', ...f });
    out.push(...page.items.map(plain));
  }
  for (const id of s?.deviceIds ?? []) {
    const d = await store.devices.get(id);
    if (d && d.tenantId === input.tenantId && !out.some((x) => x.id === id)) out.push(plain(d));
  }
  const kept: RuleDevice[] = [];
  for (const d of out) {
    if (r.scopeFilter && !truthy(await r.scopeFilter.evaluate(d, {}, input.from).catch(() => false))) continue;
    kept.push(d);
  }
  return kept.slice(0, replayLimits.maxDevices);
}

/**
 * Runs a rule over stored telemetry in time order through the live evaluator (RuleInstance) with a simulated
 * clock: timers (durations, no-data, escalation) fire at their due times between messages, and schedules tick
 * at their cron times. State is warmed up from the rule's look-back before `from`, as the live engine does after
 * a restart. Nothing is sent: actions are recorded. Attributes are the devices' current ones.
 */
export async function replayRule(ports: { store: Store }, input: ReplayInput): Promise<ReplayResult> {
  const { store } = ports;
  if (!(input.from < input.to)) fail('VALIDATION', 'from must be before to.', { field: 'from' });
  if (input.to - input.from > replayLimits.maxRangeMs) fail('VALIDATION', 'A replay covers at most 31 days.', { field: 'to' });
  const r = compileRule({ ...input.rule, enabled: true }, { id: 'replay', tenantId: input.tenantId, version: 0 });
  if (r.trigger.type !== 'telemetry' && r.trigger.type !== 'schedule') {
    fail('VALIDATION', `Replay runs telemetry and schedule rules; ${r.trigger.type} events are not stored.`, { field: 'rule.trigger.type' });
  }
  const started = performance.now();
  const out: ReplayResult = {
    from: input.from,
    to: input.to,
    devices: 0,
    messages: 0,
    points: 0,
    evaluations: 0,
    durationMs: 0,
    pointsPerSecond: 0,
    alarms: [],
    transitions: [],
    actions: [],
    actionCounts: {},
    errors: [],
    truncated: false,
  };
  const devices = await devicesOf(store, r, input);
  out.devices = devices.length;
  const hasExpressions = JSON.stringify(r.doc).includes('"expression"') || r.doc.actions.some((a) => a.type === 'telemetry');
  for (const device of devices) {
    await replayDevice(store, r, device, input, hasExpressions, out);
    if (out.points > replayLimits.maxPoints) {
      out.truncated = true;
      break;
    }
  }
  out.actions.sort((a, b) => a.at - b.at);
  out.transitions.sort((a, b) => a.at - b.at);
  out.alarms.sort((a, b) => a.startTs - b.startTs);
  out.durationMs = Math.round(performance.now() - started);
  out.pointsPerSecond = Math.round(out.points / Math.max(0.001, (performance.now() - started) / 1000));
  return out;
}

async function replayDevice(store: Store, r: CompiledRule, device: RuleDevice, input: ReplayInput, allKeys: boolean, out: ReplayResult): Promise<void> {
  const inst = new RuleInstance(r);
  const keys = r.keys && !allKeys ? [...r.keys] : await store.telemetry.keys(device.id);
  const s = await store.attributes.read(device.id);
  const plain = (m: Record<string, { value: unknown }>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.value]));
  const attributes = { client: plain(s.client), server: plain(s.server), shared: plain(s.shared) };
  const values: Record<string, TelemetryValue> = {};
  const latestTs: Record<string, number> = {};
  const open = new Map<string, ReplayAlarm>();
  let wakeAt = Infinity;
  let tick = r.cron ? nextTick(r.cron, input.from - 1) : null;

  const evaluate = async (now: number, trigger: InstanceInput['trigger'], message: Record<string, TelemetryValue>, dry: boolean) => {
    if (!dry) out.evaluations++;
    let next = Infinity;
    try {
      const e = await inst.evaluate(
        {
          now,
          trigger,
          message,
          values,
          latestTs,
          attributes,
          device,
          event: { type: trigger === 'timer' ? 'timer' : trigger, ...(trigger === 'schedule' ? { at: now } : {}) },
          wake: (at) => (next = Math.min(next, at)),
        },
        dry,
      );
      if (!dry && (e.rise || e.fall)) push(out, out.transitions, { at: now, deviceId: device.id, result: e.result });
      for (const a of e.actions) record(out, open, device.id, now, a);
    } catch (err) {
      if (!dry) push(out, out.errors, { at: now, deviceId: device.id, message: err instanceof Error ? err.message : String(err) });
    }
    if (!dry) wakeAt = Math.min(wakeAt, next);
  };
  const until = async (t: number) => {
    for (;;) {
      const nextTimer = wakeAt <= t ? wakeAt : Infinity;
      const nextTick = tick !== null && tick <= t ? tick : Infinity;
      if (nextTimer === Infinity && nextTick === Infinity) return;
      if (nextTick <= nextTimer) {
        tick = r.cron ? nextTickAfter(r, nextTick) : null;
        await evaluate(nextTick, 'schedule', {}, false);
      } else {
        wakeAt = Infinity;
        await evaluate(nextTimer, 'timer', {}, false);
      }
    }
  };

  for await (const m of storedMessages(store.telemetry, device.id, keys, input.from - r.warmupMs, input.to)) {
    const dry = m.ts < input.from;
    if (!dry) await until(m.ts - 1);
    Object.assign(values, m.values);
    const mkeys = Object.keys(m.values);
    for (const k of mkeys) latestTs[k] = m.ts;
    if (!dry) {
      out.messages++;
      out.points += mkeys.length;
    }
    if (r.trigger.type !== 'telemetry') continue;
    if (r.keys && !mkeys.some((k) => r.keys?.has(k))) continue;
    if (r.ownKeys.size > 0 && mkeys.every((k) => r.ownKeys.has(k))) continue;
    await evaluate(m.ts, 'telemetry', m.values, dry);
    if (out.points > replayLimits.maxPoints) return;
  }
  await until(input.to - 1);
}

function nextTickAfter(r: CompiledRule, after: number): number | null {
  return r.cron ? nextTick(r.cron, after) : null;
}

function push<T>(out: ReplayResult, list: T[], item: T): void {
  if (list.length >= replayLimits.maxListed) out.truncated = true;
  else list.push(item);
}

function record(out: ReplayResult, open: Map<string, ReplayAlarm>, deviceId: string, at: number, a: PlannedAction): void {
  out.actionCounts[a.type] = (out.actionCounts[a.type] ?? 0) + 1;
  push(out, out.actions, { at, deviceId, type: a.type, detail: a.detail });
  if (!a.alarm) return;
  const current = open.get(a.alarm.type);
  if (a.alarm.op === 'clear') {
    if (current) {
      current.clearedAt = at;
      open.delete(a.alarm.type);
    }
    return;
  }
  const severity = a.alarm.severity ?? 'INDETERMINATE';
  if (!current) {
    const alarm: ReplayAlarm = { deviceId, alarmType: a.alarm.type, severity, startTs: at, endTs: at, clearedAt: null, escalations: [] };
    open.set(a.alarm.type, alarm);
    push(out, out.alarms, alarm);
    return;
  }
  current.endTs = at;
  if (severity !== current.severity) {
    current.escalations.push({ at, severity });
    current.severity = severity;
  }
}

import { alarmSeverityNames, type RuleAlarmSeverity } from '../model';
import type { ActionDef, PlannedAction } from './types';

type Spec = {
  type: 'alarm';
  alarmType: string;
  severity: RuleAlarmSeverity;
  escalation?: { afterMs: number; severity: RuleAlarmSeverity }[];
  clear?: boolean;
  details?: string;
};

/** An active alarm is extended (its end time moved) at most this often while its condition stays true. */
export const alarmExtendIntervalMs = 10_000;

function severityAt(spec: Spec, activeFor: number): RuleAlarmSeverity {
  let s = spec.severity;
  for (const step of spec.escalation ?? []) if (activeFor >= step.afterMs) s = step.severity;
  return s;
}

/**
 * Raises the alarm while the condition holds: created on rise, extended while true, escalated as it stays active
 * past each escalation step; cleared on fall (unless clear is false).
 */
export const alarmAction: ActionDef<Spec> = {
  type: 'alarm',
  defaultOn: 'true',
  always: true,
  validate(o, path, c) {
    c.string(o.alarmType, `${path}/alarmType`, 1, 128);
    c.oneOf(o.severity, `${path}/severity`, alarmSeverityNames);
    c.boolean(o.clear, `${path}/clear`);
    if (o.details !== undefined) c.expression(o.details, `${path}/details`);
    const steps = c.array(o.escalation, `${path}/escalation`, 1, 5);
    let last = 0;
    steps?.forEach((step, i) => {
      const p = `${path}/escalation/${i}`;
      const s = c.object(step, p, ['afterMs', 'severity'], ['afterMs', 'severity']);
      if (!s) return;
      const after = c.integer(s.afterMs, `${p}/afterMs`, 1, 30 * 86_400_000, ' ms');
      c.oneOf(s.severity, `${p}/severity`, alarmSeverityNames);
      if (after !== undefined && after <= last) c.add(`${p}/afterMs`, 'must be larger than the previous step');
      if (after !== undefined) last = after;
    });
  },
  expressions: (s) => (s.details === undefined ? [] : [s.details]),
  idle(spec, state, result, now) {
    // Nothing held and nothing to raise; or held, extended recently, and no escalation step to watch.
    if (!result) return state.activeSince === undefined;
    if (state.activeSince === undefined || state.severity === undefined || (spec.escalation?.length ?? 0) > 0) return false;
    return now - (state.extendedAt ?? 0) < alarmExtendIntervalMs;
  },
  async plan(spec, x, index) {
    const base = { tenantId: x.tenantId, deviceId: x.deviceId, type: spec.alarmType, at: x.now, ruleId: x.ruleId };
    if (!x.result) {
      const held = x.state.activeSince !== undefined;
      delete x.state.activeSince;
      delete x.state.severity;
      delete x.state.extendedAt;
      if (!x.fall || spec.clear === false || !held) return undefined;
      return {
        type: 'alarm',
        index,
        detail: { op: 'clear', alarmType: spec.alarmType },
        alarm: { op: 'clear', type: spec.alarmType },
        run: (p) => p.clearAlarm(base),
      };
    }
    const since = (x.state.activeSince ??= x.now);
    const severity = severityAt(spec, x.now - since);
    const next = (spec.escalation ?? []).find((s) => x.now - since < s.afterMs);
    if (next) x.wake(since + next.afterMs);
    const change = x.state.severity === undefined ? 'created' : x.state.severity !== severity ? 'escalated' : 'extended';
    if (change === 'extended' && x.now - (x.state.extendedAt ?? 0) < alarmExtendIntervalMs) return undefined;
    x.state.severity = severity;
    x.state.extendedAt = x.now;
    let details: Record<string, unknown> = { ...x.message };
    if (spec.details !== undefined) {
      const d = await x.expression(spec.details).evaluate(x.values, x.bindings, x.now);
      details = d !== null && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>) : { value: d };
    }
    const planned: PlannedAction = {
      type: 'alarm',
      index,
      detail: { op: 'raise', alarmType: spec.alarmType, severity, change },
      alarm: { op: 'raise', type: spec.alarmType, severity, change },
      run: (p) => p.raiseAlarm({ ...base, severity, details }),
    };
    return planned;
  },
};

export const clearAlarmAction: ActionDef<{ type: 'clear-alarm'; alarmType: string }> = {
  type: 'clear-alarm',
  defaultOn: 'rise',
  validate(o, path, c) {
    c.string(o.alarmType, `${path}/alarmType`, 1, 128);
  },
  expressions: () => [],
  plan(spec, x, index) {
    return Promise.resolve({
      type: 'clear-alarm',
      index,
      detail: { alarmType: spec.alarmType },
      alarm: { op: 'clear', type: spec.alarmType },
      run: (p) => p.clearAlarm({ tenantId: x.tenantId, deviceId: x.deviceId, type: spec.alarmType, at: x.now, ruleId: x.ruleId }),
    });
  },
};

import { analyticTypes, validateAnalyticSpec } from './analytics';
import { actionRegistry } from './actions';
import { Checker, pointer, type RuleProblem } from './checker';
import { conditionRegistry } from './conditions';
import { actionWhens, alarmChanges, connectivityChanges, rpcTriggerStatuses, type RuleDocument } from './model';
import { checkSchedule } from './schedule';

export const ruleLimits = { maxActions: 16, maxAnalytics: 16, maxConditionDepth: 8, maxScopeIds: 1000 };

const triggerTypes = ['telemetry', 'attributes', 'connectivity', 'rpc', 'alarm', 'schedule'] as const;
const triggerFields: Record<(typeof triggerTypes)[number], string[]> = {
  telemetry: ['type', 'keys'],
  attributes: ['type', 'scope', 'keys'],
  connectivity: ['type', 'changes'],
  rpc: ['type', 'statuses', 'methods'],
  alarm: ['type', 'alarmTypes', 'changes'],
  schedule: ['type', 'cron', 'timezone'],
};

function validateTrigger(v: unknown, path: string, c: Checker): void {
  const o = c.object(v, path, ['type', 'keys', 'scope', 'changes', 'statuses', 'methods', 'alarmTypes', 'cron', 'timezone'], ['type']);
  if (!o) return;
  const t = c.oneOf(o.type, `${path}/type`, triggerTypes);
  if (!t) return;
  for (const k of Object.keys(o)) if (!triggerFields[t].includes(k)) c.add(`${path}/${k}`, `is not a field of a ${t} trigger`);
  c.strings(o.keys, `${path}/keys`, 64, 128);
  c.oneOf(o.scope, `${path}/scope`, ['client', 'server', 'shared'] as const);
  (c.array(o.changes, `${path}/changes`, 1, 8) ?? []).forEach((x, i) => c.oneOf(x, `${path}/changes/${i}`, t === 'alarm' ? alarmChanges : connectivityChanges));
  (c.array(o.statuses, `${path}/statuses`, 1, 8) ?? []).forEach((x, i) => c.oneOf(x, `${path}/statuses/${i}`, rpcTriggerStatuses));
  c.strings(o.methods, `${path}/methods`, 32, 128);
  c.strings(o.alarmTypes, `${path}/alarmTypes`, 32, 128);
  if (t === 'schedule') {
    const cron = c.string(o.cron, `${path}/cron`, 1, 128);
    if (cron === undefined && o.cron === undefined) c.add(`${path}/cron`, 'is required');
    const tz = c.string(o.timezone, `${path}/timezone`, 1, 64);
    if (cron !== undefined) {
      const problem = checkSchedule(cron, tz);
      if (problem) c.add(problem.field === 'timezone' ? `${path}/timezone` : `${path}/cron`, problem.message);
    }
  }
}

function validateCondition(v: unknown, path: string, c: Checker, depth: number): void {
  const types = Object.keys(conditionRegistry) as (keyof typeof conditionRegistry)[];
  if (depth > ruleLimits.maxConditionDepth) {
    c.add(path, `conditions nest at most ${ruleLimits.maxConditionDepth} deep`);
    return;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    c.add(path, 'must be an object');
    return;
  }
  const type = c.oneOf((v as { type?: unknown }).type, `${path}/type`, types);
  if ((v as { type?: unknown }).type === undefined) {
    c.add(`${path}/type`, 'is required');
    return;
  }
  if (!type) return;
  const def = conditionRegistry[type];
  const o = v as Record<string, unknown>;
  def.validate(o, path, c, (s, p) => {
    validateCondition(s, p, c, depth + 1);
  });
  const allowed = new Set(['type', ...fieldsOf[type]]);
  for (const k of Object.keys(o)) if (!allowed.has(k)) c.add(pointer(path, k), `is not a field of a ${type} condition`);
}

const fieldsOf: Record<keyof typeof conditionRegistry, string[]> = {
  expression: ['expression'],
  threshold: ['key', 'op', 'value', 'valueFrom', 'hysteresis'],
  duration: ['forMs', 'condition'],
  repeat: ['count', 'withinMs', 'condition'],
  window: ['key', 'fn', 'windowMs', 'op', 'value'],
  nodata: ['key', 'forMs'],
  anomaly: ['key', 'method', 'windowMs', 'halfLifeMs', 'threshold'],
  forecast: ['key', 'windowMs', 'horizonMs', 'op', 'value'],
  all: ['conditions'],
  any: ['conditions'],
  not: ['condition'],
};

const actionFields: Record<keyof typeof actionRegistry, string[]> = {
  alarm: ['alarmType', 'severity', 'escalation', 'clear', 'details'],
  'clear-alarm': ['alarmType'],
  rpc: ['method', 'params', 'persistent', 'cooldownMs'],
  attributes: ['scope', 'values', 'cooldownMs'],
  telemetry: ['values'],
  notify: ['channelIds', 'subject', 'body'],
  republish: ['topic', 'payload', 'qos', 'retain'],
  webhook: ['url', 'secret', 'payload', 'headers'],
};

function validateAction(v: unknown, path: string, c: Checker): void {
  const types = Object.keys(actionRegistry) as (keyof typeof actionRegistry)[];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    c.add(path, 'must be an object');
    return;
  }
  const o = v as Record<string, unknown>;
  if (o.type === undefined) {
    c.add(`${path}/type`, 'is required');
    return;
  }
  const type = c.oneOf(o.type, `${path}/type`, types);
  if (!type) return;
  c.oneOf(o.on, `${path}/on`, actionWhens);
  actionRegistry[type].validate(o, path, c);
  const allowed = new Set(['type', 'on', ...actionFields[type]]);
  for (const k of Object.keys(o)) if (!allowed.has(k)) c.add(pointer(path, k), `is not a field of a ${type} action`);
}

/** Every problem of a rule document, each at its field (JSON Pointer); empty when it is valid. */
export function validateRule(doc: unknown): RuleProblem[] {
  const c = new Checker();
  const o = c.object(doc, '', ['name', 'description', 'enabled', 'scope', 'trigger', 'condition', 'analytics', 'actions'], ['name', 'trigger', 'actions']);
  if (!o) return c.problems;
  c.string(o.name, '/name', 1, 255);
  c.string(o.description, '/description', 0, 4096);
  c.boolean(o.enabled, '/enabled');
  if (o.scope !== undefined) {
    const s = c.object(o.scope, '/scope', ['profileIds', 'deviceIds', 'filter']);
    if (s) {
      c.strings(s.profileIds, '/scope/profileIds', ruleLimits.maxScopeIds, 64);
      c.strings(s.deviceIds, '/scope/deviceIds', ruleLimits.maxScopeIds, 64);
      if (s.filter !== undefined) c.expression(s.filter, '/scope/filter');
    }
  }
  if (o.trigger !== undefined) validateTrigger(o.trigger, '/trigger', c);
  if (o.condition !== undefined) validateCondition(o.condition, '/condition', c, 1);
  if (o.analytics !== undefined) {
    const a = c.object(o.analytics, '/analytics', Object.keys(o.analytics ?? {}));
    if (a) {
      if (Object.keys(a).length > ruleLimits.maxAnalytics) c.add('/analytics', `must have at most ${ruleLimits.maxAnalytics} entries`);
      for (const [name, spec] of Object.entries(a)) {
        const p = pointer('/analytics', name);
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) c.add(p, 'name must be an identifier (letters, digits, _), usable as $analytics.<name>');
        for (const e of validateAnalyticSpec(spec, p)) c.add(e.path, e.message);
      }
    }
  }
  const actions = c.array(o.actions, '/actions', 1, ruleLimits.maxActions);
  actions?.forEach((a, i) => {
    validateAction(a, `/actions/${i}`, c);
  });
  return c.problems;
}

export { analyticTypes };
export type { RuleDocument };

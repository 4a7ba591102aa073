import type { TelemetryValue } from '../../telemetry/model';
import type { ActionDef } from './types';

/**
 * Calculated telemetry: each key's expression over the values (and $analytics), stored as its own time series at
 * the trigger's timestamp. A value that is not a number, string, boolean or object is left out.
 */
export const telemetryAction: ActionDef<{ type: 'telemetry'; values: Record<string, string> }> = {
  type: 'telemetry',
  defaultOn: 'true',
  validate(o, path, c) {
    const v = c.object(o.values, `${path}/values`, Object.keys((o.values as object | null) ?? {}));
    if (!v) return;
    if (Object.keys(v).length === 0 || Object.keys(v).length > 32) c.add(`${path}/values`, 'must name 1 to 32 keys');
    for (const [k, e] of Object.entries(v)) {
      if (!/^[A-Za-z0-9_.-]{1,128}$/.test(k)) c.add(`${path}/values/${k}`, 'key must be 1-128 letters, digits, _ . -');
      c.expression(e, `${path}/values/${k}`);
    }
  },
  expressions: (s) => Object.values(s.values),
  async plan(spec, x, index) {
    const values: Record<string, TelemetryValue> = {};
    for (const [k, src] of Object.entries(spec.values)) {
      const v = await x.expression(src).evaluate(x.values, x.bindings, x.now);
      if (typeof v === 'number' ? Number.isFinite(v) : typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'object' && v !== null)) {
        values[k] = v as TelemetryValue;
      }
    }
    if (Object.keys(values).length === 0) return undefined;
    return {
      type: 'telemetry',
      index,
      detail: { ts: x.now, values },
      run: (p) => p.writeTelemetry({ tenantId: x.tenantId, deviceId: x.deviceId, ts: x.now, values }),
    };
  },
};

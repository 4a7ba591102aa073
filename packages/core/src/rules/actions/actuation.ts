import { attributeScopes } from './scopes';
import { defaultCooldownMs, type ActionContext, type ActionDef } from './types';

/** A flapping condition must not hammer a device: an actuation runs at most once per cooldown. */
function coolingDown(x: ActionContext, cooldownMs: number | undefined): boolean {
  const last = x.state.lastRunAt;
  if (last !== undefined && x.now - last < (cooldownMs ?? defaultCooldownMs)) return true;
  x.state.lastRunAt = x.now;
  return false;
}

type RpcSpec = { type: 'rpc'; method: string; params?: unknown; persistent?: boolean; cooldownMs?: number };

/** A command to the device (one-way; persistent ones are stored and delivered when it is reachable). */
export const rpcAction: ActionDef<RpcSpec> = {
  type: 'rpc',
  defaultOn: 'rise',
  validate(o, path, c) {
    c.string(o.method, `${path}/method`, 1, 128);
    c.json(o.params, `${path}/params`, 65_536);
    c.boolean(o.persistent, `${path}/persistent`);
    c.integer(o.cooldownMs, `${path}/cooldownMs`, 0, 86_400_000, ' ms');
  },
  expressions: () => [],
  plan(spec, x, index) {
    if (coolingDown(x, spec.cooldownMs)) return Promise.resolve(undefined);
    const params = spec.params ?? {};
    const persistent = spec.persistent ?? false;
    return Promise.resolve({
      type: 'rpc',
      index,
      detail: { method: spec.method, params, persistent },
      run: (p) => p.rpc({ tenantId: x.tenantId, deviceId: x.deviceId, method: spec.method, params, persistent }),
    });
  },
};

type AttributesSpec = { type: 'attributes'; scope: 'shared' | 'server'; values: Record<string, unknown>; cooldownMs?: number };

/** Sets shared attributes (the device's desired state, pushed to it) or server attributes. */
export const attributesAction: ActionDef<AttributesSpec> = {
  type: 'attributes',
  defaultOn: 'rise',
  validate(o, path, c) {
    c.oneOf(o.scope, `${path}/scope`, attributeScopes);
    const v = c.object(o.values, `${path}/values`, Object.keys((o.values as object | null) ?? {}));
    if (v && Object.keys(v).length === 0) c.add(`${path}/values`, 'must set at least one attribute');
    c.json(o.values, `${path}/values`, 65_536);
    c.integer(o.cooldownMs, `${path}/cooldownMs`, 0, 86_400_000, ' ms');
  },
  expressions: () => [],
  plan(spec, x, index) {
    if (coolingDown(x, spec.cooldownMs)) return Promise.resolve(undefined);
    return Promise.resolve({
      type: 'attributes',
      index,
      detail: { scope: spec.scope, values: spec.values },
      run: (p) => p.setAttributes({ tenantId: x.tenantId, deviceId: x.deviceId, scope: spec.scope, values: spec.values }),
    });
  },
};

/**
 * The MQTT topic namespace and who may use which topics (DESIGN.md invariant 3).
 *
 * Devices use the ThingsBoard device API topics under v1/devices/me/. Application clients (a user's API key)
 * read device data of their tenant under tenants/{tenantId}/devices/{deviceId}/..., which the platform
 * publishes after each commit. Nobody but the platform publishes there.
 */
export const deviceTopics = {
  telemetry: 'v1/devices/me/telemetry',
  attributes: 'v1/devices/me/attributes',
} as const;

/** ThingsBoard's gateway API: a gateway device speaks for its children (gateway-api.ts). */
export const gatewayTopics = {
  connect: 'v1/gateway/connect',
  disconnect: 'v1/gateway/disconnect',
  telemetry: 'v1/gateway/telemetry',
  /** Published: children's client attributes; subscribed: shared-attribute changes of the connected children. */
  attributes: 'v1/gateway/attributes',
  attributeRequest: 'v1/gateway/attributes/request',
  attributeResponse: 'v1/gateway/attributes/response',
  /** Subscribed: commands to the children; published: their answers. */
  rpc: 'v1/gateway/rpc',
} as const;

const gatewayPublishable = new Set<string>([
  gatewayTopics.connect,
  gatewayTopics.disconnect,
  gatewayTopics.telemetry,
  gatewayTopics.attributes,
  gatewayTopics.attributeRequest,
  gatewayTopics.rpc,
]);
const gatewaySubscribable = new Set<string>([gatewayTopics.attributes, gatewayTopics.attributeResponse, gatewayTopics.rpc]);
const notAGateway: Verdict = { ok: false, reason: 'only gateway devices (created or changed with "gateway": true) use the v1/gateway/ topics' };

/** Device API topics a device may subscribe to: shared-attribute pushes, answers to its requests, commands. */
const deviceSubscribable = [
  /^v1\/devices\/me\/attributes$/,
  /^v1\/devices\/me\/attributes\/response\/(\+|[^/+#]+)$/,
  /^v1\/devices\/me\/rpc\/request\/(\+|[^/+#]+)$/,
  /^v1\/devices\/me\/rpc\/response\/(\+|[^/+#]+)$/,
];

export type Verdict = { ok: true } | { ok: false; reason: string };

const allow: Verdict = { ok: true };

/** Device API topics a device may publish to (the request and response ids: one topic level). */
const devicePublishable = [
  /^v1\/devices\/me\/telemetry$/,
  /^v1\/devices\/me\/attributes$/,
  /^v1\/devices\/me\/attributes\/request\/[^/+#]+$/,
  /^v1\/devices\/me\/rpc\/request\/[^/+#]+$/,
  /^v1\/devices\/me\/rpc\/response\/[^/+#]+$/,
];

/** `gateway`: the device was a gateway when it connected; only then are the gateway API topics its own too. */
export function devicePublishVerdict(topic: string, gateway = false): Verdict {
  if (devicePublishable.some((re) => re.test(topic))) return allow;
  if (topic.startsWith('v1/gateway/')) {
    if (!gateway) return notAGateway;
    return gatewayPublishable.has(topic) ? allow : { ok: false, reason: `${topic} is reserved and not served yet` };
  }
  if (topic.startsWith('v1/devices/me/')) return { ok: false, reason: `${topic} is reserved and not served yet` };
  return { ok: false, reason: 'devices publish only to their device API topics under v1/devices/me/' };
}

export function deviceSubscribeVerdict(filter: string, gateway = false): Verdict {
  if (deviceSubscribable.some((re) => re.test(filter))) return allow;
  if (filter.startsWith('v1/gateway/')) {
    if (!gateway) return notAGateway;
    if (gatewaySubscribable.has(filter)) return allow;
  }
  return { ok: false, reason: 'devices subscribe only to their own device API topics under v1/devices/me/ (gateways also to v1/gateway/...)' };
}

/**
 * Each device lives in its own part of the broker's topic space (the broker's mount point, ADR 0005): its
 * `v1/devices/me/...` is `devices/{deviceId}/v1/devices/me/...` inside the broker, so two devices on identical
 * filters never see each other's traffic, and the platform reaches one device by publishing to deviceTopic().
 */
export const deviceMountPoint = (deviceId: string): string => `devices/${deviceId}/`;

/** The broker's name of a topic as the device sees it, e.g. deviceTopic(id, 'v1/devices/me/rpc/request/7'). */
export const deviceTopic = (deviceId: string, topic: string): string => deviceMountPoint(deviceId) + topic;

export const appTelemetryTopic = (tenantId: string, deviceId: string): string => `tenants/${tenantId}/devices/${deviceId}/telemetry`;
/** Where a rule's republish action publishes: its tenant's tenants/{tenantId}/rules/ space, which only the platform writes. */
export const ruleTopic = (tenantId: string, topic: string): string => `tenants/${tenantId}/rules/${topic}`;

/**
 * Application clients subscribe to filters under tenants/{their tenant}/devices/ (device data) and
 * tenants/{their tenant}/rules/ (what rules republish). The tenant level must be
 * literal: `+` or `#` there would reach other tenants. A system admin may name any tenant.
 */
export function appSubscribeVerdict(filter: string, tenantId: string, isAdmin: boolean): Verdict {
  const levels = filter.split('/');
  const [root, tenant, devices] = levels;
  if (root !== 'tenants' || tenant === undefined || tenant === '+' || tenant === '#' || tenant === '') {
    return { ok: false, reason: 'applications subscribe under tenants/{tenantId}/devices/...' };
  }
  if (!isAdmin && tenant !== tenantId) return { ok: false, reason: 'not your tenant' };
  if (devices !== undefined && devices !== 'devices' && devices !== 'rules' && devices !== '+' && devices !== '#')
    return { ok: false, reason: 'applications subscribe under tenants/{tenantId}/devices/... or tenants/{tenantId}/rules/...' };
  return allow;
}

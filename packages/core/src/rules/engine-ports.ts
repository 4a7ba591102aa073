import type { NotifyInput, WebhookInput } from '../notifications/notification-service';
import type { Principal } from '../accounts/model';
import type { AttributeService } from '../attributes/attribute-service';
import type { RpcService } from '../rpc/rpc-service';
import type { TelemetryService } from '../telemetry/telemetry-service';
import type { ActionPorts } from './actions';
import type { RuleAlarmSeverity } from './model';

/** What the alarm action needs of the alarm service. */
export interface RuleAlarms {
  raise(i: {
    tenantId: string;
    deviceId: string;
    type: string;
    severity: RuleAlarmSeverity;
    at: number;
    details?: Record<string, unknown>;
    ruleId?: string;
  }): Promise<{
    alarm: { id: string };
    change: string;
  }>;
  clear(i: { tenantId: string; deviceId: string; type: string; at: number; ruleId?: string }): Promise<{ id: string } | undefined>;
}

/** What the notify and webhook actions need of the notification service. */
export interface RuleNotifications {
  notify(i: NotifyInput): Promise<void>;
  webhook(i: WebhookInput): Promise<void>;
}

/** Publishes on the platform's MQTT broker under the tenant's topic space (the server's port; none: republish actions fail saying why). */
export type Republisher = (i: { tenantId: string; topic: string; payload: string; qos: 0 | 1; retain: boolean }) => Promise<void>;

/** A rule acts as a tenant admin of its own tenant, and nothing more. */
function ruleActor(tenantId: string): Principal {
  return { userId: 'rule', tenantId, role: 'tenant-admin', via: 'api-key' };
}

/** The live engine's actions, through the same services a user's request goes through (tenancy, limits, events). */
export function engineActionPorts(o: {
  rpc: RpcService;
  attributes: AttributeService;
  telemetry: TelemetryService;
  alarms: RuleAlarms;
  notifications: RuleNotifications;
  republish?: Republisher | undefined;
}): ActionPorts {
  return {
    raiseAlarm: async (i) => {
      const r = await o.alarms.raise(i);
      return `${r.change} ${r.alarm.id}`;
    },
    clearAlarm: async (i) => {
      const a = await o.alarms.clear(i);
      return a ? `cleared ${a.id}` : 'no active alarm';
    },
    rpc: async (i) => {
      const r = await o.rpc.call(ruleActor(i.tenantId), i.deviceId, { method: i.method, params: i.params, oneway: true, persistent: i.persistent });
      return 'persistent' in r ? `stored ${r.id} (${r.status})` : `sent as rpc ${r.rpcId}`;
    },
    setAttributes: async (i) => {
      await o.attributes.set(ruleActor(i.tenantId), i.deviceId, i.scope, i.values);
      return 'set';
    },
    writeTelemetry: async (i) => {
      const r = await o.telemetry.ingest({ tenantId: i.tenantId, deviceId: i.deviceId, receivedAt: i.ts, payload: { ts: i.ts, values: i.values } });
      return `stored ${r.points} values`;
    },
    notify: async (i) => {
      await o.notifications.notify(i);
      return `queued for ${i.channelIds.length} channel(s)`;
    },
    webhook: async (i) => {
      await o.notifications.webhook(i);
      return 'queued';
    },
    republish: async (i) => {
      if (!o.republish) throw new Error('no MQTT broker to publish on');
      await o.republish(i);
      return `published to ${i.topic}`;
    },
  };
}

import { ReasonCode, type Broker, type Client } from '@thingstead/broker';
import type { Connected, EventBus } from '@thingstead/core';

/** What the authenticate hook attaches to a connection: core's answer to who connected. */
export type MqttUser = Connected;

export const userOf = (client: Client): MqttUser => client.user as MqttUser;

/**
 * The broker namespace of a principal (DESIGN.md invariant 8): sessions, takeover and client ids are scoped to
 * it, so another principal using the same client id reaches a different session. An application's sessions
 * belong to its user (any of the user's API keys resumes them); a device's to the device.
 */
export function namespaceOf(u: MqttUser): string {
  return u.kind === 'device' ? `device:${u.tenantId}:${u.deviceId}` : `user:${u.principal.tenantId}:${u.principal.userId}`;
}

const tenantOfNamespace = (ns: string): string | undefined => ns.split(':')[1];

/**
 * Revocation ends live connections at once (v5: DISCONNECT 0x87 with a reason string): a deleted device or user
 * also loses its stored sessions (wills discarded); rotated device credentials, a revoked API key or a changed
 * role, or a device made a gateway or no longer one, end the connections, and the next CONNECT is authenticated and its subscriptions authorized again.
 * Returns the unsubscribe function.
 */
export function watchRevocations(bus: EventBus, broker: Broker): () => void {
  const end = (ns: string, reasonString: string, deleteSessions: boolean) => {
    broker.endSessions((n) => n === ns, { reasonCode: ReasonCode.NotAuthorized, reasonString, deleteSessions });
  };
  const name = 'mqtt-revocations';
  const offs = [
    bus.subscribe(
      'device.deleted',
      (e) => {
        end(namespaceOf({ kind: 'device', deviceId: e.deviceId, tenantId: e.tenantId }), 'device deleted', true);
      },
      { name },
    ),
    bus.subscribe(
      'device.credentials',
      (e) => {
        end(namespaceOf({ kind: 'device', deviceId: e.deviceId, tenantId: e.tenantId }), 'device credentials changed', false);
      },
      { name },
    ),
    bus.subscribe(
      'device.gateway',
      (e) => {
        end(
          namespaceOf({ kind: 'device', deviceId: e.deviceId, tenantId: e.tenantId }),
          e.gateway ? 'device became a gateway' : 'device is no gateway any more',
          false,
        );
      },
      { name },
    ),
    bus.subscribe(
      'user.access',
      (e) => {
        const why = { role: 'user permissions changed', disabled: 'user disabled', deleted: 'user deleted' }[e.change];
        end(`user:${e.tenantId}:${e.userId}`, why, e.change === 'deleted');
      },
      { name },
    ),
    bus.subscribe(
      'tenant.deleted',
      (e) => {
        broker.endSessions((n) => tenantOfNamespace(n) === e.tenantId, {
          reasonCode: ReasonCode.NotAuthorized,
          reasonString: 'tenant deleted',
          deleteSessions: true,
        });
      },
      { name },
    ),
    bus.subscribe(
      'apikey.revoked',
      (e) => {
        for (const c of [...broker.clients]) {
          const u = userOf(c);
          if (u.kind === 'app' && u.principal.apiKeyId === e.keyId) c.disconnect(ReasonCode.NotAuthorized, 'API key revoked');
        }
      },
      { name },
    ),
  ];
  return () => {
    for (const off of offs) off();
  };
}

import { ReasonCode, type AuthResult, type BrokerHooks, type Client } from '@thingstead/broker';
import type { Core } from '@thingstead/core';
import type { AuthFailureLog } from '../../logging';
import { deviceApiHandler, type DeviceReply } from './device-api';
import { gatewayApiHandler, type GatewaySessions } from './gateway-api';
import { namespaceOf, userOf } from './identity';
import { mqttReasonFor } from './reason-codes';
import { appSubscribeVerdict, deviceMountPoint, devicePublishVerdict, deviceSubscribeVerdict, deviceTopics } from './topics';

const consumed = { route: false } as const;

/**
 * The platform's broker hooks. Each converts MQTT to a core call and the answer back: CONNECT credentials to
 * core's authentication (a device gets its own mount point), a device's telemetry PUBLISH to core's receive
 * (PUBACK/PUBREC wait for the commit), a refusal to the MQTT 5 reason code. Topics are the client's own view
 * (without the mount point), as the broker gives them to hooks.
 */
export function platformHooks(core: Core, o: { authFailures: AuthFailureLog; reply: DeviceReply; gateways: GatewaySessions }): BrokerHooks {
  /** A refusal the v5 client gets as its PUBACK reason code; a fault (or any refusal under 3.1.1) closes the connection unacknowledged. */
  const refusal = (client: Client) => (e: unknown) => {
    const r = client.protocolVersion === 5 ? mqttReasonFor(e) : undefined;
    if (r) return r;
    throw e;
  };
  return {
    authenticate: async (req): Promise<AuthResult> => {
      const v = await core.ingress.authenticate({ clientId: req.clientId, username: req.username, password: req.password?.toString('utf8') });
      if (!v.ok) {
        // The username is a device's token: it is not logged.
        o.authFailures.record({ transport: 'mqtt', remoteAddress: req.remoteAddress, reason: v.reason, clientId: req.clientId });
        return { ok: false, reasonCode: ReasonCode.NotAuthorized, reasonString: v.reason };
      }
      const who = v.who;
      return { ok: true, user: who, namespace: namespaceOf(who), ...(who.kind === 'device' ? { mountPoint: deviceMountPoint(who.deviceId) } : {}) };
    },
    authorizePublish: (client, p) => {
      const u = userOf(client);
      if (u.kind === 'app') return ReasonCode.NotAuthorized;
      return devicePublishVerdict(p.topic, u.gateway === true).ok ? true : ReasonCode.NotAuthorized;
    },
    authorizeSubscribe: (client, sub) => {
      const u = userOf(client);
      if (u.kind === 'device') return deviceSubscribeVerdict(sub.topic, u.gateway === true).ok;
      const filter = sub.shareGroup === undefined ? sub.topic : sub.topic.replace(/^\$share\/[^/]+\//, '');
      return appSubscribeVerdict(filter, u.principal.tenantId, u.principal.role === 'admin').ok;
    },
    onPublish: (client, p) => {
      const u = userOf(client);
      if (u.kind !== 'device') return Promise.resolve(undefined);
      if (p.topic.startsWith('v1/gateway/')) {
        const handle = gatewayApiHandler(p.topic);
        const session = o.gateways.of(client);
        // Authorization let only gateways and served topics through; this holds should that ever change.
        if (handle === undefined || session === undefined)
          return Promise.resolve({ reasonCode: ReasonCode.NotAuthorized, reasonString: 'not a gateway topic of this connection' });
        core.connectivity.activity(u.deviceId);
        // Consumed: the gateway API is for the platform, never routed (a gateway subscribed to v1/gateway/rpc does not get its own answers).
        return handle(session, p, o.reply).then(() => consumed, refusal(client));
      }
      if (p.topic !== deviceTopics.telemetry) {
        const handle = deviceApiHandler(p.topic);
        if (handle === undefined) return Promise.resolve(undefined);
        core.connectivity.activity(u.deviceId);
        // Consumed like telemetry: a device's API messages are for the platform, never routed to subscribers.
        return handle(core, u, p, o.reply).then(
          () => consumed,
          (e: unknown) => {
            const refusal = client.protocolVersion === 5 ? mqttReasonFor(e) : undefined;
            if (refusal) return refusal;
            throw e;
          },
        );
      }
      // Consumed: nobody may subscribe to a device's raw telemetry (applications get the committed copy from the
      // bus), so it is not routed through the subscription trie, nor kept as retained. (A promise chain, not an
      // async function: this runs for every message.)
      return core.ingress.receive(u, p.payload, 'mqtt').then(
        () => consumed,
        (e: unknown) => {
          // 3.1.1 has no negative PUBACK: rejecting closes the connection without an ack, so the device sees
          // the refusal and nothing unstored is acknowledged.
          const refusal = client.protocolVersion === 5 ? mqttReasonFor(e) : undefined;
          if (refusal) return refusal;
          throw e;
        },
      );
    },
  };
}

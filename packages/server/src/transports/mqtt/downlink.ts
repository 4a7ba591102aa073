import type { Broker, Client } from '@thingstead/broker';
import type { AttributeEvent, Clock, Core, EventBus, RpcRequestEvent } from '@thingstead/core';
import type { Logger } from 'pino';
import type { DeviceReply } from './device-api';
import { userOf } from './identity';
import { deviceTopic, deviceTopics, gatewayTopics } from './topics';

const rpcRequests = 'v1/devices/me/rpc/request/';
/** A request topic: whether the device has a subscription that would receive its commands. */
const rpcProbe = `${rpcRequests}1`;

/**
 * What the platform sends devices over MQTT, each from the bus so that the node holding a device's connection
 * sends it (DESIGN.md: transports are thin, the bus routes): shared-attribute changes to
 * v1/devices/me/attributes ({"k":v}, then {"deleted":[..]}), and commands to v1/devices/me/rpc/request/{id}
 * with MQTT 5 Response Topic and Correlation Data. A device that subscribes to its attributes topic first gets
 * the current shared state, so a device back from offline on a clean session misses nothing. QoS 1 throughout:
 * an offline persistent session keeps what it missed.
 *
 * A child connected through a gateway of this node gets both through the gateway (ThingsBoard's gateway API):
 * shared changes to a gateway subscribed to v1/gateway/attributes as {"device":name,"data":{..}}, commands to
 * one subscribed to v1/gateway/rpc as {"device":name,"data":{"id","method","params"}}. Returns the function
 * that stops it.
 */
export function deviceDownlink(o: { broker: Broker; bus: EventBus; core: Core; clock: Clock; logger: Logger; reply: DeviceReply }): () => void {
  const { broker } = o;
  const wants = (deviceId: string, topic: string) => !broker.isClosed && broker.hasSubscribers(deviceTopic(deviceId, topic));

  /** The gateway connection of this node holding the child, when it is subscribed to `topic`. */
  const viaGateway = (childId: string, topic: string) => {
    const holder = o.core.gateway.holderOf(childId);
    return holder && wants(holder.gateway.deviceId, topic) ? { gatewayId: holder.gateway.deviceId, device: holder.name } : undefined;
  };

  const onAttributes = async (e: AttributeEvent): Promise<void> => {
    if (e.scope !== 'shared') return;
    const changes = [...(Object.keys(e.updated).length > 0 ? [e.updated] : []), ...(e.deleted.length > 0 ? [{ deleted: e.deleted }] : [])];
    if (wants(e.deviceId, deviceTopics.attributes)) for (const c of changes) await o.reply(e.deviceId, deviceTopics.attributes, JSON.stringify(c));
    const gw = viaGateway(e.deviceId, gatewayTopics.attributes);
    if (gw) for (const data of changes) await o.reply(gw.gatewayId, gatewayTopics.attributes, JSON.stringify({ device: gw.device, data }));
  };

  const onRpc = async (r: RpcRequestEvent): Promise<void> => {
    const topic = `${rpcRequests}${r.rpcId}`;
    const left = r.expiresAt - o.clock.now();
    if (left <= 0) return;
    // Not delivered after the caller stopped waiting (a persistent session back too late).
    const messageExpiryInterval = Math.max(1, Math.ceil(left / 1000));
    const delivered = wants(r.deviceId, topic);
    if (delivered) {
      await o.reply(r.deviceId, topic, JSON.stringify({ method: r.method, params: r.params }), {
        responseTopic: `v1/devices/me/rpc/response/${r.rpcId}`,
        correlationData: Buffer.from(String(r.rpcId)),
        messageExpiryInterval,
      });
    }
    const gw = viaGateway(r.deviceId, gatewayTopics.rpc);
    if (gw) {
      const data = { id: r.rpcId, method: r.method, params: r.params };
      await o.reply(gw.gatewayId, gatewayTopics.rpc, JSON.stringify({ device: gw.device, data }), { messageExpiryInterval });
    }
    if (r.persistent && (delivered || gw)) await o.core.rpc.delivered(r.deviceId, r.rpcId);
  };

  // Queued persistent calls go out once the device can receive them: it subscribed to its requests, or it came
  // back on a persistent session that kept that subscription.
  const ready = (client: Client, deviceId: string): void => {
    o.core.rpc.ready(deviceId).catch((err: unknown) => {
      o.logger.error({ err, clientId: client.id }, 'sending queued persistent RPCs failed');
    });
  };
  const onClient = (client: Client): void => {
    const u = userOf(client);
    if (u.kind === 'device' && wants(u.deviceId, rpcProbe)) ready(client, u.deviceId);
  };

  const onSubscribed = (client: Client, filters: readonly string[]): void => {
    const u = userOf(client);
    if (u.kind !== 'device') return;
    if (filters.some((f) => f.startsWith(rpcRequests))) ready(client, u.deviceId);
    if (!filters.includes(deviceTopics.attributes)) return;
    o.core.attributes
      .forDevice(u, { clientKeys: [] })
      .then(({ shared }) => (Object.keys(shared).length === 0 ? undefined : o.reply(u.deviceId, deviceTopics.attributes, JSON.stringify(shared))))
      .catch((err: unknown) => {
        o.logger.error({ err, clientId: client.id }, 'sending the shared attributes to a new subscriber failed');
      });
  };
  broker.on('subscribed', onSubscribed);
  broker.on('client', onClient);
  const offs = [o.bus.subscribe('attributes', onAttributes, { name: 'mqtt-attribute-push' }), o.bus.subscribe('rpc.request', onRpc, { name: 'mqtt-rpc' })];
  return () => {
    broker.off('subscribed', onSubscribed);
    broker.off('client', onClient);
    for (const off of offs) off();
  };
}

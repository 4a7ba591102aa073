import type { Client, PublishRequest } from '@thingstead/broker';
import type { Core, GatewaySession } from '@thingstead/core';
import type { DeviceReply } from './device-api';
import { userOf } from './identity';
import { gatewayTopics } from './topics';

type Handler = (session: GatewaySession, p: PublishRequest, reply: DeviceReply) => Promise<void>;

/**
 * What a gateway's PUBLISH on each ThingsBoard gateway API topic does (docs/reference/mqtt.md#gateway-api): one
 * handler per topic, each handing the payload to the connection's gateway session in core and, for a request,
 * publishing the answer into the gateway's own topic space. The PUBACK waits for the handler, so telemetry and
 * attributes are acknowledged only once committed.
 */
const handlers: Record<string, Handler> = {
  [gatewayTopics.connect]: async (s, p) => {
    await s.connect(p.payload);
  },
  [gatewayTopics.disconnect]: (s, p) => s.disconnect(p.payload),
  [gatewayTopics.telemetry]: async (s, p) => {
    await s.telemetry(p.payload, 'mqtt');
  },
  [gatewayTopics.attributes]: (s, p) => s.attributes(p.payload),
  [gatewayTopics.attributeRequest]: async (s, p, reply) => {
    const answer = await s.attributeRequest(p.payload);
    await reply(s.gateway.deviceId, gatewayTopics.attributeResponse, JSON.stringify(answer));
  },
  [gatewayTopics.rpc]: (s, p) => s.rpcResponse(p.payload),
};

export const gatewayApiHandler = (topic: string): Handler | undefined => (Object.hasOwn(handlers, topic) ? handlers[topic] : undefined);

/**
 * The gateway session of each connection of a gateway device, opened with its first gateway message and closed
 * (its children disconnected) when the connection ends. Keyed by the connection: a second connection of the same
 * gateway is a session of its own, as in ThingsBoard.
 */
export class GatewaySessions {
  private readonly sessions = new Map<Client, GatewaySession>();
  /** Connections that ended: a message still in flight must not open a session nobody would close. */
  private readonly ended = new WeakSet<Client>();

  constructor(private readonly core: Core) {}

  /** The connection's session; undefined for a device that was no gateway at CONNECT, or a connection that ended. */
  of(client: Client): GatewaySession | undefined {
    const u = userOf(client);
    if (u.kind !== 'device' || u.gateway !== true || this.ended.has(client)) return undefined;
    let s = this.sessions.get(client);
    if (!s) {
      s = this.core.gateway.open(u);
      this.sessions.set(client, s);
    }
    return s;
  }

  /** The connection ended: its children go offline. */
  end(client: Client): Promise<void> {
    this.ended.add(client);
    const s = this.sessions.get(client);
    if (!s) return Promise.resolve();
    this.sessions.delete(client);
    return s.close();
  }

  /** Every session ends (the transport closes). */
  async endAll(): Promise<void> {
    await Promise.allSettled([...this.sessions.keys()].map((c) => this.end(c)));
  }
}

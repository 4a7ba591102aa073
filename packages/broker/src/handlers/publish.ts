import type { IPublishPacket } from 'mqtt-packet';
import type { HandlerContext } from './handler-context';
import type { Client } from '../client';
import { encodeAck, encodePacket } from '../codec/encode';
import { Message, type MessageProperties } from '../message';
import { ReasonCode } from '../reason-codes';
import { topicNameError } from '../topic';

interface Verdict {
  reasonCode: number;
  reasonString?: string;
  route?: false;
}

const accepted: Verdict = { reasonCode: ReasonCode.Success };

function acknowledge(client: Client, packet: IPublishPacket, verdict: Verdict): void {
  const id = packet.messageId ?? 0;
  const type = packet.qos === 1 ? 'puback' : 'pubrec';
  if (verdict.reasonCode === ReasonCode.Success || client.protocolVersion !== 5) {
    client.write(encodeAck(type, id));
    return;
  }
  const ack = { cmd: type, messageId: id, reasonCode: verdict.reasonCode } as const;
  // [MQTT-3.1.2-29] no Reason String unless the client asked for problem information.
  const props = client.problemInformation && verdict.reasonString !== undefined ? { properties: { reasonString: verdict.reasonString } } : {};
  client.write(encodePacket({ ...ack, ...props }, 5));
}

function complete(broker: HandlerContext, client: Client, packet: IPublishPacket, message: Message, verdict: Verdict): void {
  if (client.closed) return;
  const session = client.session;
  if (verdict.reasonCode >= 0x80) {
    broker.counters.messagesRefused++;
    if (packet.qos === 0) return;
    // 3.1.1 has no refusal: the message is acknowledged and dropped (documented in the README).
    if (client.protocolVersion !== 5 && packet.qos === 2) session.inboundQos2.add(packet.messageId ?? 0);
    client.acknowledgeWhenStored(false, () => {
      acknowledge(client, packet, verdict);
    });
    return;
  }
  // onPublish { route: false }: the application consumed the message; acknowledged, not routed nor retained.
  let durable = verdict.route === false ? false : broker.route(message);
  if (packet.qos === 0) return;
  if (packet.qos === 2) {
    // v5 §4.3.3 method B: the packet id is remembered until PUBREL, so a resent PUBLISH is not routed twice;
    // in a persistent session it is stored with the session, before PUBREC.
    session.inboundQos2.add(packet.messageId ?? 0);
    if (session.persistent) {
      broker.persistSession(session);
      durable = true;
    }
  }
  // Acknowledged only once every persistent session's copy (and a retained message) is stored.
  client.acknowledgeWhenStored(durable, () => {
    acknowledge(client, packet, accepted);
  });
}

function resolveTopic(broker: HandlerContext, client: Client, packet: IPublishPacket): string | undefined {
  let topic = packet.topic;
  const alias = packet.properties?.topicAlias;
  if (alias !== undefined && client.protocolVersion === 5) {
    // [MQTT-3.3.2-8] alias 0, or above our Topic Alias Maximum [MQTT-3.3.2-9]: DISCONNECT 0x94.
    if (alias === 0 || alias > broker.limits.topicAliasMaximum) {
      client.terminate(ReasonCode.TopicAliasInvalid, 'topic alias out of range');
      return undefined;
    }
    if (topic.length > 0) {
      client.topicAliases.set(alias, topic);
    } else {
      const known = client.topicAliases.get(alias);
      if (known === undefined) {
        client.terminate(ReasonCode.ProtocolError, 'unknown topic alias');
        return undefined;
      }
      topic = known;
    }
  } else if (topic.length === 0) {
    // v5 §3.3.2.1: a zero-length topic without a Topic Alias is a protocol error; 3.1.1 [MQTT-4.7.3-1].
    client.terminate(ReasonCode.ProtocolError, 'empty topic name without a topic alias');
    return undefined;
  }
  return topic;
}

/**
 * The broker's name of the client's topic (its mount point in front), or undefined when it is invalid. The mount
 * point has no wildcard or U+0000, so the mounted name fails only on length or levels (ADR 0005).
 */
function mountedTopic(broker: HandlerContext, client: Client, topic: string): string | undefined {
  const mounted = client.mountPoint === '' ? topic : client.mountPoint + topic;
  const error = topicNameError(mounted, broker.limits);
  if (error === undefined) return mounted;
  // [MQTT-3.3.2-2] wildcards in a topic name; v5: DISCONNECT 0x90, 3.1.1: close.
  client.terminate(ReasonCode.TopicNameInvalid, error);
  return undefined;
}

function forwardedProperties(packet: IPublishPacket): MessageProperties | undefined {
  const p = packet.properties;
  if (p === undefined) return undefined;
  // Topic Alias is per connection (v5 §3.3.2.3.4); Subscription Identifier is set per delivery.
  const { topicAlias: _alias, subscriptionIdentifier: _ids, ...rest } = p;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

export function handlePublish(broker: HandlerContext, client: Client, packet: IPublishPacket): void {
  broker.counters.messagesIn++;
  const topic = resolveTopic(broker, client, packet);
  if (topic === undefined) return;
  const mounted = mountedTopic(broker, client, topic);
  if (mounted === undefined) return;
  const session = client.session;
  if (packet.qos > 0) {
    if (packet.qos === 2 && session.inboundQos2.has(packet.messageId ?? 0)) {
      // [MQTT-4.3.3-10] a resent QoS 2 PUBLISH is acknowledged again but not delivered again.
      const id = packet.messageId ?? 0;
      client.acknowledgeWhenStored(false, () => {
        client.write(encodeAck('pubrec', id));
      });
      return;
    }
    // The client exceeded our Receive Maximum (v5 §3.3.4): DISCONNECT 0x93. 3.1.1 has no Receive Maximum: a
    // client pipelining more only gets back-pressure (its socket is not read while maxPendingMessagesPerClient wait).
    if (client.protocolVersion === 5 && client.pendingInbound + session.inboundQos2.size >= broker.limits.receiveMaximum) {
      client.terminate(ReasonCode.ReceiveMaximumExceeded, 'receive maximum exceeded');
      return;
    }
  }
  const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
  const message = Message.withExpiry(
    {
      topic: mounted,
      payload,
      qos: packet.qos,
      retain: packet.retain,
      properties: forwardedProperties(packet),
      origin: session.key,
    },
    broker.clock.now(),
  );
  const hooks = broker.hooks;
  if (hooks.onPublish === undefined && hooks.authorizePublish === undefined) {
    complete(broker, client, packet, message, accepted);
    return;
  }
  broker.publishPipeline(client).add(packet, message, topic, (verdict) => {
    complete(broker, client, packet, message, verdict);
  });
}

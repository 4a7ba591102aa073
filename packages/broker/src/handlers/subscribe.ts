import type { ISubackPacket, ISubscribePacket, ISubscription } from 'mqtt-packet';
import type { HandlerContext } from './handler-context';
import type { Client } from '../client';
import { encodePacket } from '../codec/encode';
import type { AuthorizeResult, SubscribeRequest } from '../options';
import { ReasonCode } from '../reason-codes';
import type { Subscription } from '../router';
import { mountFilter, parseSharedFilter, topicFilterError } from '../topic';

type Outcome = { code: number; subscription?: Subscription; isNew?: boolean } | 'fatal';

function refusal(result: AuthorizeResult): number | undefined {
  if (result === true) return undefined;
  if (result === false) return ReasonCode.NotAuthorized;
  return result >= 0x80 ? result : undefined;
}

async function evaluate(broker: HandlerContext, client: Client, sub: ISubscription, subscriptionId: number | undefined): Promise<Outcome> {
  const v5 = client.protocolVersion === 5;
  const shared = parseSharedFilter(sub.topic);
  const mount = client.mountPoint;
  // ADR 0005: the filter is routed under the client's mount point (inside `$share/<group>/`); the mount point
  // has no wildcard or U+0000, so the mounted filter is valid when the client's is and it fits the limits.
  const topicFilter = mount + (shared === undefined || shared === null ? sub.topic : shared.filter);
  const filter = mount === '' ? sub.topic : mountFilter(mount, sub.topic);
  if (shared === null || topicFilterError(topicFilter, broker.limits) !== undefined) {
    // v5: SUBACK 0x8F; 3.1.1 has no such code and [MQTT-4.8.0-1] makes it a protocol violation.
    if (!v5) return 'fatal';
    return { code: ReasonCode.TopicFilterInvalid };
  }
  const nl = sub.nl === true;
  // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
  if (shared !== undefined && nl) return 'fatal';
  const session = client.session;
  if (!session.subscriptions.has(filter) && session.subscriptions.size >= broker.limits.maxSubscriptionsPerClient) {
    return { code: v5 ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError };
  }
  const request: SubscribeRequest = {
    topic: sub.topic,
    qos: sub.qos,
    noLocal: nl,
    retainAsPublished: sub.rap === true,
    retainHandling: (sub.rh ?? 0) as 0 | 1 | 2,
    shareGroup: shared?.group,
  };
  const hook = broker.hooks.authorizeSubscribe;
  if (hook !== undefined) {
    let code: number | undefined;
    try {
      code = refusal(await hook(client, request));
    } catch (error) {
      broker.hookError(error, client);
      code = ReasonCode.UnspecifiedError;
    }
    // 3.1.1 §3.9.3 knows only 0x80 for a refused subscription.
    if (code !== undefined) return { code: v5 ? code : ReasonCode.UnspecifiedError };
  }
  // The connection may have closed while the hook ran; its session may be gone, and a
  // subscription added now would stay in the trie with no session to remove it.
  if (client.closed) return { code: ReasonCode.UnspecifiedError };
  const subscription: Subscription = {
    sessionKey: session.key,
    filter,
    topicFilter,
    qos: sub.qos,
    noLocal: nl,
    retainAsPublished: request.retainAsPublished,
    retainHandling: request.retainHandling,
    subscriptionId,
    shareGroup: shared?.group,
  };
  // [MQTT-3.8.4-3] a subscription with the same filter is replaced.
  const isNew = broker.addSubscription(session, subscription);
  return { code: sub.qos, subscription, isNew };
}

export async function handleSubscribe(broker: HandlerContext, client: Client, packet: ISubscribePacket): Promise<void> {
  const v5 = client.protocolVersion === 5;
  // [MQTT-3.8.3-2] (v5) / [MQTT-3.8.3-3] (3.1.1): a SUBSCRIBE must carry at least one filter.
  if (packet.subscriptions.length === 0) {
    client.terminate(ReasonCode.ProtocolError, 'SUBSCRIBE without filters');
    return;
  }
  const subscriptionId = v5 ? packet.properties?.subscriptionIdentifier : undefined;
  // v5 §3.8.2.1.2: a Subscription Identifier of 0 is a protocol error.
  if (subscriptionId === 0) {
    client.terminate(ReasonCode.ProtocolError, 'subscription identifier 0');
    return;
  }
  const outcomes: Outcome[] = [];
  for (const sub of packet.subscriptions) outcomes.push(await evaluate(broker, client, sub, subscriptionId));
  if (client.closed) return;
  if (outcomes.includes('fatal')) {
    client.terminate(ReasonCode.ProtocolError, 'invalid subscription');
    return;
  }
  const granted = outcomes.map((o) => (o === 'fatal' ? ReasonCode.UnspecifiedError : o.code));
  // [MQTT-3.8.4-1] SUBACK with the same packet id [MQTT-3.8.4-2], one code per filter in order [MQTT-3.9.3-1].
  const suback: ISubackPacket = { cmd: 'suback', messageId: packet.messageId ?? 0, granted };
  if (v5 && client.problemInformation && granted.some((g) => g >= 0x80)) suback.properties = { reasonString: 'some subscriptions were refused' };
  client.write(encodePacket(suback, client.protocolVersion));
  broker.persistSession(client.session);
  const subscribed: string[] = [];
  outcomes.forEach((o, i) => {
    if (o === 'fatal' || o.subscription === undefined) return;
    subscribed.push(packet.subscriptions[i]?.topic ?? '');
    const s = o.subscription;
    // [MQTT-3.3.1-9] rh 0: send retained; [MQTT-3.3.1-10] rh 1: only for a new subscription;
    // [MQTT-3.3.1-11] rh 2: never. Shared subscriptions get no retained messages (v5 §3.3.1.3).
    if (s.shareGroup !== undefined || s.retainHandling === 2 || (s.retainHandling === 1 && o.isNew !== true)) return;
    broker.sendRetained(client, s, s.qos);
  });
  if (subscribed.length > 0) broker.onSubscribed(client, subscribed);
}

import type { IUnsubackPacket, IUnsubscribePacket } from 'mqtt-packet';
import type { HandlerContext } from './handler-context';
import type { Client } from '../client';
import { encodePacket } from '../codec/encode';
import { ReasonCode } from '../reason-codes';
import { mountFilter } from '../topic';

export function handleUnsubscribe(broker: HandlerContext, client: Client, packet: IUnsubscribePacket): void {
  // [MQTT-3.10.3-2] an UNSUBSCRIBE must carry at least one filter.
  if (packet.unsubscriptions.length === 0) {
    client.terminate(ReasonCode.ProtocolError, 'UNSUBSCRIBE without filters');
    return;
  }
  const codes = packet.unsubscriptions.map((filter) =>
    // [MQTT-3.10.4-1] the subscription is deleted; v5 0x11 when there was none.
    broker.removeSubscription(client.session, mountFilter(client.mountPoint, filter)) ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted,
  );
  // [MQTT-3.10.4-4] UNSUBACK even when nothing matched, with the same packet id [MQTT-3.10.4-5].
  const unsuback: IUnsubackPacket = { cmd: 'unsuback', messageId: packet.messageId ?? 0, granted: codes };
  client.write(encodePacket(unsuback, client.protocolVersion));
  broker.persistSession(client.session);
}

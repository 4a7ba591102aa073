import type { IPubackPacket } from 'mqtt-packet';
import type { Client } from '../client';

/** PUBACK ends a QoS 1 delivery: the packet id is free and the window opens. */
export function handlePuback(client: Client, packet: IPubackPacket): void {
  const entry = client.session.inflight.get(packet.messageId ?? 0);
  // An unknown id is ignored: it can be a late ack of a message already given up on.
  if (entry?.qos !== 1) return;
  client.completeDelivery(entry);
}

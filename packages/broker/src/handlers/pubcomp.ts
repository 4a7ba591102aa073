import type { IPubcompPacket } from 'mqtt-packet';
import type { Client } from '../client';

/** PUBCOMP ends an outgoing QoS 2 delivery; the packet id becomes free. */
export function handlePubcomp(client: Client, packet: IPubcompPacket): void {
  const entry = client.session.inflight.get(packet.messageId ?? 0);
  if (entry?.state !== 'pubrel') return;
  client.completeDelivery(entry);
}

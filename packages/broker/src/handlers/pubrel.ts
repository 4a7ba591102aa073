import type { IPubrelPacket } from 'mqtt-packet';
import type { Client } from '../client';
import { encodeAck, encodePacket } from '../codec/encode';
import { ReasonCode } from '../reason-codes';

/**
 * PUBREL, step 3 of an incoming QoS 2 exchange. The message was routed when PUBLISH arrived
 * (v5 §4.3.3 method B); PUBREL frees the packet id so a new PUBLISH with it is a new message,
 * and is answered with PUBCOMP [MQTT-4.3.3-11]. An unknown id still gets PUBCOMP (0x92 in v5).
 */
export function handlePubrel(client: Client, packet: IPubrelPacket): void {
  const id = packet.messageId ?? 0;
  const session = client.session;
  const known = session.inboundQos2.delete(id);
  // A persistent session forgets the id durably before PUBCOMP: a later PUBLISH with it is a new message.
  const durable = known && session.persistent;
  if (durable) client.ctx.persistSession(session);
  client.acknowledgeWhenStored(durable, () => {
    if (!known && client.protocolVersion === 5)
      client.write(encodePacket({ cmd: 'pubcomp', messageId: id, reasonCode: ReasonCode.PacketIdentifierNotFound }, 5));
    else client.write(encodeAck('pubcomp', id));
  });
}

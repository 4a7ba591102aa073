import type { IPubrecPacket } from 'mqtt-packet';
import type { Client } from '../client';
import { encodeAck, encodePacket } from '../codec/encode';
import { ReasonCode } from '../reason-codes';

/** PUBREC, step 2 of an outgoing QoS 2 delivery: answer PUBREL [MQTT-4.3.3-4]. */
export function handlePubrec(client: Client, packet: IPubrecPacket): void {
  const id = packet.messageId ?? 0;
  const entry = client.session.inflight.get(id);
  if (entry?.qos !== 2) {
    if (client.protocolVersion === 5) {
      client.write(encodePacket({ cmd: 'pubrel', messageId: id, reasonCode: ReasonCode.PacketIdentifierNotFound }, 5));
    } else {
      client.write(encodeAck('pubrel', id));
    }
    return;
  }
  if ((packet.reasonCode ?? 0) >= 0x80) {
    // v5 §4.3.3: a PUBREC with an error reason code ends the exchange; the id is free again.
    client.completeDelivery(entry);
    return;
  }
  entry.state = 'pubrel';
  client.ctx.writer.inflightChanged(entry);
  client.write(encodeAck('pubrel', id));
}

import type { IDisconnectPacket } from 'mqtt-packet';
import type { HandlerContext } from './handler-context';
import type { Client } from '../client';
import { ReasonCode } from '../reason-codes';

export function handleDisconnect(broker: HandlerContext, client: Client, packet: IDisconnectPacket): void {
  const reasonCode = client.protocolVersion === 5 ? (packet.reasonCode ?? 0) : 0;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined) {
    // v5 §3.14.2.2.2: a session that started with expiry 0 cannot be given one at DISCONNECT.
    if (client.connectSessionExpiry === 0 && expiry !== 0) {
      client.terminate(ReasonCode.ProtocolError, 'session expiry raised from 0 at DISCONNECT');
      return;
    }
    client.session.expiryIntervalSec = Math.min(expiry, broker.limits.maxSessionExpirySec);
  }
  // [MQTT-3.1.2-10] only DISCONNECT with 0x00 (always, in 3.1.1) discards the will
  // [MQTT-3.14.4-3]; 0x04 "disconnect with will message" and error codes keep it.
  if (reasonCode === ReasonCode.Success) client.discardWill();
  client.shutdown({ reasonCode, message: 'client disconnected', byClient: true });
}

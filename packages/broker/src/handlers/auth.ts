import type { Client } from '../client';
import { ReasonCode } from '../reason-codes';

/**
 * Enhanced authentication is not offered: CONNECT with an Authentication Method is refused
 * with 0x8C [MQTT-4.12.0-1], so a connected client sent no Authentication Method and must not
 * send AUTH [MQTT-4.12.0-7]: an AUTH packet can only be a protocol error (v5 §3.15).
 */
export function handleAuth(client: Client): void {
  client.terminate(ReasonCode.ProtocolError, 'AUTH without an authentication method in CONNECT');
}

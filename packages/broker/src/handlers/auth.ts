import type { Client } from '../client';
import { ReasonCode } from '../reason-codes';

/**
 * Enhanced authentication is not offered: CONNECT with an Authentication Method is refused
 * with 0x8C, so an AUTH packet can only be a protocol error [MQTT-4.12.0-1] (v5 §4.12).
 */
export function handleAuth(client: Client): void {
  client.terminate(ReasonCode.ProtocolError, 'AUTH without an authentication method in CONNECT');
}

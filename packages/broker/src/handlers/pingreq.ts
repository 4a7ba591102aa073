import type { Client } from '../client';

const pingresp = Buffer.from([0xd0, 0x00]);

/** [MQTT-3.12.4-1] the server answers PINGREQ with PINGRESP. */
export function handlePingreq(client: Client): void {
  client.write(pingresp);
}

import type { Packet } from 'mqtt-packet';
import type { HandlerContext } from './handler-context';
import type { Client } from '../client';
import { ReasonCode } from '../reason-codes';
import { handleAuth } from './auth';
import { handleConnect } from './connect';
import { handleDisconnect } from './disconnect';
import { handlePingreq } from './pingreq';
import { handlePuback } from './puback';
import { handlePubcomp } from './pubcomp';
import { handlePublish } from './publish';
import { handlePubrec } from './pubrec';
import { handlePubrel } from './pubrel';
import { handleSubscribe } from './subscribe';
import { handleUnsubscribe } from './unsubscribe';

/** Routes a decoded packet to its handler; a returned promise holds later packets until it settles. */
export function dispatch(broker: HandlerContext, client: Client, packet: Packet): Promise<void> | undefined {
  if (!client.connected) {
    // [MQTT-3.1.0-1] the first packet must be CONNECT; anything else closes the connection.
    if (packet.cmd === 'connect') return handleConnect(broker, client, packet);
    client.terminate(ReasonCode.ProtocolError, `${packet.cmd} before CONNECT`);
    return undefined;
  }
  switch (packet.cmd) {
    case 'publish':
      handlePublish(broker, client, packet);
      return undefined;
    case 'puback':
      handlePuback(client, packet);
      return undefined;
    case 'pubrec':
      handlePubrec(client, packet);
      return undefined;
    case 'pubrel':
      handlePubrel(client, packet);
      return undefined;
    case 'pubcomp':
      handlePubcomp(client, packet);
      return undefined;
    case 'subscribe':
      return handleSubscribe(broker, client, packet);
    case 'unsubscribe':
      handleUnsubscribe(broker, client, packet);
      return undefined;
    case 'pingreq':
      handlePingreq(client);
      broker.onPing(client);
      return undefined;
    case 'disconnect':
      handleDisconnect(broker, client, packet);
      return undefined;
    case 'auth':
      handleAuth(client);
      return undefined;
    case 'connect':
      // [MQTT-3.1.0-2] a second CONNECT is a protocol error (normally caught by the frame reader).
      client.terminate(ReasonCode.ProtocolError, 'second CONNECT');
      return undefined;
    case 'connack':
    case 'suback':
    case 'unsuback':
    case 'pingresp':
      client.terminate(ReasonCode.ProtocolError, `${packet.cmd} is not sent by clients`);
      return undefined;
  }
}

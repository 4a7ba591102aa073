import { Broker, type BrokerPersistence } from '@thingstead/broker';
import { isThingsteadError, type Clock, type Core, type EventBus } from '@thingstead/core';
import type { Logger } from 'pino';
import type { AuthFailureLog } from '../../logging';
import type { Config } from '../../config/schema';
import { brokerLimits } from '../../config/slices';
import type { Metrics } from '../../metrics';
import type { ListenerCertificate } from '../tls-certificates';
import type { UpgradeRouter } from '../upgrade-router';
import type { DeviceReply } from './device-api';
import { deviceDownlink } from './downlink';
import { GatewaySessions } from './gateway-api';
import { telemetryForwarder } from './forwarder';
import { deviceTopic } from './topics';
import { platformHooks } from './hooks';
import { namespaceOf, userOf, watchRevocations, type MqttUser } from './identity';
import { listenMqtt, type MqttListeners } from './listeners';

export type { MqttUser } from './identity';

export interface MqttTransportOptions {
  core: Core;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
  config: Readonly<Config['mqtt']>;
  tls: Readonly<Config['mqtts']>;
  host: string;
  /** Where the broker keeps sessions and retained messages (chosen by main.ts). */
  persistence: BrokerPersistence;
  /** The HTTP server's upgrades, where MQTT over WebSocket is served at /mqtt. */
  upgrades: UpgradeRouter;
  authFailures: AuthFailureLog;
  clock: Clock;
}

export interface MqttTransport {
  broker: Broker;
  ports: { tcp: number; tls?: number };
  /** The listening servers, for the readiness checks. */
  servers: MqttListeners['servers'];
  /** The MQTT TLS listener's certificate (reloaded on SIGHUP); undefined without TLS. */
  certificate: ListenerCertificate | undefined;
  /**
   * Shutdown, step 1: every CONNECT is refused (CONNACK 0x88 / 3.1.1 return code 3), WebSocket upgrades get
   * 503, connected clients are no longer read. The listeners stay open until close(), to give those answers.
   */
  stopAccepting(): void;
  /** Shutdown, step 2: waits until every PUBLISH already read was committed and acknowledged, at most timeoutMs; resolves with how many were still waiting. */
  drain(timeoutMs: number): Promise<number>;
  /** Shutdown, step 3: DISCONNECT 0x8B to v5 clients, every MQTT socket (TCP, TLS, WebSocket) closed; one still open after graceMs is destroyed. */
  close(graceMs?: number): Promise<void>;
}

/**
 * MQTT as the main device transport: the broker package, the platform's hooks (hooks.ts), the bus subscribers
 * that reach MQTT clients (forwarding, revocations) and the listeners (listeners.ts).
 */
export async function startMqttTransport(o: MqttTransportOptions): Promise<MqttTransport> {
  const { core, logger, config } = o;
  // Replies and pushes go into the device's own topic space (its mount point).
  const reply: DeviceReply = (deviceId, topic, payload, properties) =>
    broker.publish({ topic: deviceTopic(deviceId, topic), payload, qos: 1, ...(properties ? { properties } : {}) });
  const gateways = new GatewaySessions(core);
  const broker: Broker = new Broker({
    persistence: o.persistence,
    limits: brokerLimits(config),
    hooks: platformHooks(core, { authFailures: o.authFailures, reply, gateways }),
  });

  broker.on('client', (client) => {
    const u = userOf(client);
    logger.info(
      {
        clientId: client.id,
        principal: namespaceOf(u),
        transport: client.transport,
        protocolVersion: client.protocolVersion,
        remoteAddress: client.remoteAddress,
      },
      `MQTT client ${client.id} connected (${namespaceOf(u)})`,
    );
    if (u.kind === 'device') {
      core.connectivity.connected(u.deviceId, u.tenantId).catch((err: unknown) => {
        logger.error({ err }, 'recording a device connect failed');
      });
    }
  });
  broker.on('clientDisconnect', (client, reason) => {
    const u = userOf(client) as MqttUser | undefined;
    const principal = u === undefined ? undefined : namespaceOf(u);
    logger.info(
      { clientId: client.id, principal, reasonCode: reason.reasonCode, reason: reason.message, byClient: reason.byClient },
      `MQTT client ${client.id} disconnected (${reason.byClient ? 'by the client' : 'by the server'}: ${reason.message})`,
    );
    if (u?.kind === 'device') {
      core.connectivity.disconnected(u.deviceId, u.tenantId).catch((err: unknown) => {
        logger.error({ err }, 'recording a device disconnect failed');
      });
      // A gateway's children go offline with its connection.
      gateways.end(client).catch((err: unknown) => {
        logger.error({ err }, "recording a gateway's children disconnected failed");
      });
    }
  });
  // A device that only keeps its connection alive (PINGREQ) is active, as in ThingsBoard: its keep-alive is activity.
  broker.on('ping', (client) => {
    const u = userOf(client);
    if (u.kind === 'device') core.connectivity.activity(u.deviceId);
  });
  broker.on('hookError', (err, client) => {
    // Refusals (bad payloads, a full queue under overload) are the client's or the load's, not faults: debug only.
    if (isThingsteadError(err) && err.kind !== 'INTERNAL')
      logger.debug({ clientId: client.id, code: err.code, reason: err.message }, 'MQTT message refused; 3.1.1 client disconnected');
    else logger.error({ err, clientId: client.id }, 'MQTT hook failed');
  });
  broker.on('clientError', (err, client) => {
    logger.error({ err, clientId: client.id }, 'MQTT client handling failed; that connection was closed');
  });
  broker.on('persistenceError', (err) => {
    logger.error({ err }, 'MQTT session persistence failed');
  });
  o.metrics.observeBroker(() => broker.stats());

  // Application clients get each committed batch, whatever transport brought it; its own bus queue bounds the backlog.
  const offs = [
    o.bus.subscribe('telemetry', telemetryForwarder(broker), { name: 'mqtt-forwarder' }),
    watchRevocations(o.bus, broker),
    deviceDownlink({ broker, bus: o.bus, core, clock: o.clock, logger, reply }),
  ];
  const unsubscribe = () => {
    for (const off of offs) off();
  };

  await broker.ready;
  let listeners;
  try {
    listeners = await listenMqtt(broker, o);
  } catch (e) {
    await broker.close();
    unsubscribe();
    throw e;
  }

  let accepting = true;
  const stopAccepting = (): void => {
    if (!accepting) return;
    accepting = false;
    listeners.stopAccepting();
    broker.stopAccepting();
  };
  let closed: Promise<void> | undefined;
  return {
    broker,
    ports: listeners.ports,
    servers: listeners.servers,
    certificate: listeners.certificate,
    stopAccepting,
    drain: (timeoutMs) => broker.drain(timeoutMs),
    close: (graceMs = 1000) =>
      (closed ??= (async () => {
        stopAccepting();
        unsubscribe();
        // The broker writes DISCONNECT 0x8B and ends each stream; the listeners then wait for the sockets to go.
        await broker.close();
        await listeners.close(graceMs);
        await gateways.endAll();
      })()),
  };
}

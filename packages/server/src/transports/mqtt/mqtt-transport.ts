import { Broker, MemoryPersistence, ReasonCode, SqlitePersistence, handleWebSocket, listenTcp, listenTls, selectMqttSubprotocol, type AuthResult } from '@thingstead/broker';
import { isThingsteadError, parseJsonPayload, type Clock, type Core, type EventBus } from '@thingstead/core';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from '../../config/schema';
import type { Metrics } from '../../metrics';
import { shutdownRetryAfterSec } from '../../shutdown';
import { TelemetryForwarder } from './forwarder';
import { namespaceOf, userOf, watchRevocations, type MqttUser } from './identity';
import { mqttReasonFor } from './reason-codes';
import { appSubscribeVerdict, devicePublishVerdict, deviceSubscribeVerdict, deviceTopics } from './topics';

export type { MqttUser } from './identity';

export interface MqttTransportOptions {
  core: Core;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  config: Readonly<Config['mqtt']>;
  tls: Readonly<Config['mqtts']>;
  host: string;
  dataDir: string;
  /** storage.sqliteSynchronous: broker.db is as durable as thingstead.db (what is acknowledged is stored alike). */
  sqliteSynchronous: Readonly<Config['storage']>['sqliteSynchronous'];
  /** The HTTP server that carries MQTT over WebSocket at /mqtt. */
  httpServer: HttpServer;
}

export interface MqttTransport {
  broker: Broker;
  ports: { tcp: number; tls?: number };
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
 * MQTT as the main device transport: the broker package plus the platform's hooks. Thin on purpose: it turns
 * CONNECT credentials into a device or application principal, checks topics, and hands telemetry to core,
 * acknowledging only after commit (PUBACK/PUBREC wait for onPublish).
 */
export async function startMqttTransport(o: MqttTransportOptions): Promise<MqttTransport> {
  const { core, logger, config } = o;
  const refuse = (reasonString: string): AuthResult => ({ ok: false, reasonCode: ReasonCode.NotAuthorized, reasonString });
  const accept = (user: MqttUser): AuthResult => ({ ok: true, user, namespace: namespaceOf(user) });

  // SqlitePersistence creates a new broker.db owner-only (0600) itself.
  const broker = new Broker({
    persistence: config.persistSessions
      ? new SqlitePersistence({ path: join(o.dataDir, 'broker.db'), synchronous: o.sqliteSynchronous === 'full' ? 'FULL' : 'NORMAL' })
      : new MemoryPersistence(),
    limits: {
      maxPacketSize: config.maxPacketBytes,
      maxConnections: config.maxConnections,
      maxQueuedMessages: config.maxQueuedMessages,
      connectTimeoutMs: config.connectTimeoutMs,
      maxPendingHookCalls: config.maxPendingMessagesPerClient,
      maxKeepAliveSec: config.maxKeepAliveSec,
      maxSessionsPerNamespace: config.maxSessionsPerPrincipal,
    },
    hooks: {
      authenticate: async (req) => {
        const password = req.password?.toString('utf8');
        // An application client: a user's API key as username or password.
        const apiKey = [req.username, password].find((v) => v?.startsWith('tsk_'));
        if (apiKey !== undefined) {
          try {
            return accept({ kind: 'app', principal: await core.auth.authenticate(apiKey) });
          } catch {
            return refuse('invalid or revoked API key');
          }
        }
        // ThingsBoard style: the device access token is the username.
        if (req.username !== undefined) {
          try {
            const d = await core.devices.authenticateToken(req.username);
            return accept({ kind: 'device', deviceId: d.id, tenantId: d.tenantId });
          } catch (e) {
            if (!isThingsteadError(e)) throw e;
          }
        }
        // MQTT basic credentials: client id and/or username + password.
        const d = await core.devices.authenticateBasic({ clientId: req.clientId, username: req.username, password });
        if (d) return accept({ kind: 'device', deviceId: d.id, tenantId: d.tenantId });
        return refuse('unknown device credentials');
      },
      authorizePublish: (client, p) => {
        const u = userOf(client);
        if (u.kind === 'app') return ReasonCode.NotAuthorized;
        return devicePublishVerdict(p.topic).ok ? true : ReasonCode.NotAuthorized;
      },
      authorizeSubscribe: (client, sub) => {
        const u = userOf(client);
        if (u.kind === 'device') return deviceSubscribeVerdict(sub.topic).ok;
        const filter = sub.shareGroup === undefined ? sub.topic : sub.topic.replace(/^\$share\/[^/]+\//, '');
        return appSubscribeVerdict(filter, u.principal.tenantId, u.principal.role === 'admin').ok;
      },
      onPublish: async (client, p) => {
        const u = userOf(client);
        if (u.kind !== 'device' || p.topic !== deviceTopics.telemetry) return undefined;
        core.connectivity.activity(u.deviceId);
        try {
          const { points } = await core.telemetry.ingest({ deviceId: u.deviceId, tenantId: u.tenantId, receivedAt: o.clock.now(), payload: parseJsonPayload(p.payload) });
          o.metrics.telemetryMessages.inc({ transport: 'mqtt' });
          o.metrics.telemetryPoints.inc({ transport: 'mqtt' }, points);
          return undefined;
        } catch (e) {
          const code = isThingsteadError(e) ? e.code : 'THINGSTEAD_ERR_INTERNAL';
          o.metrics.telemetryRejected.inc({ transport: 'mqtt', reason: code });
          // 3.1.1 has no negative PUBACK: rejecting closes the connection without an ack, so the device sees
          // the refusal and nothing unstored is acknowledged.
          if (client.protocolVersion !== 5) throw e;
          const refusal = mqttReasonFor(e);
          if (refusal) return refusal;
          throw e;
        }
      },
    },
  });

  broker.on('client', (client) => {
    const u = userOf(client);
    if (u.kind === 'device') {
      core.connectivity.connected(u.deviceId).catch((err: unknown) => {
        logger.error({ err }, 'recording a device connect failed');
      });
    }
  });
  broker.on('clientDisconnect', (client) => {
    const u = userOf(client) as MqttUser | undefined;
    if (u?.kind === 'device') {
      core.connectivity.disconnected(u.deviceId).catch((err: unknown) => {
        logger.error({ err }, 'recording a device disconnect failed');
      });
    }
  });
  broker.on('hookError', (err, client) => {
    // Refusals (bad payloads, a full queue under overload) are the client's or the load's, not faults: debug only.
    if (isThingsteadError(err) && err.kind !== 'INTERNAL') logger.debug({ clientId: client.id, code: err.code, msg: err.message }, 'MQTT message refused; 3.1.1 client disconnected');
    else logger.error({ err, clientId: client.id }, 'MQTT hook failed');
  });
  broker.on('clientError', (err, client) => {
    logger.error({ err, clientId: client.id }, 'MQTT client handling failed; that connection was closed');
  });
  broker.on('persistenceError', (err) => {
    logger.error({ err }, 'MQTT session persistence failed');
  });
  o.metrics.observeBroker(() => broker.stats());

  // Application clients get each committed batch, whatever transport brought it, off the ack path.
  const forwarder = new TelemetryForwarder({
    broker,
    logger,
    maxPending: 100_000,
    onDropped: () => {
      o.metrics.telemetryForwardDropped.inc();
    },
  });
  const unsubscribeForwarder = o.bus.subscribe('telemetry', forwarder.enqueue);
  const unsubscribeRevocations = watchRevocations(o.bus, broker);
  const unsubscribe = () => {
    unsubscribeForwarder();
    unsubscribeRevocations();
  };

  await broker.ready;
  const tcp = await listenTcp(broker, { port: config.port, host: o.host });
  const t = o.tls;
  let tls;
  try {
    tls = t.port === undefined || t.certFile === undefined || t.keyFile === undefined
      ? undefined
      : await listenTls(broker, { port: t.port, host: o.host, cert: readFileSync(t.certFile), key: readFileSync(t.keyFile) });
  } catch (e) {
    await broker.close();
    await tcp.close();
    unsubscribe();
    throw e;
  }

  let wss: WebSocketServer | undefined;
  let accepting = true;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!wss || (req.url ?? '').split('?')[0] !== '/mqtt') {
      socket.destroy();
      return;
    }
    if (!accepting) {
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${shutdownRetryAfterSec}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      handleWebSocket(broker, ws, req.socket.remoteAddress === undefined ? {} : { remoteAddress: req.socket.remoteAddress });
    });
  };
  if (config.websocket) {
    wss = new WebSocketServer({ noServer: true, handleProtocols: selectMqttSubprotocol, maxPayload: config.maxPacketBytes + 16 });
    o.httpServer.on('upgrade', onUpgrade);
  }

  const stopAccepting = (): void => {
    if (!accepting) return;
    accepting = false;
    broker.stopAccepting();
  };
  let closed: Promise<void> | undefined;
  return {
    broker,
    ports: { tcp: tcp.port, ...(tls ? { tls: tls.port } : {}) },
    stopAccepting,
    drain: (timeoutMs) => broker.drain(timeoutMs),
    close: (graceMs = 1000) =>
      (closed ??= (async () => {
        stopAccepting();
        unsubscribe();
        // The broker writes DISCONNECT 0x8B and ends each stream; the listeners then wait for the sockets to go.
        await broker.close();
        await Promise.all([tcp.close(graceMs), tls?.close(graceMs), closeWebSockets(wss, graceMs)]);
        o.httpServer.off('upgrade', onUpgrade);
      })()),
  };
}

/** Upgraded sockets are not the HTTP server's to close: each one still open after graceMs is terminated. */
async function closeWebSockets(wss: WebSocketServer | undefined, graceMs: number): Promise<void> {
  if (!wss) return;
  const open = [...wss.clients].filter((ws) => ws.readyState !== ws.CLOSED);
  if (open.length > 0) {
    const gone = Promise.all(open.map((ws) => new Promise<void>((resolve) => ws.once('close', () => { resolve(); }))));
    const timer = setTimeout(() => {
      for (const ws of open) ws.terminate();
    }, graceMs);
    await gone;
    clearTimeout(timer);
  }
  await new Promise<void>((resolve) => {
    wss.close(() => {
      resolve();
    });
  });
}

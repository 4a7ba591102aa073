import { Broker, MemoryPersistence, ReasonCode, SqlitePersistence, handleWebSocket, listenTcp, listenTls, selectMqttSubprotocol, type AuthResult, type Client } from '@thingstead/broker';
import { isThingsteadError, parseJsonPayload, type Clock, type Core, type EventBus, type Principal, type TelemetryPoint } from '@thingstead/core';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from '../../config/schema';
import type { Metrics } from '../../metrics';
import { appSubscribeVerdict, appTelemetryTopic, devicePublishVerdict, deviceSubscribeVerdict, deviceTopics } from './topics';

/** What the authenticate hook attaches to a connection. */
export type MqttUser =
  | { kind: 'device'; deviceId: string; tenantId: string }
  | { kind: 'app'; principal: Principal };

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
  /** The HTTP server that carries MQTT over WebSocket at /mqtt. */
  httpServer: HttpServer;
}

export interface MqttTransport {
  broker: Broker;
  ports: { tcp: number; tls?: number };
  /** Stops accepting; open connections stay until close(). */
  stopAccepting(): Promise<void>;
  close(): Promise<void>;
}

const userOf = (client: Client): MqttUser => client.user as MqttUser;

/**
 * MQTT as the main device transport: the broker package plus the platform's hooks. Thin on purpose: it turns
 * CONNECT credentials into a device or application principal, checks topics, and hands telemetry to core,
 * acknowledging only after commit (PUBACK/PUBREC wait for onPublish).
 */
export async function startMqttTransport(o: MqttTransportOptions): Promise<MqttTransport> {
  const { core, logger, config } = o;
  const refuse = (reasonString: string): AuthResult => ({ ok: false, reasonCode: ReasonCode.NotAuthorized, reasonString });

  const broker = new Broker({
    persistence: config.persistSessions ? new SqlitePersistence({ path: join(o.dataDir, 'broker.db') }) : new MemoryPersistence(),
    limits: {
      maxPacketSize: config.maxPacketBytes,
      maxConnections: config.maxConnections,
      maxQueuedMessages: config.maxQueuedMessages,
      connectTimeoutMs: config.connectTimeoutMs,
      maxKeepAliveSec: config.maxKeepAliveSec,
    },
    hooks: {
      authenticate: async (req) => {
        const password = req.password?.toString('utf8');
        // An application client: a user's API key as username or password.
        const apiKey = [req.username, password].find((v) => v?.startsWith('tsk_'));
        if (apiKey !== undefined) {
          try {
            return { ok: true, user: { kind: 'app', principal: await core.auth.authenticate(apiKey) } satisfies MqttUser };
          } catch {
            return refuse('invalid or revoked API key');
          }
        }
        // ThingsBoard style: the device access token is the username.
        if (req.username !== undefined) {
          try {
            const d = await core.devices.authenticateToken(req.username);
            return { ok: true, user: { kind: 'device', deviceId: d.id, tenantId: d.tenantId } satisfies MqttUser };
          } catch (e) {
            if (!isThingsteadError(e)) throw e;
          }
        }
        // MQTT basic credentials: client id and/or username + password.
        const d = await core.devices.authenticateBasic({ clientId: req.clientId, username: req.username, password });
        if (d) return { ok: true, user: { kind: 'device', deviceId: d.id, tenantId: d.tenantId } satisfies MqttUser };
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
          if (isThingsteadError(e) && e.kind === 'TELEMETRY_INVALID') return { reasonCode: ReasonCode.PayloadFormatInvalid, reasonString: e.message };
          if (isThingsteadError(e) && e.kind === 'UNAVAILABLE') return { reasonCode: ReasonCode.QuotaExceeded, reasonString: e.message };
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
    if (isThingsteadError(err) && err.status < 500) logger.debug({ clientId: client.id, code: err.code, msg: err.message }, 'MQTT message refused; 3.1.1 client disconnected');
    else logger.error({ err, clientId: client.id }, 'MQTT hook failed');
  });
  broker.on('clientError', (err, client) => {
    logger.error({ err, clientId: client.id }, 'MQTT client handling failed; that connection was closed');
  });
  broker.on('persistenceError', (err) => {
    logger.error({ err }, 'MQTT session persistence failed');
  });
  o.metrics.observeBroker(() => broker.stats());

  // Application clients get each committed batch, whatever transport brought it.
  const unsubscribe = o.bus.subscribe('telemetry', (e) => {
    const topic = appTelemetryTopic(e.tenantId, e.deviceId);
    // Most messages have no application listening; building and routing the copy cost a quarter of ingest.
    if (!broker.hasSubscribers(topic)) return;
    broker.publish({ topic, payload: JSON.stringify(groupByTs(e.points)), qos: 1 }).catch((err: unknown) => {
      logger.warn({ err }, 'forwarding telemetry to MQTT applications failed');
    });
  });

  await broker.ready;
  const tcp = await listenTcp(broker, { port: config.port, host: o.host });
  const t = o.tls;
  let tls;
  try {
    tls = t.port === undefined || t.certFile === undefined || t.keyFile === undefined
      ? undefined
      : await listenTls(broker, { port: t.port, host: o.host, cert: readFileSync(t.certFile), key: readFileSync(t.keyFile) });
  } catch (e) {
    await tcp.close();
    await broker.close();
    unsubscribe();
    throw e;
  }

  let wss: WebSocketServer | undefined;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!wss || (req.url ?? '').split('?')[0] !== '/mqtt') {
      socket.destroy();
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

  let stopped: Promise<void> | undefined;
  const stopAccepting = () =>
    (stopped ??= (async () => {
      o.httpServer.off('upgrade', onUpgrade);
      await Promise.all([tcp.close(), tls?.close()]);
    })());
  return {
    broker,
    ports: { tcp: tcp.port, ...(tls ? { tls: tls.port } : {}) },
    stopAccepting,
    close: async () => {
      await stopAccepting();
      unsubscribe();
      await broker.close();
      wss?.close();
    },
  };
}

/** Committed points as the ThingsBoard array form: [{ts, values: {...}}], one entry per timestamp. */
function groupByTs(points: readonly TelemetryPoint[]): { ts: number; values: Record<string, unknown> }[] {
  const byTs = new Map<number, Record<string, unknown>>();
  for (const p of points) {
    let values = byTs.get(p.ts);
    if (!values) byTs.set(p.ts, (values = {}));
    values[p.key] = p.value;
  }
  return [...byTs].map(([ts, values]) => ({ ts, values }));
}

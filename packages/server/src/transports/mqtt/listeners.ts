import { handleWebSocket, listenTcp, listenTls, selectMqttSubprotocol, type Broker } from '@thingstead/broker';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Config } from '../../config/schema';
import { shutdownRetryAfterSec } from '../../shutdown';
import { ListenerCertificate } from '../tls-certificates';
import type { UpgradeRouter } from '../upgrade-router';

export interface MqttListenerOptions {
  config: Readonly<Config['mqtt']>;
  tls: Readonly<Config['mqtts']>;
  host: string;
  /** The HTTP server's upgrades, where MQTT over WebSocket is served at /mqtt. */
  upgrades: UpgradeRouter;
}

export interface MqttListeners {
  ports: { tcp: number; tls?: number };
  servers: { tcp: { listening: boolean }; tls?: { listening: boolean } };
  /** The TLS listener's certificate, reloaded on SIGHUP (tls-certificates.ts); undefined without TLS. */
  certificate?: ListenerCertificate;
  /** WebSocket upgrades get 503 from now on. */
  stopAccepting(): void;
  /** Every MQTT socket (TCP, TLS, WebSocket) closed; one still open after graceMs is destroyed. */
  close(graceMs: number): Promise<void>;
}

/** The byte streams the broker serves: TCP, TLS when configured, and WebSocket on the HTTP server. */
export async function listenMqtt(broker: Broker, o: MqttListenerOptions): Promise<MqttListeners> {
  const tcp = await listenTcp(broker, { port: o.config.port, host: o.host });
  const t = o.tls;
  let tls: Awaited<ReturnType<typeof listenTls>> | undefined;
  let certificate: ListenerCertificate | undefined;
  try {
    if (t.port !== undefined && t.certFile !== undefined && t.keyFile !== undefined) {
      certificate = new ListenerCertificate('mqtts', { certFile: t.certFile, keyFile: t.keyFile });
      tls = await listenTls(broker, { port: t.port, host: o.host, ...certificate.options });
      certificate.attach(tls.server);
    }
  } catch (e) {
    await tcp.close();
    throw e;
  }

  let wss: WebSocketServer | undefined;
  let accepting = true;
  let unroute = (): void => {};
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!wss) return;
    if (!accepting) {
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${shutdownRetryAfterSec}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      handleWebSocket(broker, ws, req.socket.remoteAddress === undefined ? {} : { remoteAddress: req.socket.remoteAddress });
    });
  };
  if (o.config.websocket) {
    wss = new WebSocketServer({ noServer: true, handleProtocols: selectMqttSubprotocol, maxPayload: o.config.maxPacketBytes + 16 });
    unroute = o.upgrades.route('/mqtt', onUpgrade);
  }
  return {
    ports: { tcp: tcp.port, ...(tls ? { tls: tls.port } : {}) },
    servers: { tcp: tcp.server, ...(tls ? { tls: tls.server } : {}) },
    ...(certificate ? { certificate } : {}),
    stopAccepting: () => {
      accepting = false;
    },
    close: async (graceMs) => {
      await Promise.all([tcp.close(graceMs), tls?.close(graceMs), closeWebSockets(wss, graceMs)]);
      unroute();
    },
  };
}

/** Upgraded sockets are not the HTTP server's to close: each one still open after graceMs is terminated. */
async function closeWebSockets(wss: WebSocketServer | undefined, graceMs: number): Promise<void> {
  if (!wss) return;
  const open = [...wss.clients].filter((ws) => ws.readyState !== ws.CLOSED);
  if (open.length > 0) {
    const gone = Promise.all(
      open.map(
        (ws) =>
          new Promise<void>((resolve) =>
            ws.once('close', () => {
              resolve();
            }),
          ),
      ),
    );
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

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { createWebSocketStream, type WebSocket } from 'ws';
import type { Broker } from './broker';

export interface ListenOptions {
  port: number;
  host?: string;
}

export interface TlsListenOptions extends ListenOptions {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface Listener<S> {
  server: S;
  /** The bound port (useful with port 0). */
  port: number;
  /**
   * Stops taking new connections and ends the open ones: a socket still open `graceMs` after the call
   * (default 1000) is destroyed. Resolves when every connection is gone. (net.Server.close() alone waits for
   * every connection to end on its own, which an idle MQTT client never does.) Call broker.close() before or
   * right after it, so connected clients get their DISCONNECT first.
   */
  close(graceMs?: number): Promise<void>;
}

function listen<S extends Server>(server: S, options: ListenOptions): Promise<Listener<S>> {
  // Raw sockets, tracked from 'connection' (for TLS before the handshake), so close() can end each of them.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let stopped: Promise<void> | undefined;
  const close = async (graceMs = 1000): Promise<void> => {
    const closed = (stopped ??= new Promise<void>((done) => {
      server.close(() => {
        done();
      });
    }));
    if (sockets.size > 0) {
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      await closed;
      clearTimeout(timer);
    }
    await closed;
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        port,
        close,
      });
    });
  });
}

/** Listens for MQTT over TCP. Nagle is disabled: the broker batches its writes per tick itself. */
export function listenTcp(broker: Broker, options: ListenOptions): Promise<Listener<Server>> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    broker.handle(socket, { transport: 'tcp', ...(socket.remoteAddress === undefined ? {} : { remoteAddress: socket.remoteAddress }) });
  });
  return listen(server, options);
}

/** Listens for MQTT over TLS (cert and key in PEM). */
export function listenTls(broker: Broker, options: TlsListenOptions): Promise<Listener<TlsServer>> {
  const server = createTlsServer({ cert: options.cert, key: options.key }, (socket) => {
    socket.setNoDelay(true);
    broker.handle(socket, { transport: 'tls', ...(socket.remoteAddress === undefined ? {} : { remoteAddress: socket.remoteAddress }) });
  });
  return listen(server, options);
}

/**
 * Serves MQTT over an accepted WebSocket (the HTTP server decides the path, `/mqtt` by
 * convention, and should accept the `mqtt` subprotocol: see `selectMqttSubprotocol`).
 */
export function handleWebSocket(broker: Broker, ws: WebSocket, meta: { remoteAddress?: string } = {}): void {
  const stream = createWebSocketStream(ws);
  broker.handle(stream, { transport: 'ws', ...meta });
}

/** A `handleProtocols` callback for `ws`: picks `mqtt` (MQTT over WebSocket, v5 §6). */
export function selectMqttSubprotocol(protocols: Set<string>): string | false {
  if (protocols.has('mqtt')) return 'mqtt';
  if (protocols.has('mqttv3.1')) return 'mqttv3.1';
  return false;
}

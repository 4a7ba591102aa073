import type { FastifyInstance } from 'fastify';
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { ListenerCertificate } from '../tls-certificates';

export interface HttpsListenerOptions {
  /** The fastify app, already listening on plain HTTP (app.server). */
  app: Pick<FastifyInstance, 'routing' | 'server'>;
  certificate: ListenerCertificate;
  port: number;
  host: string;
}

export interface HttpsListener {
  server: HttpsServer;
  port: number;
  /** Stops listening and ends every HTTPS connection still open (as app.close() does for plain HTTP). */
  close(): Promise<void>;
}

/**
 * HTTPS beside the plain HTTP listener, serving the same app: fastify has one server of its own (plain HTTP
 * here, kept for the devices and users that use it), so this node:https server hands each request to the app's
 * handler (app.routing: the same routes, hooks, shutdown answers and metrics) and each upgrade to the handlers
 * on the plain server (upgrade-router.ts: MQTT over WebSocket at /mqtt, the live API at /api/ws), so wss:// is ws:// over TLS with nothing
 * duplicated. Fastify's own https option would replace plain HTTP instead of adding to it.
 */
export async function listenHttps(o: HttpsListenerOptions): Promise<HttpsListener> {
  const plain: HttpServer = o.app.server;
  const server = createServer(
    {
      ...o.certificate.options,
      // The plain server's limits, as fastify set them (keep-alive, request and header timeouts).
      keepAliveTimeout: plain.keepAliveTimeout,
      requestTimeout: plain.requestTimeout,
      headersTimeout: plain.headersTimeout,
      ...(plain.maxRequestsPerSocket === null ? {} : { maxRequestsPerSocket: plain.maxRequestsPerSocket }),
    },
    (req, res) => {
      o.app.routing(req, res);
    },
  );
  server.setTimeout(plain.timeout);
  o.certificate.attach(server);
  server.on('upgrade', (req, socket, head) => {
    // No upgrade handler: nothing would ever answer this socket.
    if (plain.listenerCount('upgrade') === 0) socket.destroy();
    else plain.emit('upgrade', req, socket, head);
  });
  // Malformed requests get the app's standard 400 answer (errors.ts clientErrorHandler), as on plain HTTP.
  server.on('clientError', (err, socket) => {
    plain.emit('clientError', err, socket);
  });

  // Raw sockets from accept (before the handshake), so close() can end each one: server.close() alone waits for
  // idle keep-alive clients and for handshakes that never finish.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        // The last shutdown step, after the drain (like fastify's forceCloseConnections): what is open is cut.
        // MQTT over WebSocket sockets were closed before, by the MQTT transport.
        for (const socket of sockets) socket.destroy();
      })),
  };
}

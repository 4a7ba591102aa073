import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The one 'upgrade' listener of the HTTP server: WebSocket upgrades go to the handler of their path (MQTT over
 * WebSocket at /mqtt, the live API at /api/ws), so each transport sees only its own and neither has to know
 * the other. The HTTPS listener hands its upgrades to the plain server (https-listener.ts), so both ports
 * route alike. A path nobody serves is answered 404, and the socket closed.
 */
export class UpgradeRouter {
  private readonly routes = new Map<string, UpgradeHandler>();

  constructor(server: HttpServer) {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const handler = this.routes.get((req.url ?? '').split('?')[0] ?? '');
      if (handler) handler(req, socket, head);
      else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }

  /** Routes upgrades of path to handler; the returned function removes the route. */
  route(path: string, handler: UpgradeHandler): () => void {
    if (this.routes.has(path)) throw new Error(`an upgrade handler for ${path} exists already`);
    this.routes.set(path, handler);
    return () => {
      this.routes.delete(path);
    };
  }
}

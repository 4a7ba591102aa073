import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Metrics } from '../../metrics';
import { livenessBody, readinessBody, type Readiness } from '../../readiness';

export interface OpsAccess {
  metrics: Metrics;
  readiness: Readiness;
  /** metrics.bearerToken: when set, GET /metrics needs `Authorization: Bearer <it>`. */
  bearerToken: string | undefined;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when the Authorization header carries the metrics token (or none is configured); constant-time compare. */
export function metricsAuthorized(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1] !== undefined && timingSafeEqual(digest(m[1]), digest(token));
}

export interface OpsListener {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * metrics.port: /metrics (and /healthz, /readyz for probes) on a listener of its own, so the metrics can stay
 * on a private address or port while the API is public. Nothing else is served there.
 */
export async function listenOps(o: OpsAccess & { port: number; host: string }): Promise<OpsListener> {
  type Answer = [status: number, type: string, body: string, headers?: Record<string, string>];
  const answer = async (method: string | undefined, path: string | undefined, authorization: string | undefined): Promise<Answer> => {
    if (method !== 'GET' && method !== 'HEAD') return [405, 'text/plain', 'Method Not Allowed\n', { allow: 'GET, HEAD' }];
    if (path === '/metrics') {
      if (!metricsAuthorized(authorization, o.bearerToken))
        return [401, 'text/plain', 'metrics.bearerToken is set: send Authorization: Bearer <token>\n', { 'www-authenticate': 'Bearer' }];
      return [200, o.metrics.registry.contentType, await o.metrics.registry.metrics()];
    }
    if (path === '/healthz') return [200, 'application/json', JSON.stringify(livenessBody())];
    if (path === '/readyz') {
      const r = await o.readiness.run();
      return [r.ready ? 200 : 503, 'application/json', JSON.stringify(readinessBody(r))];
    }
    return [404, 'text/plain', 'Not Found: this port serves /metrics, /healthz and /readyz\n'];
  };
  const server = createServer((req, res) => {
    answer(req.method, (req.url ?? '').split('?')[0], req.headers.authorization)
      .catch((): Answer => [500, 'text/plain', 'Internal Server Error\n'])
      .then(
        ([status, type, body, headers]) => {
          res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers }).end(req.method === 'HEAD' ? undefined : body);
        },
        () => res.destroy(),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : o.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Health } from '@thingstead/contract';
import { ThingsteadError, type Core } from '@thingstead/core';
import { Ajv, type Options as AjvOptions } from 'ajv';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { AuthFailureLog } from '../../logging';
import type { Metrics } from '../../metrics';
import { livenessBody, readinessBody, type Readiness } from '../../readiness';
import { shutdownRetryAfterSec } from '../../shutdown';
import { requireAuthentication } from './auth';
import { clientErrorHandler, frameworkErrors, installErrorHandlers, maxParamLength, refusalCode } from './errors';
import { metricsAuthorized } from './ops-listener';
import { installJsonParser } from './json-parser';
import { installSecurityHeaders } from './security-headers';
import { consoleRoutes } from './console';
import { accountRoutes } from './routes/accounts';
import { alarmRoutes } from './routes/alarms';
import { attributeRoutes } from './routes/attributes';
import { authRoutes, publicAuthRoutes } from './routes/auth';
import { deviceApiRoutes } from './routes/device-api';
import { deviceRoutes } from './routes/devices';
import { notificationRoutes } from './routes/notifications';
import { rpcRoutes } from './routes/rpc';
import { ruleRoutes } from './routes/rules';
import { replies, type App } from './typed';

export interface HttpAppOptions {
  core: Core;
  metrics: Metrics;
  logger: FastifyBaseLogger;
  bodyLimitBytes: number;
  maxPayloadBytes: number;
  trustProxy: boolean;
  version: string;
  lifecycle: HttpLifecycle;
  /** Strict-Transport-Security max-age over HTTPS (https.hstsMaxAgeSec); 0: none. */
  hstsMaxAgeSec: number;
  /** GET /readyz's checks (main.ts adds the database and each listener). */
  readiness: Readiness;
  /** 401 answers are reported here (rate-limited warn lines with the address). */
  authFailures: AuthFailureLog;
  /** GET /metrics here: false when metrics.port serves it instead; bearerToken from metrics.bearerToken. */
  metricsEndpoint: { served: boolean; bearerToken: string | undefined };
}

/** Shared with main.ts's shutdown: the switch that turns new requests away, and the requests still running. */
export class HttpLifecycle {
  shuttingDown = false;
  inFlight = 0;
}

/** Answered even while shutting down: the probes say so themselves, and metrics stay readable during the drain. */
const servedWhileShuttingDown = new Set(['/healthz', '/readyz', '/metrics']);

/** A path for a log line: no query string (it may hold a key), no device token (the segment after /api/v1/). */
const loggablePath = (url: string): string => (url.split('?')[0] ?? '').replace(/^\/api\/v1\/[^/]+/, '/api/v1/[token]').slice(0, 200);

/** The HTTP surface: admin REST API, device API, health, metrics and the OpenAPI document. */
export async function buildHttpApp(o: HttpAppOptions): Promise<App> {
  const app = Fastify({
    loggerInstance: o.logger,
    bodyLimit: o.bodyLimitBytes,
    // Errors the router and Node's HTTP parser raise before a route runs get the standard body too.
    routerOptions: { maxParamLength },
    frameworkErrors,
    clientErrorHandler,
    trustProxy: o.trustProxy,
    // fastify's own two lines per request are replaced by one, written in onResponse below.
    logController: new LogController({ disableRequestLogging: true }),
    // app.close() is the last step of the shutdown, after the drain: what is still open then is cut.
    forceCloseConnections: true,
    // The shutdown hook below answers instead, with the standard error body and Retry-After.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // First of the hooks, so every answer has them, the shutdown's 503s included.
  await installSecurityHeaders(app, { hstsMaxAgeSec: o.hstsMaxAgeSec });

  const life = o.lifecycle;
  app.addHook('onRequest', async (req, reply) => {
    life.inFlight++;
    reply.raw.once('close', () => {
      life.inFlight--;
    });
    if (!life.shuttingDown) return;
    // Every answer during the drain closes its connection, so keep-alive clients move on and the server can stop.
    void reply.header('connection', 'close');
    if (servedWhileShuttingDown.has(req.routeOptions.url ?? '')) return;
    throw new ThingsteadError('UNAVAILABLE', 'The server is shutting down.', { details: { retryAfterSec: shutdownRetryAfterSec } });
  });

  // Query strings and path parameters arrive as text and are coerced to the schema's types; JSON bodies are
  // validated strictly (a string "42" is not a number there) and unknown fields are refused, not dropped.
  const ajvBase: AjvOptions = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false };
  const strictAjv = new Ajv({ ...ajvBase, coerceTypes: false });
  const coercingAjv = new Ajv({ ...ajvBase, coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema));
  installErrorHandlers(app);
  installJsonParser(app);
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url;
    const status = reply.statusCode;
    const ms = Math.round(reply.elapsedTime * 10) / 10;
    o.metrics.httpRequests.inc({ method: req.method, route: route ?? 'unmatched', status: String(status) });
    o.metrics.httpDuration.observe({ method: req.method, route: route ?? 'unmatched' }, reply.elapsedTime / 1000);
    // The route pattern, never the URL: a device's token is a path segment of the device API.
    const shown = route ?? loggablePath(req.url);
    const code = refusalCode(req);
    req.log.info(
      {
        method: req.method,
        route: route ?? null,
        ...(route === undefined ? { path: shown } : {}),
        status,
        ms,
        remoteAddress: req.ip,
        ...(code ? { code } : {}),
      },
      `${req.method} ${shown} ${status} ${ms} ms`,
    );
    if (status === 401)
      o.authFailures.record({ transport: 'http', remoteAddress: req.ip, reason: `${req.method} ${shown}: ${code ?? 'unauthenticated'}`, route: shown });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Thingstead API',
        version: o.version,
        description:
          'Admin REST API and device HTTP API. Errors share one shape; see docs/reference/errors.md. ' +
          'Live updates: a WebSocket at /api/ws (see the live tag). MQTT topics: docs/reference/mqtt.md.',
      },
      // OpenAPI 3.0 has no way to describe a WebSocket's messages: the live API is named here and documented in
      // docs/reference/websocket-api.md (message schemas in packages/contract/src/live.ts).
      tags: [
        {
          name: 'live',
          description:
            'WebSocket at GET /api/ws (HTTP upgrade; ws:// or wss://), authenticated by the Authorization or X-API-Key header or a first ' +
            '{"type":"auth","token":...} message. Subscribe to latest telemetry and attributes of a device or a filter, a time series from a ' +
            'start (history, then live), connectivity, events and alarms; close codes 4401, 4403, 4408, 4429. See docs/reference/websocket-api.md.',
        },
        { name: 'rpc', description: 'Commands to devices: two-way, one-way and persistent. See docs/reference/rpc.md.' },
        {
          name: 'alarms',
          description:
            'Alarms of devices, raised and cleared by rules (one not cleared per device and type; a repeated raise extends it), acknowledged, ' +
            'cleared, commented and deleted by people; counts per severity. Live changes: the alarms subscription of /api/ws. See docs/reference/alarms.md.',
        },
        {
          name: 'rules',
          description:
            'Rules as data: triggers, conditions (JSONata and declarative: threshold with hysteresis, duration, repeat, window, no data, anomaly, forecast), ' +
            'actions (alarms, RPC, attributes, calculated telemetry, notifications, MQTT republish, webhooks), history, traces, export/import, and ' +
            'POST /api/rules/test to replay a rule over stored telemetry. See docs/reference/rules.md.',
        },
        {
          name: 'notifications',
          description:
            'Notification channels (email over SMTP, signed webhooks, the in-app inbox), the delivery log with retries, and your inbox. ' +
            'Secrets (SMTP password, webhook secret) are stored and never shown. See docs/reference/notifications.md.',
        },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Access token from POST /api/auth/login, or an API key' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
  });
  // No validator badge: it would send the document's URL to validator.swagger.io (and the CSP allows no such image).
  await app.register(swaggerUi, { routePrefix: '/api/docs', uiConfig: { validatorUrl: null } });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  o.readiness.add('server', () => (life.shuttingDown ? 'shutting down' : 'ok'));
  app.get(
    '/healthz',
    { schema: { tags: ['ops'], summary: 'Liveness: the process answers (200 also while it drains at shutdown)', response: { 200: Health } } },
    async () => livenessBody(),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: the database takes writes, every listener is up, the server is not shutting down; 503 names the failing checks',
        response: { 200: Health, 503: Health },
      },
    },
    async (_req, reply) => {
      const r = await o.readiness.run();
      return reply.status(r.ready ? 200 : 503).send(readinessBody(r));
    },
  );
  if (o.metricsEndpoint.served) {
    const token = o.metricsEndpoint.bearerToken;
    app.get(
      '/metrics',
      {
        schema: {
          tags: ['ops'],
          summary: 'Prometheus metrics (docs/reference/metrics.md); with metrics.bearerToken set, send it as a Bearer token',
          response: replies(null),
        },
      },
      async (req, reply) => {
        if (!metricsAuthorized(req.headers.authorization, token))
          throw new ThingsteadError('UNAUTHENTICATED', 'metrics.bearerToken is set: send Authorization: Bearer <token>.');
        return reply.header('content-type', o.metrics.registry.contentType).send(await o.metrics.registry.metrics());
      },
    );
  }

  await consoleRoutes(app);
  publicAuthRoutes(app, o.core);
  deviceApiRoutes(app, o.core, { metrics: o.metrics, maxPayloadBytes: o.maxPayloadBytes });
  await app.register(async (scope) => {
    requireAuthentication(scope, o.core);
    const typed = scope.withTypeProvider<TypeBoxTypeProvider>();
    authRoutes(typed, o.core);
    accountRoutes(typed, o.core);
    deviceRoutes(typed, o.core);
    rpcRoutes(typed, o.core);
    ruleRoutes(typed, o.core);
    alarmRoutes(typed, o.core);
    attributeRoutes(typed, o.core);
    notificationRoutes(typed, o.core);
  });
  return app;
}

import { isThingsteadError, ThingsteadError, type ErrorName } from '@thingstead/core';
import type { ErrorBody } from '@thingstead/contract';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The HTTP status of every error kind: the one place the HTTP boundary decides statuses (a new kind in core's
 * catalogue fails the typecheck here until it has one).
 */
export const httpStatus = {
  VALIDATION: 400,
  BAD_REQUEST: 400,
  BAD_URL: 400,
  BAD_JSON: 400,
  TELEMETRY_INVALID: 400,
  ATTRIBUTES_INVALID: 400,
  RPC_INVALID: 400,
  RULE_INVALID: 400,
  GATEWAY_INVALID: 400,
  NOTIFICATION_CHANNEL_INVALID: 400,
  // Answered as VALIDATION by the credentials endpoint (ADR 0004); 400 like it should one ever get through.
  ACCESS_TOKEN_TAKEN: 400,
  MQTT_USERNAME_TAKEN: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  TOKEN_INVALID: 401,
  DEVICE_TOKEN_INVALID: 401,
  ACCOUNT_DISABLED: 403,
  FORBIDDEN: 403,
  ATTRIBUTE_SCOPE_READ_ONLY: 403,
  GATEWAY_CHILD_REFUSED: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  RPC_METHOD_UNKNOWN: 404,
  REQUEST_TIMEOUT: 408,
  POLL_TIMEOUT: 408,
  CONFLICT: 409,
  TENANT_NAME_TAKEN: 409,
  EMAIL_TAKEN: 409,
  PROFILE_NAME_TAKEN: 409,
  DEVICE_NAME_TAKEN: 409,
  RULE_NAME_TAKEN: 409,
  NOTIFICATION_CHANNEL_NAME_TAKEN: 409,
  LIMIT_REACHED: 409,
  TELEMETRY_KEY_LIMIT: 409,
  ATTRIBUTE_LIMIT: 409,
  GATEWAY_LIMIT: 409,
  TWIN_VERSION_CONFLICT: 409,
  DEVICE_OFFLINE: 409,
  IN_USE: 409,
  DEFAULT_PROFILE: 409,
  LAST_ADMIN: 409,
  TENANT_HAS_ADMIN: 409,
  PAYLOAD_TOO_LARGE: 413,
  URL_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_ATTEMPTS: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  RPC_TIMEOUT: 504,
} as const satisfies Record<ErrorName, number>;

export const statusOf = (e: ThingsteadError): number => httpStatus[e.kind];

export function errorBody(e: ThingsteadError): ErrorBody {
  const status = statusOf(e);
  return {
    statusCode: status,
    code: e.code,
    error: STATUS_CODES[status] ?? 'Error',
    message: e.message,
    hint: e.hint,
    ...(e.details === undefined ? {} : { details: e.details }),
  };
}

/** Fastify's own errors, translated into the catalogue so every error has the same JSON shape. */
const fastifyCodes: Record<string, ErrorName> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION',
  FST_ERR_BAD_URL: 'BAD_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URL_TOO_LONG',
};

/** The longest path parameter the router takes; longer answers 414 (device tokens are up to 128). */
export const maxParamLength = 128;

export function toThingsteadError(err: FastifyError | Error): ThingsteadError {
  if (isThingsteadError(err)) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const details = { problems: fe.validation.map((v) => `${fe.validationContext ?? 'request'}${v.instancePath || ''} ${v.message ?? ''}`.trim()) };
    return new ThingsteadError('VALIDATION', `Invalid ${fe.validationContext ?? 'request'}: ${details.problems.join('; ')}`, { details, cause: err });
  }
  const mapped = fe.code ? fastifyCodes[fe.code] : undefined;
  if (mapped) return new ThingsteadError(mapped, mapped === 'BAD_JSON' ? `The body is not valid JSON: ${fe.message}` : undefined, { cause: err });
  if (err instanceof SyntaxError) return new ThingsteadError('BAD_JSON', `The body is not valid JSON: ${err.message}`, { cause: err });
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const kind = (Object.keys(httpStatus) as ErrorName[]).find((k) => httpStatus[k] === fe.statusCode) ?? 'VALIDATION';
    return new ThingsteadError(kind, fe.message, { cause: err });
  }
  return new ThingsteadError('INTERNAL', undefined, { cause: err });
}

const refusals = new WeakMap<FastifyRequest, string>();

/** The error code a request was answered with (for its log line), if it was refused. */
export const refusalCode = (req: FastifyRequest): string | undefined => refusals.get(req);

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = toThingsteadError(err);
    const status = statusOf(e);
    refusals.set(req, e.code);
    // A 503 refusal (overload, shutdown) is expected behaviour, counted in metrics; logging each would flood the log.
    if (status >= 500 && e.kind !== 'UNAVAILABLE') req.log.error({ err }, 'request failed');
    else req.log.debug({ code: e.code, reason: e.message }, 'request refused');
    // 429 and 503 say when to come back (RFC 9110 §10.2.3); the same figure is in details.retryAfterSec.
    if (typeof e.details?.retryAfterSec === 'number') void reply.header('retry-after', String(e.details.retryAfterSec));
    else if (status === 503) void reply.header('retry-after', '1');
    if (status === 401) void reply.header('www-authenticate', 'Bearer');
    return reply.status(status).send(errorBody(e));
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const e = new ThingsteadError('ROUTE_NOT_FOUND', `No route ${req.method} ${path.length > 200 ? `${path.slice(0, 200)}...` : path}.`);
    refusals.set(req, e.code);
    return reply.status(statusOf(e)).send(errorBody(e));
  });
}

/**
 * fastify's `frameworkErrors`: what the router refuses before any route runs (a malformed percent-encoding,
 * a path parameter over maxParamLength) gets the standard body too, instead of fastify's own shape.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const e = toThingsteadError(err);
  void reply.status(statusOf(e)).send(errorBody(e));
}

const clientErrorKinds: Record<string, ErrorName> = { HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE', ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT' };

/**
 * fastify's `clientErrorHandler`: Node's HTTP parser failed (headers over 16 KiB, a request that did not
 * arrive in time, bytes that are not HTTP) before fastify saw a request. Answers in the standard shape on the
 * raw socket and closes it, as Node itself does.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e = new ThingsteadError((err.code === undefined ? undefined : clientErrorKinds[err.code]) ?? 'BAD_REQUEST');
  const body = JSON.stringify(errorBody(e));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${statusOf(e)} ${STATUS_CODES[statusOf(e)] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

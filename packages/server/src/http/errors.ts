import { errorCatalogue, isThingsteadError, ThingsteadError, type ErrorName } from '@thingstead/core';
import type { ErrorBody } from '@thingstead/contract';
import type { FastifyError, FastifyInstance } from 'fastify';
import { STATUS_CODES } from 'node:http';

export function errorBody(e: ThingsteadError): ErrorBody {
  return {
    statusCode: e.status,
    code: e.code,
    error: STATUS_CODES[e.status] ?? 'Error',
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
};

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
    const kind = (Object.keys(errorCatalogue) as ErrorName[]).find((k) => errorCatalogue[k].status === fe.statusCode) ?? 'VALIDATION';
    return new ThingsteadError(kind, fe.message, { cause: err });
  }
  return new ThingsteadError('INTERNAL', undefined, { cause: err });
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = toThingsteadError(err);
    // A 503 refusal (overload, shutdown) is expected behaviour, counted in metrics; logging each would flood the log.
    if (e.status >= 500 && e.kind !== 'UNAVAILABLE') req.log.error({ err }, 'request failed');
    else req.log.debug({ code: e.code, msg: e.message }, 'request refused');
    // 429 and 503 say when to come back (RFC 9110 §10.2.3); the same figure is in details.retryAfterSec.
    if (typeof e.details?.retryAfterSec === 'number') void reply.header('retry-after', String(e.details.retryAfterSec));
    else if (e.status === 503) void reply.header('retry-after', '1');
    if (e.status === 401) void reply.header('www-authenticate', 'Bearer');
    return reply.status(e.status).send(errorBody(e));
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new ThingsteadError('ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0] ?? ''}.`);
    return reply.status(404).send(errorBody(e));
  });
}

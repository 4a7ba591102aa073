import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorBody } from '@thingstead/contract';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Response schemas: the success body (serialised through it, so nothing unlisted leaks) and the error shape. */
export function replies(ok: TSchema | null, status = 200): Record<string, TSchema> {
  return { ...(ok === null ? {} : { [status]: ok }), '4xx': ErrorBody, '5xx': ErrorBody };
}

export const bearer = [{ bearer: [] }, { apiKey: [] }];

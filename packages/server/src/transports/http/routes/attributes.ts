import {
  AttributeChange,
  AttributeScopeParams,
  AttributesQuery,
  AttributesResult,
  DeleteAttributesQuery,
  IdParams,
  PatchDesiredBody,
  SetAttributesBody,
  Twin,
} from '@thingstead/contract';
import type { Core } from '@thingstead/core';
import { principalOf } from '../auth';
import { bearer, replies, type App } from '../typed';

const splitKeys = (keys: string | undefined): string[] | undefined =>
  keys
    ?.split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);

/** The user side of device attributes and the twin; core checks tenant, role, scope, keys, values and limits. */
export function attributeRoutes(app: App, core: Core): void {
  const tags = ['attributes'];
  app.get(
    '/api/devices/:id/attributes',
    {
      schema: {
        tags,
        summary: 'Attributes of every scope (or of one) with their update times, and the version',
        security: bearer,
        params: IdParams,
        querystring: AttributesQuery,
        response: replies(AttributesResult),
      },
    },
    async (req) => core.attributes.read(principalOf(req), req.params.id, { scope: req.query.scope, keys: splitKeys(req.query.keys) }),
  );
  app.post(
    '/api/devices/:id/attributes/:scope',
    {
      schema: {
        tags,
        summary: 'Set server or shared attributes (a JSON object of key -> value); client attributes are read-only',
        security: bearer,
        params: AttributeScopeParams,
        body: SetAttributesBody,
        response: replies(AttributeChange),
      },
    },
    async (req) => core.attributes.set(principalOf(req), req.params.id, req.params.scope, req.body),
  );
  app.delete(
    '/api/devices/:id/attributes/:scope',
    {
      schema: {
        tags,
        summary: 'Delete server or shared attributes by key',
        security: bearer,
        params: AttributeScopeParams,
        querystring: DeleteAttributesQuery,
        response: replies(AttributeChange),
      },
    },
    async (req) => core.attributes.delete(principalOf(req), req.params.id, req.params.scope, splitKeys(req.query.keys) ?? []),
  );
  app.get(
    '/api/devices/:id/twin',
    {
      schema: {
        tags,
        summary: 'The twin: desired (shared) and reported (client) state, their delta, and the version',
        security: bearer,
        params: IdParams,
        response: replies(Twin),
      },
    },
    async (req) => core.attributes.twin(principalOf(req), req.params.id),
  );
  app.patch(
    '/api/devices/:id/twin/desired',
    {
      schema: {
        tags,
        summary: 'Change the desired state (null deletes a key) if the twin is still at `version`; 409 otherwise',
        security: bearer,
        params: IdParams,
        body: PatchDesiredBody,
        response: replies(Twin),
      },
    },
    async (req) => core.attributes.patchDesired(principalOf(req), req.params.id, req.body),
  );
}

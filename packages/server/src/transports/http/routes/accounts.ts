import {
  ApiKeyBody,
  ApiKeyCreated,
  ApiKeyList,
  CreateUserBody,
  IdParams,
  Page,
  PageQuery,
  PatchTenantBody,
  PatchUserBody,
  Tenant,
  TenantBody,
  User,
} from '@thingstead/contract';
import type { Core } from '@thingstead/core';
import { principalOf } from '../auth';
import { bearer, replies, type App } from '../typed';

export function accountRoutes(app: App, core: Core): void {
  const tags = ['tenants'];
  app.get(
    '/api/tenants',
    { schema: { tags, summary: 'List tenants (admins: all; others: their own)', security: bearer, querystring: PageQuery, response: replies(Page(Tenant)) } },
    async (req) => core.tenants.list(principalOf(req), req.query),
  );
  app.post(
    '/api/tenants',
    { schema: { tags, summary: 'Create a tenant (system admin)', security: bearer, body: TenantBody, response: replies(Tenant, 201) } },
    async (req, reply) => reply.status(201).send(await core.tenants.create(principalOf(req), req.body)),
  );
  app.get('/api/tenants/:id', { schema: { tags, summary: 'Get a tenant', security: bearer, params: IdParams, response: replies(Tenant) } }, async (req) =>
    core.tenants.get(principalOf(req), req.params.id),
  );
  app.patch(
    '/api/tenants/:id',
    { schema: { tags, summary: 'Rename a tenant (system admin)', security: bearer, params: IdParams, body: PatchTenantBody, response: replies(Tenant) } },
    async (req) => core.tenants.update(principalOf(req), req.params.id, req.body),
  );
  app.delete(
    '/api/tenants/:id',
    { schema: { tags, summary: 'Delete a tenant and everything it owns (system admin)', security: bearer, params: IdParams, response: replies(null, 204) } },
    async (req, reply) => {
      await core.tenants.delete(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );

  const utags = ['users'];
  app.get(
    '/api/users',
    { schema: { tags: utags, summary: 'List users of a tenant', security: bearer, querystring: PageQuery, response: replies(Page(User)) } },
    async (req) => core.users.list(principalOf(req), req.query),
  );
  app.post(
    '/api/users',
    { schema: { tags: utags, summary: 'Create a user (tenant admin)', security: bearer, body: CreateUserBody, response: replies(User, 201) } },
    async (req, reply) => reply.status(201).send(await core.users.create(principalOf(req), req.body)),
  );
  app.get('/api/users/:id', { schema: { tags: utags, summary: 'Get a user', security: bearer, params: IdParams, response: replies(User) } }, async (req) =>
    core.users.get(principalOf(req), req.params.id),
  );
  app.patch(
    '/api/users/:id',
    {
      schema: {
        tags: utags,
        summary: 'Change a user (own email and password, or any user as tenant admin)',
        security: bearer,
        params: IdParams,
        body: PatchUserBody,
        response: replies(User),
      },
    },
    async (req) => core.users.update(principalOf(req), req.params.id, req.body),
  );
  app.delete(
    '/api/users/:id',
    { schema: { tags: utags, summary: 'Delete a user (tenant admin)', security: bearer, params: IdParams, response: replies(null, 204) } },
    async (req, reply) => {
      await core.users.delete(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );

  const ktags = ['api-keys'];
  app.get(
    '/api/api-keys',
    { schema: { tags: ktags, summary: 'List API keys (own; tenant admins: the whole tenant)', security: bearer, response: replies(ApiKeyList) } },
    async (req) => ({
      items: await core.apiKeys.list(principalOf(req)),
    }),
  );
  app.post(
    '/api/api-keys',
    {
      schema: {
        tags: ktags,
        summary: 'Create an API key; the key is shown only in this response',
        security: bearer,
        body: ApiKeyBody,
        response: replies(ApiKeyCreated, 201),
      },
    },
    async (req, reply) => reply.status(201).send(await core.apiKeys.create(principalOf(req), req.body)),
  );
  app.delete(
    '/api/api-keys/:id',
    { schema: { tags: ktags, summary: 'Revoke an API key', security: bearer, params: IdParams, response: replies(null, 204) } },
    async (req, reply) => {
      await core.apiKeys.revoke(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );
}

import { IdParams, Page, RpcCallBody, RpcCallReply, RpcListQuery, StoredRpc } from '@thingstead/contract';
import type { Core } from '@thingstead/core';
import { principalOf } from '../auth';
import { bearer, replies, type App } from '../typed';

/** Commands to devices (docs/reference/rpc.md). */
export function rpcRoutes(app: App, core: Core): void {
  app.post(
    '/api/devices/:id/rpc',
    {
      schema: {
        tags: ['rpc'],
        summary:
          'Send a command to a device: two-way waits for its answer (504 after timeoutMs), one-way returns once sent; 409 when the device is offline. persistent: stored, delivered when the device is reachable, answered at once with its id',
        security: bearer,
        params: IdParams,
        body: RpcCallBody,
        response: replies(RpcCallReply),
      },
    },
    async (req) => core.rpc.call(principalOf(req), req.params.id, req.body),
  );
  app.get(
    '/api/devices/:id/rpc',
    {
      schema: {
        tags: ['rpc'],
        summary: "A device's persistent RPCs, newest first, optionally of one status",
        security: bearer,
        params: IdParams,
        querystring: RpcListQuery,
        response: replies(Page(StoredRpc)),
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const offset = req.query.offset ?? 0;
      const page = await core.rpc.list(principalOf(req), req.params.id, { status: req.query.status, limit, offset });
      return { ...page, limit, offset };
    },
  );
  app.get(
    '/api/rpc/:id',
    {
      schema: { tags: ['rpc'], summary: 'A persistent RPC: its status, attempts and answer', security: bearer, params: IdParams, response: replies(StoredRpc) },
    },
    async (req) => core.rpc.get(principalOf(req), req.params.id),
  );
  app.delete(
    '/api/rpc/:id',
    {
      schema: {
        tags: ['rpc'],
        summary: 'Delete a persistent RPC; one not yet answered is not sent again',
        security: bearer,
        params: IdParams,
        response: replies(null, 204),
      },
    },
    async (req, reply) => {
      await core.rpc.cancel(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );
}

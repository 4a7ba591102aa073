import { IdParams, RpcCallBody, RpcCallReply } from '@thingstead/contract';
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
        summary: 'Send a command to a device: two-way waits for its answer (504 after timeoutMs), one-way returns once sent; 409 when the device is offline',
        security: bearer,
        params: IdParams,
        body: RpcCallBody,
        response: replies(RpcCallReply),
      },
    },
    async (req) => core.rpc.call(principalOf(req), req.params.id, req.body),
  );
}

import { Type } from '@sinclair/typebox';
import { maxOffset } from './paging';

const statuses = ['QUEUED', 'SENT', 'DELIVERED', 'SUCCESSFUL', 'TIMEOUT', 'EXPIRED', 'FAILED'] as const;
export const RpcStatus = Type.Union(
  statuses.map((s) => Type.Literal(s)),
  { description: 'QUEUED -> SENT -> DELIVERED -> SUCCESSFUL; or TIMEOUT, EXPIRED, FAILED (docs/reference/rpc.md)' },
);

/** POST /api/devices/{id}/rpc: a command to the device. */
export const RpcCallBody = Type.Object(
  {
    method: Type.String({ minLength: 1, maxLength: 128, description: 'The method the device handles, e.g. setValve.' }),
    params: Type.Optional(Type.Unknown({ description: 'Any JSON, at most 64 KiB; {} when left out.' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: 'How long a two-way call waits for the answer; default 10000.' })),
    oneway: Type.Optional(Type.Boolean({ description: 'Do not wait for an answer; 200 once the command was handed to the device transports.' })),
    persistent: Type.Optional(
      Type.Boolean({
        description:
          'Store the call and deliver it when the device is reachable, also if it is offline now; answered at once with its id and status. Follow it with GET /api/rpc/{id}.',
      }),
    ),
    expiresInMs: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 30 * 86_400_000, description: 'Persistent calls: how long it may wait for delivery and answer; default a day.' }),
    ),
  },
  { additionalProperties: false },
);
export const RpcCallReply = Type.Object({
  rpcId: Type.Integer(),
  oneway: Type.Boolean(),
  response: Type.Optional(Type.Unknown({ description: 'The device answer (its JSON, or its text when not JSON); two-way calls only.' })),
  persistent: Type.Optional(Type.Literal(true)),
  id: Type.Optional(Type.String({ description: 'Persistent calls: the id for GET and DELETE /api/rpc/{id}.' })),
  status: Type.Optional(RpcStatus),
});

/** A persistent call (GET /api/rpc/{id}, GET /api/devices/{id}/rpc). */
export const StoredRpc = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  deviceId: Type.String(),
  rpcId: Type.Integer({ description: 'The id the device sees on its request topic and answers with.' }),
  method: Type.String(),
  params: Type.Unknown(),
  oneway: Type.Boolean(),
  status: RpcStatus,
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  expiresAt: Type.Integer(),
  timeoutMs: Type.Integer(),
  attempts: Type.Integer({ description: 'Sends so far; the call is sent again after an unanswered attempt while attempts are left.' }),
  maxAttempts: Type.Integer(),
  sentAt: Type.Union([Type.Integer(), Type.Null()]),
  response: Type.Optional(Type.Unknown({ description: 'The answer, once SUCCESSFUL (two-way).' })),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why it ended without an answer.' }),
});

export const RpcListQuery = Type.Object({
  status: Type.Optional(RpcStatus),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: maxOffset, default: 0 })),
});

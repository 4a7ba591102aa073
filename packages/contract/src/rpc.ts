import { Type } from '@sinclair/typebox';

/** POST /api/devices/{id}/rpc: a command to the device. */
export const RpcCallBody = Type.Object(
  {
    method: Type.String({ minLength: 1, maxLength: 128, description: 'The method the device handles, e.g. setValve.' }),
    params: Type.Optional(Type.Unknown({ description: 'Any JSON, at most 64 KiB; {} when left out.' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: 'How long a two-way call waits for the answer; default 10000.' })),
    oneway: Type.Optional(Type.Boolean({ description: 'Do not wait for an answer; 200 once the command was handed to the device transports.' })),
  },
  { additionalProperties: false },
);
export const RpcCallReply = Type.Object({
  rpcId: Type.Integer(),
  oneway: Type.Boolean(),
  response: Type.Optional(Type.Unknown({ description: 'The device answer (its JSON, or its text when not JSON); two-way calls only.' })),
});

import { Type, type Static, type TProperties } from '@sinclair/typebox';
import { AlarmSeverity } from './alarms';
import { AttributeScope } from './attributes';
import { Id, Ms } from './common';

/**
 * The live WebSocket API at /api/ws (docs/reference/websocket-api.md): what a client sends. The server's messages
 * are the LiveMessage type of core (listed in the reference with examples).
 */
const SubscriptionId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\x21-\\x7e]+$', description: 'Chosen by the client; carried by every update' });
const Keys = Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 100, description: 'Only these keys; all when absent' });
export const DeviceFilter = Type.Object(
  {
    tenantId: Type.Optional(Id),
    profileId: Type.Optional(Id),
    namePrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false, description: 'Devices matching every field given (a system admin may name another tenant)' },
);
export const LiveTarget = Type.Union([
  Type.Object({ deviceId: Id }, { additionalProperties: false }),
  Type.Object({ filter: DeviceFilter }, { additionalProperties: false }),
]);

const sub = <K extends string, P extends TProperties>(kind: K, props: P) =>
  Type.Object({ type: Type.Literal('subscribe'), id: SubscriptionId, kind: Type.Literal(kind), ...props }, { additionalProperties: false });

export const LiveClientMessage = Type.Union([
  Type.Object({ type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
  sub('telemetry', { target: LiveTarget, keys: Type.Optional(Keys) }),
  sub('attributes', { target: LiveTarget, scope: Type.Optional(AttributeScope), keys: Type.Optional(Keys) }),
  sub('series', { deviceId: Id, from: Ms, keys: Type.Optional(Keys) }),
  sub('connectivity', { target: LiveTarget }),
  sub('events', { target: LiveTarget }),
  sub('alarms', {
    target: LiveTarget,
    severities: Type.Optional(Type.Array(AlarmSeverity, { minItems: 1, maxItems: 5, description: 'Only alarms of these severities; all when absent' })),
    types: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 100, description: 'Only alarms of these types; all when absent' }),
    ),
  }),
  Type.Object({ type: Type.Literal('unsubscribe'), id: SubscriptionId }, { additionalProperties: false }),
]);
export type LiveClientMessage = Static<typeof LiveClientMessage>;

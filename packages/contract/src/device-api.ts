import { Type } from '@sinclair/typebox';
import { Obj } from './common';

/** The ThingsBoard-compatible HTTP device API: the device's access token is in the path. */
export const DeviceTokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) });
/** Any JSON: the telemetry forms ({"k":v}, {"ts","values"}, arrays of either) are decoded and checked by core. */
export const DeviceTelemetryBody = Type.Unknown();
export const TelemetryAccepted = Type.Object({ points: Type.Integer() });

/** Client attributes a device reports: {"key":value,...}, checked by core like telemetry's values. */
export const DeviceAttributesBody = Type.Unknown();
/** ThingsBoard's attribute request: comma-separated keys; neither: every client and shared attribute. */
export const DeviceAttributesQuery = Type.Object(
  {
    clientKeys: Type.Optional(Type.String({ maxLength: 65_536 })),
    sharedKeys: Type.Optional(Type.String({ maxLength: 65_536 })),
  },
  { additionalProperties: false },
);
export const DeviceAttributeValues = Type.Object({ client: Type.Optional(Obj), shared: Type.Optional(Obj) });
/** A long-poll: answered as soon as something arrives, or 408 after timeout ms. */
export const LongPollQuery = Type.Object(
  { timeout: Type.Integer({ minimum: 1, maximum: 300_000, default: 30_000, description: 'How long to wait (ms).' }) },
  { additionalProperties: false },
);
/** Shared attributes changed: the keys set with their values, and `deleted` when keys were deleted. */
export const SharedAttributeUpdate = Obj;
export const DeviceRpcIdParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }), id: Type.String({ minLength: 1, maxLength: 20 }) });
/** A command for the device (long-poll answer): answer it with POST /api/v1/{token}/rpc/{id}. */
export const DeviceRpcRequest = Type.Object({ id: Type.Integer(), method: Type.String(), params: Type.Unknown() });
/** A device's answer, or its call of a platform method ({"method","params"}): any JSON. */
export const DeviceRpcBody = Type.Unknown();
export const Empty = Type.Object({});

import { Type } from '@sinclair/typebox';

/** The ThingsBoard-compatible HTTP device API: the device's access token is in the path. */
export const DeviceTokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) });
/** Any JSON: the telemetry forms ({"k":v}, {"ts","values"}, arrays of either) are decoded and checked by core. */
export const DeviceTelemetryBody = Type.Unknown();
export const TelemetryAccepted = Type.Object({ points: Type.Integer() });

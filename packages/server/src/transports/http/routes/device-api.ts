import { DeviceTelemetryBody, DeviceTokenParams, TelemetryAccepted } from '@thingstead/contract';
import { ThingsteadError, type Clock, type Core } from '@thingstead/core';
import type { Metrics } from '../../../metrics';
import { toThingsteadError } from '../errors';
import { replies, type App } from '../typed';

/**
 * The ThingsBoard-compatible HTTP device API (DESIGN.md "Device API"): the access token in the path
 * authenticates the device. A 200 is sent only after the values are committed.
 */
export function deviceApiRoutes(app: App, core: Core, o: { metrics: Metrics; clock: Clock; maxPayloadBytes: number }): void {
  const tags = ['device-api'];
  app.post(
    '/api/v1/:token/telemetry',
    {
      bodyLimit: o.maxPayloadBytes,
      schema: {
        tags,
        summary: 'Post telemetry as a device: {"k":v}, {"ts":ms,"values":{..}} or an array of either',
        params: DeviceTokenParams,
        body: DeviceTelemetryBody,
        response: replies(TelemetryAccepted),
      },
      errorHandler: (err) => {
        const e = toThingsteadError(err);
        o.metrics.telemetryRejected.inc({ transport: 'http', reason: e.code });
        throw e;
      },
    },
    async (req) => {
      const receivedAt = o.clock.now();
      const device = await core.devices.authenticateToken(req.params.token);
      if (req.body === undefined || req.body === null) throw new ThingsteadError('TELEMETRY_INVALID', 'The body is empty; send a JSON object or array.');
      core.connectivity.activity(device.id);
      const { points } = await core.telemetry.ingest({ deviceId: device.id, tenantId: device.tenantId, receivedAt, payload: req.body });
      o.metrics.telemetryMessages.inc({ transport: 'http' });
      o.metrics.telemetryPoints.inc({ transport: 'http' }, points);
      return { points };
    },
  );
}

import { DeviceTelemetryBody, DeviceTokenParams, TelemetryAccepted } from '@thingstead/contract';
import { ThingsteadError, type Core } from '@thingstead/core';
import type { Metrics } from '../../../metrics';
import { toThingsteadError } from '../errors';
import { replies, type App } from '../typed';

/**
 * The ThingsBoard-compatible HTTP device API (DESIGN.md "Device API"): the access token in the path
 * authenticates the device. A 200 is sent only after the values are committed.
 */
export function deviceApiRoutes(app: App, core: Core, o: { metrics: Metrics; maxPayloadBytes: number }): void {
  // Requests whose handler ran: core counted their outcome; the others (a body fastify refused) are counted here.
  const reachedCore = new WeakSet<object>();
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
      errorHandler: (err, req) => {
        const e = toThingsteadError(err);
        if (!reachedCore.has(req)) o.metrics.ingest.rejected('http', e.code);
        throw e;
      },
    },
    async (req) => {
      if (req.body === undefined || req.body === null) {
        // Answered as before: an unknown token first, then the empty body.
        await core.ingress.deviceByToken(req.params.token);
        throw new ThingsteadError('TELEMETRY_INVALID', 'The body is empty; send a JSON object or array.');
      }
      reachedCore.add(req);
      return core.ingress.receive({ token: req.params.token }, req.body, 'http');
    },
  );
}

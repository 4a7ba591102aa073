import {
  DeviceAttributesBody,
  DeviceAttributesQuery,
  DeviceAttributeValues,
  DeviceRpcBody,
  DeviceRpcIdParams,
  DeviceRpcRequest,
  DeviceTelemetryBody,
  DeviceTokenParams,
  Empty,
  LongPollQuery,
  SharedAttributeUpdate,
  TelemetryAccepted,
} from '@thingstead/contract';
import { ThingsteadError, type Core, type DeviceIdentity } from '@thingstead/core';
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

  // The rest of the device API: attributes and RPC. Each request authenticates by token and counts as activity.
  const device = async (token: string): Promise<DeviceIdentity> => {
    const d = await core.ingress.deviceByToken(token);
    core.connectivity.activity(d.deviceId);
    return d;
  };
  const pollTimeout = (what: string, ms: number) => new ThingsteadError('POLL_TIMEOUT', `No ${what} for the device within ${ms} ms.`);
  app.post(
    '/api/v1/:token/attributes',
    {
      bodyLimit: o.maxPayloadBytes,
      schema: {
        tags,
        summary: 'Report client attributes as a device: {"key":value,...}',
        params: DeviceTokenParams,
        body: DeviceAttributesBody,
        response: replies(Empty),
      },
    },
    async (req) => {
      const d = await device(req.params.token);
      if (req.body === undefined || req.body === null) throw new ThingsteadError('ATTRIBUTES_INVALID', 'The body is empty; send a JSON object.');
      await core.attributes.report(d, req.body);
      return {};
    },
  );
  app.get(
    '/api/v1/:token/attributes',
    {
      schema: {
        tags,
        summary: "Read the device's client and shared attributes (comma-separated clientKeys / sharedKeys; neither: all)",
        params: DeviceTokenParams,
        querystring: DeviceAttributesQuery,
        response: replies(DeviceAttributeValues),
      },
    },
    async (req) => core.attributes.request(await device(req.params.token), req.query),
  );
  app.get(
    '/api/v1/:token/attributes/updates',
    {
      schema: {
        tags,
        summary: 'Long-poll: the next change of shared attributes ({"k":v}, and "deleted":[..]), or 408 after timeout ms',
        params: DeviceTokenParams,
        querystring: LongPollQuery,
        response: replies(SharedAttributeUpdate),
      },
    },
    async (req) => {
      const u = await core.sharedUpdates.next(await device(req.params.token), req.query.timeout);
      if (u === undefined) throw pollTimeout('attribute update', req.query.timeout);
      return { ...u.updated, ...(u.deleted.length > 0 ? { deleted: u.deleted } : {}) };
    },
  );
  app.get(
    '/api/v1/:token/rpc',
    {
      schema: {
        tags,
        summary: 'Long-poll: the next command for the device ({"id","method","params"}), or 408 after timeout ms',
        params: DeviceTokenParams,
        querystring: LongPollQuery,
        response: replies(DeviceRpcRequest),
      },
    },
    async (req) => {
      const r = await core.rpc.poll(await device(req.params.token), req.query.timeout);
      if (r === undefined) throw pollTimeout('command', req.query.timeout);
      return { id: r.rpcId, method: r.method, params: r.params };
    },
  );
  app.post(
    '/api/v1/:token/rpc/:id',
    {
      bodyLimit: o.maxPayloadBytes,
      schema: { tags, summary: 'Answer command {id} as a device (any JSON)', params: DeviceRpcIdParams, body: DeviceRpcBody, response: replies(Empty) },
    },
    async (req) => {
      await core.rpc.respond(await device(req.params.token), req.params.id, req.body ?? null);
      return {};
    },
  );
  app.post(
    '/api/v1/:token/rpc',
    {
      bodyLimit: o.maxPayloadBytes,
      schema: {
        tags,
        summary: 'Call a platform method as a device: {"method","params"} (docs/reference/rpc.md); answers with its result',
        params: DeviceTokenParams,
        body: DeviceRpcBody,
        response: replies(null),
      },
    },
    async (req) => core.rpc.serve(await device(req.params.token), req.body ?? null),
  );
}

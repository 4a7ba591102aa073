import {
  Connectivity,
  CreateDeviceBody,
  CreateProfileBody,
  Device,
  DeviceCredentials,
  DeviceListQuery,
  DeviceProfile,
  IdParams,
  KeysResult,
  LatestQuery,
  LatestResult,
  Page,
  PageQuery,
  PatchDeviceBody,
  PatchProfileBody,
  RotateCredentialsBody,
  TelemetryQuery,
  TelemetryResult,
} from '@thingstead/contract';
import type { Core } from '@thingstead/core';
import { principalOf } from '../auth';
import { bearer, replies, type App } from '../typed';

const splitKeys = (keys: string | undefined): string[] | undefined =>
  keys === undefined
    ? undefined
    : keys
        .split(',')
        .map((k) => k.trim())
        .filter((k) => k.length > 0);

export function deviceRoutes(app: App, core: Core): void {
  const ptags = ['device-profiles'];
  app.get(
    '/api/device-profiles',
    { schema: { tags: ptags, summary: 'List device profiles', security: bearer, querystring: PageQuery, response: replies(Page(DeviceProfile)) } },
    async (req) => core.profiles.list(principalOf(req), req.query),
  );
  app.post(
    '/api/device-profiles',
    { schema: { tags: ptags, summary: 'Create a device profile', security: bearer, body: CreateProfileBody, response: replies(DeviceProfile, 201) } },
    async (req, reply) => reply.status(201).send(await core.profiles.create(principalOf(req), req.body)),
  );
  app.get(
    '/api/device-profiles/:id',
    { schema: { tags: ptags, summary: 'Get a device profile', security: bearer, params: IdParams, response: replies(DeviceProfile) } },
    async (req) => core.profiles.get(principalOf(req), req.params.id),
  );
  app.patch(
    '/api/device-profiles/:id',
    {
      schema: { tags: ptags, summary: 'Change a device profile', security: bearer, params: IdParams, body: PatchProfileBody, response: replies(DeviceProfile) },
    },
    async (req) => core.profiles.update(principalOf(req), req.params.id, req.body),
  );
  app.delete(
    '/api/device-profiles/:id',
    { schema: { tags: ptags, summary: 'Delete an unused device profile', security: bearer, params: IdParams, response: replies(null, 204) } },
    async (req, reply) => {
      await core.profiles.delete(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );

  const tags = ['devices'];
  app.get(
    '/api/devices',
    {
      schema: {
        tags,
        summary: 'List devices with their connectivity: paging, sort (name, createdAt, label, lastActivityAt), name search, ?connected= and ?active=',
        security: bearer,
        querystring: DeviceListQuery,
        response: replies(Page(Device)),
      },
    },
    async (req) => core.devices.list(principalOf(req), req.query),
  );
  app.post(
    '/api/devices',
    { schema: { tags, summary: 'Create a device; it gets a random access token', security: bearer, body: CreateDeviceBody, response: replies(Device, 201) } },
    async (req, reply) => reply.status(201).send(await core.devices.create(principalOf(req), req.body)),
  );
  app.get('/api/devices/:id', { schema: { tags, summary: 'Get a device', security: bearer, params: IdParams, response: replies(Device) } }, async (req) =>
    core.devices.get(principalOf(req), req.params.id),
  );
  app.patch(
    '/api/devices/:id',
    { schema: { tags, summary: 'Change a device', security: bearer, params: IdParams, body: PatchDeviceBody, response: replies(Device) } },
    async (req) => core.devices.update(principalOf(req), req.params.id, req.body),
  );
  app.delete(
    '/api/devices/:id',
    { schema: { tags, summary: 'Delete a device and its data', security: bearer, params: IdParams, response: replies(null, 204) } },
    async (req, reply) => {
      await core.devices.delete(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );
  app.get(
    '/api/devices/:id/credentials',
    { schema: { tags, summary: 'Get the device credentials (tenant admin)', security: bearer, params: IdParams, response: replies(DeviceCredentials) } },
    async (req) => core.devices.getCredentials(principalOf(req), req.params.id),
  );
  app.post(
    '/api/devices/:id/credentials/rotate',
    {
      schema: {
        tags,
        summary: 'Replace the credentials: no body issues a new random access token; or give an access token or MQTT username/password/client id',
        security: bearer,
        params: IdParams,
        body: RotateCredentialsBody,
        response: replies(DeviceCredentials),
      },
      // No body means "a new random access token".
      preValidation: async (req) => {
        (req as { body: unknown }).body ??= { type: 'access-token' };
      },
    },
    async (req) => core.devices.rotateCredentials(principalOf(req), req.params.id, req.body),
  );

  app.get(
    '/api/devices/:id/connectivity',
    {
      schema: {
        tags,
        summary: 'Whether the device is connected, and when it last connected, disconnected and sent',
        security: bearer,
        params: IdParams,
        response: replies(Connectivity),
      },
    },
    async (req) => core.connectivity.get(principalOf(req), req.params.id),
  );

  const ttags = ['telemetry'];
  app.get(
    '/api/devices/:id/telemetry',
    {
      schema: {
        tags: ttags,
        summary: 'Time series, raw or aggregated per interval',
        security: bearer,
        params: IdParams,
        querystring: TelemetryQuery,
        response: replies(TelemetryResult),
      },
    },
    async (req) => {
      const q = req.query;
      return core.telemetry.query(principalOf(req), req.params.id, {
        keys: splitKeys(q.keys),
        from: q.from,
        to: q.to,
        intervalMs: q.interval,
        agg: q.agg,
        limit: q.limit,
        order: q.order,
      });
    },
  );
  app.get(
    '/api/devices/:id/telemetry/latest',
    {
      schema: {
        tags: ttags,
        summary: 'Latest value of each key',
        security: bearer,
        params: IdParams,
        querystring: LatestQuery,
        response: replies(LatestResult),
      },
    },
    async (req) => ({ data: await core.telemetry.latest(principalOf(req), req.params.id, splitKeys(req.query.keys)) }),
  );
  app.get(
    '/api/devices/:id/telemetry/keys',
    { schema: { tags: ttags, summary: 'Telemetry keys the device has sent', security: bearer, params: IdParams, response: replies(KeysResult) } },
    async (req) => ({
      keys: await core.telemetry.keys(principalOf(req), req.params.id),
    }),
  );
}

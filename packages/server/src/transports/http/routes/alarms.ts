import {
  Alarm,
  AlarmComment,
  AlarmCommentBody,
  AlarmCounts,
  AlarmCountsQuery,
  AlarmListQuery,
  CommentPageQuery,
  DeviceAlarmQuery,
  IdParams,
  Page,
} from '@thingstead/contract';
import type { Core } from '@thingstead/core';
import { principalOf } from '../auth';
import { bearer, replies, type App } from '../typed';

const tags = ['alarms'];

/** Alarms (docs/reference/alarms.md): rules raise and clear them; people list, acknowledge, clear, comment and delete. */
export function alarmRoutes(app: App, core: Core): void {
  app.get(
    '/api/alarms',
    {
      schema: {
        tags,
        summary: 'List alarms, newest start first: by device, type, status (or ACTIVE, CLEARED, UNACK), severity (comma-separated) and start range',
        security: bearer,
        querystring: AlarmListQuery,
        response: replies(Page(Alarm)),
      },
    },
    async (req) => core.alarms.list(principalOf(req), req.query),
  );
  app.get(
    '/api/alarms/counts',
    {
      schema: {
        tags,
        summary: 'Alarms not cleared per severity, and those not acknowledged, of the tenant or of one device',
        security: bearer,
        querystring: AlarmCountsQuery,
        response: replies(AlarmCounts),
      },
    },
    async (req) => core.alarms.counts(principalOf(req), req.query),
  );
  app.get(
    '/api/devices/:id/alarms',
    {
      schema: {
        tags,
        summary: "A device's alarms, newest start first, with the filters of GET /api/alarms",
        security: bearer,
        params: IdParams,
        querystring: DeviceAlarmQuery,
        response: replies(Page(Alarm)),
      },
    },
    async (req) => core.alarms.list(principalOf(req), { ...req.query, deviceId: req.params.id }),
  );
  app.get('/api/alarms/:id', { schema: { tags, summary: 'Get an alarm', security: bearer, params: IdParams, response: replies(Alarm) } }, async (req) =>
    core.alarms.get(principalOf(req), req.params.id),
  );
  app.post(
    '/api/alarms/:id/ack',
    {
      schema: {
        tags,
        summary: 'Acknowledge an alarm; one acknowledged already is answered unchanged',
        security: bearer,
        params: IdParams,
        response: replies(Alarm),
      },
    },
    async (req) => core.alarms.acknowledge(principalOf(req), req.params.id),
  );
  app.post(
    '/api/alarms/:id/clear',
    {
      schema: {
        tags,
        summary: 'Clear an alarm; one cleared already is answered unchanged. The next raise of its type creates a new alarm',
        security: bearer,
        params: IdParams,
        response: replies(Alarm),
      },
    },
    async (req) => core.alarms.clearByUser(principalOf(req), req.params.id),
  );
  app.get(
    '/api/alarms/:id/comments',
    {
      schema: {
        tags,
        summary: "An alarm's comments, oldest first: people's and the platform's (userId null: severity changed, acknowledged, cleared)",
        security: bearer,
        params: IdParams,
        querystring: CommentPageQuery,
        response: replies(Page(AlarmComment)),
      },
    },
    async (req) => core.alarms.comments(principalOf(req), req.params.id, req.query),
  );
  app.post(
    '/api/alarms/:id/comments',
    {
      schema: {
        tags,
        summary: 'Comment on an alarm (1 to 4096 characters)',
        security: bearer,
        params: IdParams,
        body: AlarmCommentBody,
        response: replies(AlarmComment, 201),
      },
    },
    async (req, reply) => reply.status(201).send(await core.alarms.addComment(principalOf(req), req.params.id, req.body.text)),
  );
  app.delete(
    '/api/alarms/:id',
    { schema: { tags, summary: 'Delete an alarm and its comments (tenant administrators)', security: bearer, params: IdParams, response: replies(null, 204) } },
    async (req, reply) => {
      await core.alarms.delete(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );
}

import {
  Channel,
  ChannelBody,
  ChannelList,
  ChannelListQuery,
  ChannelPatch,
  Delivery,
  DeliveryListQuery,
  IdParams,
  InboxItem,
  InboxQuery,
  MarkedRead,
  Page,
  UnreadCount,
} from '@thingstead/contract';
import type { ChannelView, Core } from '@thingstead/core';
import { principalOf } from '../auth';
import { bearer, replies, type App } from '../typed';

const tags = ['notifications'];
// The reply schema lists no secret field, so a secret could not be serialised even by mistake.
const shown = (c: ChannelView): typeof Channel.static => c;

/** Notification channels, the delivery log and the caller's inbox (docs/reference/notifications.md). */
export function notificationRoutes(app: App, core: Core): void {
  const n = core.notifications;
  app.get(
    '/api/notification-channels',
    {
      schema: { tags, summary: "The tenant's notification channels, by name", security: bearer, querystring: ChannelListQuery, response: replies(ChannelList) },
    },
    async (req) => ({ items: (await n.listChannels(principalOf(req), { tenantId: req.query.tenantId })).map(shown) }),
  );
  app.post(
    '/api/notification-channels',
    {
      schema: {
        tags,
        summary: 'Create a channel (tenant admins); its secrets are stored and never shown',
        security: bearer,
        body: ChannelBody,
        response: replies(Channel, 201),
      },
    },
    async (req, reply) => reply.status(201).send(shown(await n.createChannel(principalOf(req), req.body))),
  );
  app.get(
    '/api/notification-channels/:id',
    { schema: { tags, summary: 'A channel (secrets as passwordSet / secretSet)', security: bearer, params: IdParams, response: replies(Channel) } },
    async (req) => shown(await n.getChannel(principalOf(req), req.params.id)),
  );
  app.put(
    '/api/notification-channels/:id',
    {
      schema: {
        tags,
        summary: 'Replace a channel (its type stays); a secret left out is kept, null removes it',
        security: bearer,
        params: IdParams,
        body: ChannelBody,
        response: replies(Channel),
      },
    },
    async (req) => {
      const { tenantId: _ignored, ...update } = req.body;
      return shown(await n.updateChannel(principalOf(req), req.params.id, update, 'replace'));
    },
  );
  app.patch(
    '/api/notification-channels/:id',
    {
      schema: {
        tags,
        summary: 'Change some fields of a channel; config fields given replace those stored',
        security: bearer,
        params: IdParams,
        body: ChannelPatch,
        response: replies(Channel),
      },
    },
    async (req) => shown(await n.updateChannel(principalOf(req), req.params.id, req.body, 'merge')),
  );
  app.delete(
    '/api/notification-channels/:id',
    { schema: { tags, summary: 'Delete a channel; its deliveries stay in the log', security: bearer, params: IdParams, response: replies(null, 204) } },
    async (req, reply) => {
      await n.deleteChannel(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );
  app.post(
    '/api/notification-channels/:id/test',
    {
      schema: {
        tags,
        summary: 'Send a test message through the channel now (once, not retried; also when disabled) and answer its delivery',
        security: bearer,
        params: IdParams,
        response: replies(Delivery),
      },
    },
    async (req) => n.test(principalOf(req), req.params.id),
  );
  app.get(
    '/api/notification-deliveries',
    { schema: { tags, summary: 'The delivery log, newest first', security: bearer, querystring: DeliveryListQuery, response: replies(Page(Delivery)) } },
    async (req) => n.deliveries(principalOf(req), { ...req.query, limit: req.query.limit ?? 50, offset: req.query.offset ?? 0 }),
  );
  app.get(
    '/api/notifications',
    { schema: { tags, summary: 'Your in-app inbox, newest first', security: bearer, querystring: InboxQuery, response: replies(Page(InboxItem)) } },
    async (req) => n.inbox(principalOf(req), { unread: req.query.unread, limit: req.query.limit ?? 50, offset: req.query.offset ?? 0 }),
  );
  app.get(
    '/api/notifications/unread-count',
    { schema: { tags, summary: 'How many items of your inbox are unread', security: bearer, response: replies(UnreadCount) } },
    async (req) => n.unreadCount(principalOf(req)),
  );
  app.post(
    '/api/notifications/read-all',
    { schema: { tags, summary: 'Mark every item of your inbox read', security: bearer, response: replies(MarkedRead) } },
    async (req) => n.markAllRead(principalOf(req)),
  );
  app.post(
    '/api/notifications/:id/read',
    { schema: { tags, summary: 'Mark an item of your inbox read', security: bearer, params: IdParams, response: replies(null, 204) } },
    async (req, reply) => {
      await n.markRead(principalOf(req), req.params.id);
      return reply.status(204).send();
    },
  );
}

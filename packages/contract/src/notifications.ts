import { Type } from '@sinclair/typebox';
import { Id, Ms } from './common';
import { maxOffset } from './paging';

const ChannelType = Type.Union([Type.Literal('email'), Type.Literal('webhook'), Type.Literal('inapp')], {
  description: 'email (SMTP), webhook (signed JSON POST) or inapp (the inbox of the tenant users)',
});
const DeliveryStatus = Type.Union([Type.Literal('PENDING'), Type.Literal('RETRYING'), Type.Literal('SENT'), Type.Literal('FAILED')], {
  description: 'PENDING -> SENT; or RETRYING (nextAttemptAt) -> ... -> SENT or FAILED (docs/reference/notifications.md)',
});

// The config is checked by the server per channel type, so that every problem names its field
// (config.to[0] is not an email address); these describe it for the API reference.
const ConfigInput = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'By type. email: {host, port, secure, user?, password?, from, to: [1..50 addresses], ignoreTls?, requireTls?}; ' +
      'webhook: {url, secret?, headers?}; inapp: {userIds?}. password and secret: a string sets it, null removes it, left out keeps it.',
  },
);

/** POST /api/notification-channels (and PUT: the whole channel again). */
export const ChannelBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    type: ChannelType,
    config: ConfigInput,
    enabled: Type.Optional(Type.Boolean({ description: 'Default true; a disabled channel records its deliveries as FAILED.' })),
    tenantId: Type.Optional(Type.String({ maxLength: 64, description: 'System admins only: create it in another tenant' })),
  },
  { additionalProperties: false },
);

/** PATCH /api/notification-channels/{id}: the fields given change; config fields given replace those stored. */
export const ChannelPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    config: Type.Optional(ConfigInput),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const PublicEmailConfig = Type.Object({
  host: Type.String(),
  port: Type.Integer(),
  secure: Type.Boolean(),
  user: Type.Optional(Type.String()),
  passwordSet: Type.Boolean({ description: 'The password is stored; it is never shown.' }),
  from: Type.String(),
  to: Type.Array(Type.String()),
  ignoreTls: Type.Optional(Type.Boolean()),
  requireTls: Type.Optional(Type.Boolean()),
});
const PublicWebhookConfig = Type.Object({
  url: Type.String(),
  secretSet: Type.Boolean({ description: 'The signing secret is stored; it is never shown.' }),
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
});
const InAppConfig = Type.Object({ userIds: Type.Optional(Type.Array(Type.String())) });

/** A channel as shown: its secrets replaced by passwordSet / secretSet. */
export const Channel = Type.Object({
  id: Id,
  tenantId: Type.String(),
  name: Type.String(),
  type: ChannelType,
  config: Type.Union([PublicEmailConfig, PublicWebhookConfig, InAppConfig]),
  enabled: Type.Boolean(),
  createdAt: Ms,
  updatedAt: Ms,
});
export const ChannelList = Type.Object({ items: Type.Array(Channel) });
export const ChannelListQuery = Type.Object({
  tenantId: Type.Optional(Type.String({ maxLength: 64, description: 'System admins only: list another tenant' })),
});

export const Delivery = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  channelId: Type.Union([Type.String(), Type.Null()], { description: 'null: a one-off webhook, an unknown channel, or one deleted since' }),
  kind: Type.Union([ChannelType, Type.Null()], { description: 'null when the channel did not exist' }),
  target: Type.String({ description: 'The addresses, or the URL without its query; never a secret' }),
  subject: Type.String(),
  status: DeliveryStatus,
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Ms, Type.Null()]),
  createdAt: Ms,
  sentAt: Type.Union([Ms, Type.Null()]),
  ruleId: Type.Union([Type.String(), Type.Null()]),
});

export const DeliveryListQuery = Type.Object({
  channelId: Type.Optional(Type.String({ maxLength: 64 })),
  status: Type.Optional(DeliveryStatus),
  tenantId: Type.Optional(Type.String({ maxLength: 64, description: 'System admins only: another tenant' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: maxOffset, default: 0 })),
});

export const InboxItem = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  userId: Type.String(),
  deliveryId: Type.String(),
  subject: Type.String(),
  body: Type.String(),
  createdAt: Ms,
  readAt: Type.Union([Ms, Type.Null()]),
  ruleId: Type.Union([Type.String(), Type.Null()]),
});

export const InboxQuery = Type.Object({
  unread: Type.Optional(Type.Boolean({ description: 'Only unread items' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: maxOffset, default: 0 })),
});
export const UnreadCount = Type.Object({ count: Type.Integer() });
export const MarkedRead = Type.Object({ updated: Type.Integer() });

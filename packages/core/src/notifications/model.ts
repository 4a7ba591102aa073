/**
 * Notification channels, deliveries and the in-app inbox (docs/reference/notifications.md). A channel belongs to
 * one tenant and says where a notification goes (email over SMTP, a signed webhook, the inbox of the tenant's
 * users); a delivery is one attempt-tracked send to one channel, kept in the delivery log.
 */

export const channelTypes = ['email', 'webhook', 'inapp'] as const;
export type ChannelType = (typeof channelTypes)[number];

/** SMTP settings, named as nodemailer's transport options are (ignoreTls = ignoreTLS, requireTls = requireTLS). */
export interface EmailConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); false: plain, upgraded with STARTTLS when the server offers it. */
  secure: boolean;
  user?: string;
  /** A secret: stored, never shown (passwordSet). */
  password?: string;
  from: string;
  to: string[];
  /** Never STARTTLS, even when offered. */
  ignoreTls?: boolean;
  /** Refuse to send unless STARTTLS succeeds. */
  requireTls?: boolean;
}

export interface WebhookConfig {
  url: string;
  /** The HMAC-SHA256 key of X-Thingstead-Signature; a secret: stored, never shown (secretSet). */
  secret?: string;
  headers?: Record<string, string>;
}

export interface InAppConfig {
  /** The users whose inbox gets each notification; every user of the tenant when left out. */
  userIds?: string[];
}

export interface ChannelConfigs {
  email: EmailConfig;
  webhook: WebhookConfig;
  inapp: InAppConfig;
}

export type ChannelConfig = EmailConfig | WebhookConfig | InAppConfig;

/** A channel as stored, secrets included: never leaves core as such (see ChannelView). */
export type StoredChannel = {
  [K in ChannelType]: {
    id: string;
    tenantId: string;
    name: string;
    type: K;
    config: ChannelConfigs[K];
    enabled: boolean;
    createdAt: number;
    updatedAt: number;
  };
}[ChannelType];

/** What a channel shows: each secret is replaced by whether it is set. */
export type PublicEmailConfig = Omit<EmailConfig, 'password'> & { passwordSet: boolean };
export type PublicWebhookConfig = Omit<WebhookConfig, 'secret'> & { secretSet: boolean };
export type PublicChannelConfig = PublicEmailConfig | PublicWebhookConfig | InAppConfig;

export interface ChannelView {
  id: string;
  tenantId: string;
  name: string;
  type: ChannelType;
  config: PublicChannelConfig;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/**
 * PENDING (stored, waiting for the worker) -> SENT; or RETRYING (an attempt failed, nextAttemptAt says when the
 * next one is due) -> ... -> SENT or FAILED (no attempt left, a permanent refusal, or it could not be sent at all).
 */
export const deliveryStatuses = ['PENDING', 'RETRYING', 'SENT', 'FAILED'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];
export const openDeliveryStatuses: readonly DeliveryStatus[] = ['PENDING', 'RETRYING'];

/** A one-off webhook (a rule's webhook action): its request is kept with the delivery, as there is no channel. */
export interface OneOffWebhook {
  url: string;
  headers: Record<string, string>;
  secret?: string;
}

/** One entry of the delivery log, as the API shows it. */
export interface DeliveryView {
  id: string;
  tenantId: string;
  /** The channel; null for a one-off webhook, a channel that did not exist, or one deleted since. */
  channelId: string | null;
  /** null when the channel did not exist, so nothing could be sent. */
  kind: ChannelType | null;
  /** The addresses or the URL (without its query and credentials): never a secret. */
  target: string;
  subject: string;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  /** When the next attempt is due (PENDING: now; RETRYING: after the backoff); null once final. */
  nextAttemptAt: number | null;
  createdAt: number;
  sentAt: number | null;
  ruleId: string | null;
}

/** A delivery as stored: what the worker needs to send it (after a restart too), never shown. */
export interface StoredDelivery extends DeliveryView {
  /** Attempts allowed (1: a channel test, not retried). */
  maxAttempts: number;
  /** The text of an email or inbox item, or the JSON body of a webhook; the request of a one-off webhook; a channel test (sent while disabled too). */
  request: { body: string; webhook?: OneOffWebhook; test?: boolean };
}

export type DeliveryPatch = Partial<Pick<StoredDelivery, 'status' | 'attempts' | 'lastError' | 'nextAttemptAt' | 'sentAt'>>;

export interface InboxItem {
  id: string;
  tenantId: string;
  userId: string;
  deliveryId: string;
  subject: string;
  body: string;
  createdAt: number;
  readAt: number | null;
  ruleId: string | null;
}

/** Notification channels, the delivery log and the inbox (the store port). Each goes with its tenant; inbox items with their user. */
export interface NotificationRepo {
  /** Rejects with NOTIFICATION_CHANNEL_NAME_TAKEN when the tenant has a channel of that name. A channel of an unknown tenant is not stored. */
  insertChannel(c: StoredChannel): Promise<void>;
  getChannel(id: string): Promise<StoredChannel | undefined>;
  /** A tenant's channels by name. */
  listChannels(tenantId: string): Promise<StoredChannel[]>;
  countChannels(tenantId: string): Promise<number>;
  /** Rejects with NOTIFICATION_CHANNEL_NAME_TAKEN as insertChannel does. */
  updateChannel(id: string, patch: Partial<Pick<StoredChannel, 'name' | 'config' | 'enabled' | 'updatedAt'>>): Promise<void>;
  /** Its deliveries stay, with channelId null. */
  deleteChannel(id: string): Promise<boolean>;
  /** In one transaction; those of an unknown tenant are not stored, a channelId that names no channel is stored as null. */
  insertDeliveries(ds: readonly StoredDelivery[]): Promise<void>;
  getDelivery(id: string): Promise<StoredDelivery | undefined>;
  /** A tenant's deliveries, newest first (of one creation time: the last stored first). */
  listDeliveries(q: {
    tenantId: string;
    channelId?: string | undefined;
    status?: DeliveryStatus | undefined;
    limit: number;
    offset: number;
  }): Promise<{ items: StoredDelivery[]; total: number }>;
  /** Applies the patch only while the status is one of `from` (atomically); true when it did. */
  updateDelivery(id: string, from: readonly DeliveryStatus[], patch: DeliveryPatch): Promise<boolean>;
  /** Open deliveries (PENDING, RETRYING) whose nextAttemptAt is at or before `now`, earliest first, at most `limit`. */
  dueDeliveries(now: number, limit: number): Promise<StoredDelivery[]>;
  /** Deletes the tenant's final deliveries (SENT, FAILED) older than its newest `keep`; answers how many. */
  pruneDeliveries(tenantId: string, keep: number): Promise<number>;
  /** Items of users that do not exist in the item's tenant are not stored; answers how many were. */
  insertInbox(items: readonly InboxItem[]): Promise<number>;
  /** A user's items, newest first (of one creation time: the last stored first). */
  listInbox(q: { userId: string; unreadOnly?: boolean | undefined; limit: number; offset: number }): Promise<{ items: InboxItem[]; total: number }>;
  countUnread(userId: string): Promise<number>;
  /** Marks the user's item read (an item read already keeps its time); false when the user has no such item. */
  markRead(userId: string, id: string, at: number): Promise<boolean>;
  /** Answers how many were unread. */
  markAllRead(userId: string, at: number): Promise<number>;
  /** Deletes the user's items older than the newest `keep`; answers how many. */
  pruneInbox(userId: string, keep: number): Promise<number>;
}

export interface NotificationLimits {
  /** Channels per tenant. */
  maxChannelsPerTenant: number;
  /** Deliveries kept per tenant in the log; older final ones are deleted. */
  maxDeliveriesPerTenant: number;
  /** Inbox items kept per user. */
  maxInboxPerUser: number;
  /** Deliveries waiting for the worker in this process; more are recorded FAILED and counted as refused. */
  maxQueued: number;
  /** Deliveries sent at the same time. */
  concurrency: number;
  /** The waits before each retry (the first attempt is at once); each is varied by +-jitter. */
  retryDelaysMs: readonly number[];
  /** The share by which a retry delay is varied at random (0.2: from 80 % to 120 %). */
  jitter: number;
  /** How long a webhook request may take. */
  webhookTimeoutMs: number;
  /** How often the worker looks for deliveries that are due (retries, and those left by a restart). */
  pollIntervalMs: number;
  /** Largest subject (characters) and body (bytes of UTF-8) after rendering; longer is cut. */
  maxSubjectLength: number;
  maxBodyBytes: number;
  /** Largest webhook body (bytes of JSON); a larger one is not sent (FAILED). */
  maxWebhookBytes: number;
}

export const defaultNotificationLimits: NotificationLimits = {
  maxChannelsPerTenant: 100,
  maxDeliveriesPerTenant: 10_000,
  maxInboxPerUser: 1000,
  maxQueued: 10_000,
  concurrency: 4,
  retryDelaysMs: [1000, 5000, 30_000, 120_000, 600_000],
  jitter: 0.2,
  webhookTimeoutMs: 10_000,
  pollIntervalMs: 1000,
  maxSubjectLength: 998,
  maxBodyBytes: 65_536,
  maxWebhookBytes: 262_144,
};

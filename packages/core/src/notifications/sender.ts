import { createHash } from 'node:crypto';
import type { Store } from '../store';
import type { SendFailure } from './delivery-worker';
import type { InboxItem, NotificationLimits, StoredChannel, StoredDelivery } from './model';
import { PermanentDeliveryError, type HttpPoster, type Mailer } from './ports';
import { retryableStatus } from './retry';
import { signatureHeader, signWebhook, timestampHeader } from './signature';

export interface SenderOptions {
  store: Store;
  mailer: Mailer;
  http: HttpPoster;
  limits: NotificationLimits;
  now: () => number;
}

/** Users one in-app delivery reaches at most (a tenant's users are read in pages of 1000). */
const maxInboxRecipients = 10_000;
const maxErrorLength = 500;

/**
 * One attempt of a delivery through its port: the email, the signed webhook POST, or the inbox items. A failure
 * is answered, never thrown, with an error text that holds no secret of the channel.
 */
export function createSender(o: SenderOptions): (d: StoredDelivery) => Promise<SendFailure | undefined> {
  return async (d) => {
    let channel: StoredChannel | undefined;
    if (d.channelId !== null) channel = await o.store.notifications.getChannel(d.channelId);
    const secrets: string[] = [];
    try {
      if (d.request.webhook) {
        if (d.request.webhook.secret !== undefined) secrets.push(d.request.webhook.secret);
        return await postWebhook(o, d.request.webhook.url, d.request.body, d.request.webhook.headers, d.request.webhook.secret);
      }
      if (!channel) return { error: 'the channel was deleted', permanent: true };
      if (!channel.enabled && d.request.test !== true) return { error: 'the channel is disabled', permanent: true };
      switch (channel.type) {
        case 'email':
          if (channel.config.password !== undefined) secrets.push(channel.config.password);
          await o.mailer.send(channel.config, { subject: d.subject, text: d.request.body, to: channel.config.to });
          return undefined;
        case 'webhook':
          if (channel.config.secret !== undefined) secrets.push(channel.config.secret);
          return await postWebhook(o, channel.config.url, d.request.body, channel.config.headers ?? {}, channel.config.secret);
        case 'inapp':
          await toInboxes(o, channel, d);
          return undefined;
      }
    } catch (e) {
      return { error: scrub(describe(e), secrets), permanent: e instanceof PermanentDeliveryError };
    }
  };
}

async function postWebhook(
  o: SenderOptions,
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  secret: string | undefined,
): Promise<SendFailure | undefined> {
  // Signed at each attempt: the timestamp says when this request was made.
  const timestamp = o.now();
  const all: Record<string, string> = { ...headers, 'content-type': 'application/json', [timestampHeader]: String(timestamp) };
  if (secret !== undefined) all[signatureHeader] = signWebhook(secret, timestamp, body);
  const { status } = await o.http.post(url, body, all, o.limits.webhookTimeoutMs);
  if (status >= 200 && status < 300) return undefined;
  return { error: `the receiver answered HTTP ${status}`, permanent: !retryableStatus(status) };
}

async function toInboxes(o: SenderOptions, channel: Extract<StoredChannel, { type: 'inapp' }>, d: StoredDelivery): Promise<void> {
  let userIds = channel.config.userIds;
  if (userIds === undefined) {
    userIds = [];
    for (let offset = 0; offset < maxInboxRecipients; offset += 1000) {
      const page = await o.store.users.list({ tenantId: channel.tenantId, limit: 1000, offset, sort: 'email', order: 'asc' });
      userIds.push(...page.items.filter((u) => !u.disabled).map((u) => u.id));
      if (offset + 1000 >= page.total) break;
    }
  }
  const now = o.now();
  // The id follows from the delivery and the user, so an attempt repeated after a fault adds no second item.
  const items: InboxItem[] = userIds.map((userId) => ({
    id: createHash('sha256').update(`${d.id}\n${userId}`).digest('hex').slice(0, 32),
    tenantId: channel.tenantId,
    userId,
    deliveryId: d.id,
    subject: d.subject,
    body: d.request.body,
    createdAt: now,
    readAt: null,
    ruleId: d.ruleId,
  }));
  await o.store.notifications.insertInbox(items);
  for (const userId of userIds) await o.store.notifications.pruneInbox(userId, o.limits.maxInboxPerUser);
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause.
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
  return `${e.message}${cause}`;
}

/** Cut to size, and any secret of the channel blanked out, should a library ever echo one. */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out.length > maxErrorLength ? `${out.slice(0, maxErrorLength - 1)}…` : out;
}

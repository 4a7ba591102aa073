import { randomUUID } from 'node:crypto';
import type { Principal } from '../accounts/model';
import type { Clock } from '../clock';
import type { Page, Store } from '../store';
import { ChannelAdmin, type ChannelInput, type ChannelUpdate } from './channel-admin';
import { DeliveryWorker } from './delivery-worker';
import {
  defaultNotificationLimits,
  type ChannelView,
  type DeliveryStatus,
  type DeliveryView,
  type InboxItem,
  type NotificationLimits,
  type StoredChannel,
  type StoredDelivery,
} from './model';
import { noHttpPoster, noMailer, type HttpPoster, type Mailer } from './ports';
import { createSender } from './sender';
import { renderTemplate } from './template';
import { oneOffWebhookProblems } from './validate-channel';
import { channelTarget, deliveryView, urlTarget } from './views';
import { Inbox } from './inbox';

export interface NotificationServiceOptions {
  store: Store;
  clock: Clock;
  mailer?: Mailer | undefined;
  http?: HttpPoster | undefined;
  limits?: Partial<NotificationLimits> | undefined;
  /** The jitter of retry delays (Math.random by default; tests fix it). */
  random?: () => number;
  /** A fault of notify, webhook or the worker (the store failed); the caller never sees it. */
  onError?: (err: unknown) => void;
}

export interface NotifyInput {
  tenantId: string;
  channelIds: readonly string[];
  subject: string;
  body: string;
  context: Record<string, unknown>;
  ruleId?: string;
}

export interface WebhookInput {
  tenantId: string;
  url: string;
  secret?: string;
  headers?: Record<string, string>;
  payload: unknown;
  ruleId?: string;
}

/** Channels one notify() reaches at most; more are ignored. */
const maxChannelsPerNotify = 20;
/** The delivery log is pruned once per this many deliveries of a tenant. */
const pruneEvery = 100;

/**
 * Notifications (docs/reference/notifications.md): what the rule engine calls (notify, webhook), which stores
 * one delivery per channel and returns, never waiting for a send and never throwing; the delivery worker sends
 * them with retries. Users manage channels, read the delivery log and their inbox, with tenant and role checks.
 */
export class NotificationService {
  readonly limits: NotificationLimits;
  private readonly worker: DeliveryWorker;
  private readonly admin: ChannelAdmin;
  private readonly inboxes: Inbox;
  private readonly sincePrune = new Map<string, number>();
  private refusedCount = 0;
  private readonly onError: (err: unknown) => void;

  constructor(private readonly o: NotificationServiceOptions) {
    this.limits = { ...defaultNotificationLimits, ...o.limits };
    this.onError = o.onError ?? (() => undefined);
    this.worker = new DeliveryWorker({
      store: o.store,
      clock: o.clock,
      limits: this.limits,
      random: o.random ?? Math.random,
      onError: this.onError,
      send: createSender({ store: o.store, mailer: o.mailer ?? noMailer, http: o.http ?? noHttpPoster, limits: this.limits, now: () => o.clock.now() }),
    });
    this.admin = new ChannelAdmin({ store: o.store, clock: o.clock, limits: this.limits });
    this.inboxes = new Inbox({ store: o.store, clock: o.clock });
  }

  /** Deliveries refused because the queue was full (recorded FAILED). */
  get refused(): number {
    return this.refusedCount;
  }

  /** Deliveries waiting in this process's queue or being sent. */
  get queued(): number {
    return this.worker.backlog;
  }

  /** Starts the worker: what a previous process left PENDING or RETRYING is picked up. */
  start(): void {
    this.worker.start();
  }

  close(): Promise<void> {
    return this.worker.close();
  }

  /** Resolves when the worker has nothing queued, being sent or polled (for tests). */
  idle(): Promise<void> {
    return this.worker.idle();
  }

  /** One pass of the worker over what is due (the clock drives it; tests call it). */
  poll(): Promise<void> {
    return this.worker.poll();
  }

  /** Queues one delivery per channel (stored as PENDING); resolves once stored, never waits for the send. Unknown/disabled channels are recorded as FAILED deliveries. */
  async notify(i: NotifyInput): Promise<void> {
    try {
      const subject = this.subject(renderTemplate(i.subject, i.context));
      const text = this.cutBytes(renderTemplate(i.body, i.context), this.limits.maxBodyBytes);
      const deliveries: StoredDelivery[] = [];
      for (const channelId of [...new Set(i.channelIds)].slice(0, maxChannelsPerNotify)) {
        const found = await this.o.store.notifications.getChannel(channelId);
        const channel = found?.tenantId === i.tenantId ? found : undefined;
        const d = this.delivery(i.tenantId, channel, i.ruleId, subject, text, i.context);
        if (!channel) this.fail(d, `no channel ${channelId.slice(0, 64)} in this tenant`, 'unknown channel');
        else if (!channel.enabled) this.fail(d, 'the channel is disabled');
        deliveries.push(d);
      }
      await this.store(i.tenantId, deliveries);
    } catch (err) {
      this.onError(err);
    }
  }

  /** A one-off signed webhook (a rule's webhook action) through the same delivery queue, retry and log. */
  async webhook(i: WebhookInput): Promise<void> {
    try {
      const request = { url: i.url, headers: i.headers ?? {}, ...(i.secret === undefined ? {} : { secret: i.secret }) };
      const d = this.base(i.tenantId, null, 'webhook', urlTarget(i.url), 'webhook', i.ruleId, '');
      d.request = { body: '', webhook: request };
      const problems = oneOffWebhookProblems(request);
      let body: string | undefined;
      try {
        body = JSON.stringify(i.payload ?? null);
      } catch {
        problems.push('the payload is not JSON');
      }
      if (body !== undefined && Buffer.byteLength(body) > this.limits.maxWebhookBytes)
        problems.push(`the payload is ${Buffer.byteLength(body)} bytes of JSON; at most ${this.limits.maxWebhookBytes} are sent`);
      if (problems.length > 0) this.fail(d, problems.join('; '));
      else d.request.body = body ?? 'null';
      await this.store(i.tenantId, [d]);
    } catch (err) {
      this.onError(err);
    }
  }

  listChannels(p: Principal, q: { tenantId?: string | undefined } = {}): Promise<ChannelView[]> {
    return this.admin.list(p, q.tenantId);
  }

  getChannel(p: Principal, id: string): Promise<ChannelView> {
    return this.admin.get(p, id);
  }

  createChannel(p: Principal, input: ChannelInput): Promise<ChannelView> {
    return this.admin.create(p, input);
  }

  /** replace (PUT): the config given is the whole config; merge (PATCH): its fields replace those stored. A secret left out is kept, null removes it. */
  updateChannel(p: Principal, id: string, input: ChannelUpdate, mode: 'replace' | 'merge'): Promise<ChannelView> {
    return this.admin.update(p, id, input, mode);
  }

  deleteChannel(p: Principal, id: string): Promise<void> {
    return this.admin.delete(p, id);
  }

  /** Sends a test message through the channel now (disabled or not, no retry) and answers its delivery. */
  async test(p: Principal, channelId: string): Promise<DeliveryView> {
    const channel = await this.admin.writable(p, channelId);
    const subject = 'Thingstead test notification';
    const text = `This is a test of the notification channel "${channel.name}", sent at ${new Date(this.o.clock.now()).toISOString()}.`;
    const d = this.delivery(channel.tenantId, channel, undefined, subject, text, { test: true, by: p.userId }, 'test');
    d.maxAttempts = 1;
    d.request.test = true;
    await this.o.store.notifications.insertDeliveries([d]);
    return deliveryView(await this.worker.attempt(d));
  }

  async deliveries(
    p: Principal,
    q: { tenantId?: string | undefined; channelId?: string | undefined; status?: DeliveryStatus | undefined; limit: number; offset: number },
  ): Promise<Page<DeliveryView>> {
    const tenantId = this.admin.readableTenant(p, q.tenantId);
    const page = await this.o.store.notifications.listDeliveries({ tenantId, channelId: q.channelId, status: q.status, limit: q.limit, offset: q.offset });
    return { items: page.items.map(deliveryView), total: page.total, limit: q.limit, offset: q.offset };
  }

  inbox(p: Principal, q: { unread?: boolean | undefined; limit: number; offset: number }): Promise<Page<InboxItem>> {
    return this.inboxes.list(p, q);
  }

  unreadCount(p: Principal): Promise<{ count: number }> {
    return this.inboxes.unreadCount(p);
  }

  markRead(p: Principal, id: string): Promise<void> {
    return this.inboxes.markRead(p, id);
  }

  markAllRead(p: Principal): Promise<{ updated: number }> {
    return this.inboxes.markAllRead(p);
  }

  private delivery(
    tenantId: string,
    channel: StoredChannel | undefined,
    ruleId: string | undefined,
    subject: string,
    text: string,
    context: Record<string, unknown>,
    type: 'notification' | 'test' = 'notification',
  ): StoredDelivery {
    const d = this.base(tenantId, channel?.id ?? null, channel?.type ?? null, channel ? channelTarget(channel) : 'unknown channel', subject, ruleId, text);
    if (channel?.type !== 'webhook') return d;
    // A channel webhook's body: the rendered message with its context, and the delivery id (the same in every retry, for de-duplication).
    let body: string;
    try {
      body = JSON.stringify({ id: d.id, type, tenantId, channelId: channel.id, ruleId: d.ruleId, subject, body: text, context, createdAt: d.createdAt });
    } catch {
      this.fail(d, 'the context is not JSON');
      return d;
    }
    if (Buffer.byteLength(body) > this.limits.maxWebhookBytes)
      this.fail(d, `the webhook body would be ${Buffer.byteLength(body)} bytes; at most ${this.limits.maxWebhookBytes} are sent`);
    else d.request.body = body;
    return d;
  }

  private base(
    tenantId: string,
    channelId: string | null,
    kind: StoredDelivery['kind'],
    target: string,
    subject: string,
    ruleId: string | undefined,
    body: string,
  ): StoredDelivery {
    const now = this.o.clock.now();
    return {
      id: randomUUID(),
      tenantId,
      channelId,
      kind,
      target,
      subject,
      status: 'PENDING',
      attempts: 0,
      lastError: null,
      nextAttemptAt: now,
      createdAt: now,
      sentAt: null,
      ruleId: ruleId ?? null,
      maxAttempts: 1 + this.limits.retryDelaysMs.length,
      request: { body },
    };
  }

  private fail(d: StoredDelivery, error: string, target?: string): void {
    d.status = 'FAILED';
    d.lastError = error;
    d.nextAttemptAt = null;
    if (target !== undefined) d.target = target;
  }

  /** Stores the deliveries (the open ones that fit the queue; the others FAILED, counted) and queues them. */
  private async store(tenantId: string, ds: StoredDelivery[]): Promise<void> {
    if (ds.length === 0) return;
    let room = this.limits.maxQueued - this.worker.backlog;
    for (const d of ds) {
      if (d.status !== 'PENDING') continue;
      if (room-- > 0) continue;
      this.fail(d, `refused: the delivery queue was full (it holds ${this.limits.maxQueued})`);
      this.refusedCount++;
    }
    await this.o.store.notifications.insertDeliveries(ds);
    for (const d of ds) if (d.status === 'PENDING') this.worker.enqueue(d.id);
    const n = (this.sincePrune.get(tenantId) ?? 0) + ds.length;
    if (n < pruneEvery) this.sincePrune.set(tenantId, n);
    else {
      this.sincePrune.delete(tenantId);
      await this.o.store.notifications.pruneDeliveries(tenantId, this.limits.maxDeliveriesPerTenant);
    }
  }

  private subject(s: string): string {
    return s.replace(/[\r\n]+/g, ' ').slice(0, this.limits.maxSubjectLength);
  }

  private cutBytes(s: string, max: number): string {
    if (Buffer.byteLength(s) <= max) return s;
    return Buffer.from(s)
      .subarray(0, max)
      .toString('utf8')
      .replace(/\uFFFD$/, '');
  }
}

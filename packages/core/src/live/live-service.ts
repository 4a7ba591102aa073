import type { Principal } from '../accounts/model';
import type { BusEvents, EventBus } from '../bus';
import type { Clock } from '../clock';
import { isThingsteadError } from '../errors';
import type { Store } from '../store';
import { alarmUpdate } from './alarms';
import { loadSubscription, resolveSubscription } from './load';
import { LiveSession, type ActiveSubscription, type LiveSink } from './live-session';
import { attributesUpdate, conflationKey, connectivityUpdate, needsDeviceInfo, seriesUpdate, targetMatches, telemetryUpdate, type DeviceInfo } from './match';
import type { LiveEventName, LiveLimits, LiveMessage, SubscriptionRequest } from './model';

export interface LiveServiceOptions {
  store: Store;
  bus: EventBus;
  clock: Clock;
  limits: LiveLimits;
  /** Values a session's outbox replaced by newer ones (the server counts them). */
  onConflated?: (n: number) => void;
}

/** How long a device's name and profile, read for filter matching, are trusted before they are read again. */
const deviceInfoTtlMs = 10_000;
const maxCachedDevices = 100_000;
/** How long after a snapshot or history read live updates are checked against it (bus delivery lags commits by less). */
const seamGraceMs = 5000;

/**
 * The live API (issue 10): sessions of users and API keys, each with subscriptions to latest telemetry, attributes,
 * a time series, connectivity, events and alarms of one device or of a filter (profile, name prefix) of a tenant's
 * devices. One bus subscriber per topic fans each committed event out to the subscriptions of its tenant, in the
 * bus's order; each session's outbox bounds what a slow client costs (outbox.ts). Access is checked as in REST:
 * a device or tenant the principal may not read is "not found", and a session whose credential is revoked ends.
 */
export class LiveService {
  private readonly sessions = new Set<LiveSession>();
  /** Every subscription that is live or loading, by the tenant whose events it sees. */
  private readonly byTenant = new Map<string, Set<ActiveSubscription>>();
  private readonly devices = new Map<string, { info: DeviceInfo | undefined; at: number }>();
  private readonly offs: (() => void)[];

  constructor(private readonly o: LiveServiceOptions) {
    const name = 'live-api';
    const { bus } = o;
    this.offs = [
      bus.subscribe('telemetry', (e) => this.onTelemetry(e), { name }),
      bus.subscribe('attributes', (e) => this.fanOut(e.tenantId, e.deviceId, ['attributes'], (s) => attributesUpdate(s, e)), { name }),
      bus.subscribe('device.connectivity', (e) => this.fanOut(e.tenantId, e.deviceId, ['connectivity'], (s) => connectivityUpdate(s, e)), { name }),
      bus.subscribe('alarm', (e) => this.fanOut(e.tenantId, e.deviceId, ['alarms'], (s) => alarmUpdate(s, e)), { name }),
      bus.subscribe('device.created', (e) => this.onEvent('device.created', e), { name }),
      bus.subscribe('device.credentials', (e) => this.onEvent('device.credentials', e), { name }),
      bus.subscribe('device.deleted', (e) => this.onDeviceDeleted(e), { name }),
      bus.subscribe('rpc.request', (e) => this.onEvent('rpc.request', e, { rpcId: e.rpcId, method: e.method }), { name }),
      bus.subscribe('rpc.response', (e) => this.onEvent('rpc.response', e, { rpcId: e.rpcId }), { name }),
      bus.subscribe('rpc.lifecycle', (e) => this.onEvent('rpc.lifecycle', e, { rpcId: e.rpcId, rpc: e.id, status: e.status }), { name }),
      // Invariant 8: revoking a credential ends what was opened with it.
      bus.subscribe(
        'apikey.revoked',
        (e) => {
          this.endWhere((p) => p.apiKeyId === e.keyId, 'the API key was revoked');
        },
        { name },
      ),
      bus.subscribe(
        'user.access',
        (e) => {
          this.endWhere((p) => p.userId === e.userId, `the user's access changed (${e.change})`);
        },
        { name },
      ),
      bus.subscribe(
        'tenant.deleted',
        (e) => {
          this.onTenantDeleted(e.tenantId);
        },
        { name },
      ),
    ];
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** A new session for an authenticated principal; the transport feeds it requests and drains it into its socket. */
  open(principal: Principal, sink: LiveSink): LiveSession {
    const session = new LiveSession(principal, sink, {
      maxQueuedMessages: this.o.limits.maxQueuedMessages,
      onConflated: this.o.onConflated ?? (() => undefined),
      onClosed: (s) => {
        this.sessions.delete(s);
        for (const sub of s.subscriptions.values()) this.unindex(sub);
        s.subscriptions.clear();
      },
    });
    this.sessions.add(session);
    session.send({ type: 'authenticated', userId: principal.userId, tenantId: principal.tenantId, role: principal.role });
    return session;
  }

  /**
   * Starts a subscription; the session gets `subscribed`, then the current values or the history, then live
   * updates, or an `error` with the request's id. Never throws.
   */
  async subscribe(session: LiveSession, req: SubscriptionRequest): Promise<void> {
    let sub: ActiveSubscription | undefined;
    try {
      sub = await resolveSubscription(this.o.store, session, req, this.o.limits);
      if (session.closed || session.subscriptions.has(req.id)) return;
      session.subscriptions.set(req.id, sub);
      this.index(sub);
      session.send({ type: 'subscribed', id: req.id, kind: req.kind });
      // Registered (so live updates are held in sub.pending) before anything is read: see load.ts for the seam.
      const seam = await loadSubscription(this.o.store, sub, this.o.limits, (id) => this.deviceInfo(id));
      if (session.subscriptions.get(req.id) !== sub) return;
      const held = sub.pending ?? [];
      sub.pending = undefined;
      if (seam) {
        // An event's delivery may lag its commit, so the seam also filters what arrives for a while after the read.
        const loaded = sub;
        loaded.seam = seam;
        this.o.clock
          .setTimeout(() => {
            loaded.seam = undefined;
          }, seamGraceMs)
          .unref?.();
      }
      for (const m of held) this.deliver(sub, m);
    } catch (e) {
      if (sub && session.subscriptions.get(req.id) === sub) this.remove(sub);
      const err = isThingsteadError(e) ? e : undefined;
      session.send({
        type: 'error',
        id: req.id,
        code: err?.code ?? 'THINGSTEAD_ERR_INTERNAL',
        message: err?.message ?? 'Internal error.',
        hint: err?.hint ?? 'This is a bug or an outage; the server log has the details.',
      });
      if (!err) throw e;
    }
  }

  unsubscribe(session: LiveSession, id: string): boolean {
    const sub = session.subscriptions.get(id);
    if (!sub) return false;
    this.remove(sub);
    session.send({ type: 'unsubscribed', id, reason: 'requested' });
    return true;
  }

  /** Ends every session (shutdown) and stops listening to the bus. */
  close(): void {
    for (const off of this.offs) off();
    for (const s of [...this.sessions]) s.end('shutdown', 'the server is shutting down');
  }

  private index(sub: ActiveSubscription): void {
    let set = this.byTenant.get(sub.tenantId);
    if (!set) this.byTenant.set(sub.tenantId, (set = new Set()));
    set.add(sub);
  }

  private unindex(sub: ActiveSubscription): void {
    const set = this.byTenant.get(sub.tenantId);
    set?.delete(sub);
    if (set?.size === 0) this.byTenant.delete(sub.tenantId);
  }

  private remove(sub: ActiveSubscription): void {
    sub.session.subscriptions.delete(sub.req.id);
    this.unindex(sub);
  }

  /** The subscriptions of the tenant of the given kinds that match the device (reading its record only if a filter needs it). */
  private async matching(tenantId: string, deviceId: string, kinds: readonly SubscriptionRequest['kind'][]): Promise<ActiveSubscription[]> {
    const set = this.byTenant.get(tenantId);
    if (!set) return [];
    const subs = [...set].filter((s) => kinds.includes(s.req.kind));
    const info = subs.some(needsDeviceInfo) ? await this.deviceInfo(deviceId) : undefined;
    return subs.filter((s) => targetMatches(s, deviceId, info));
  }

  /** Delivers to a subscription: held while it loads (bounded), queued once live. */
  private deliver(sub: ActiveSubscription, update: LiveMessage): void {
    const msg = sub.seam ? sub.seam(update) : update;
    if (!msg) return;
    if (sub.pending) {
      if (sub.pending.length < this.o.limits.maxQueuedMessages) sub.pending.push(msg);
      else {
        // More arrived while loading than a session may queue: the subscription cannot be served without a gap.
        this.remove(sub);
        sub.session.send({
          type: 'error',
          id: sub.req.id,
          code: 'THINGSTEAD_ERR_LIMIT_REACHED',
          message: `More than ${this.o.limits.maxQueuedMessages} updates arrived while the subscription loaded.`,
          hint: 'Subscribe again, with a later start or fewer keys.',
        });
      }
      return;
    }
    sub.session.send(msg, conflationKey(msg));
  }

  private fanOut(tenantId: string, deviceId: string, kinds: readonly SubscriptionRequest['kind'][], build: (s: ActiveSubscription) => LiveMessage | undefined) {
    if (!this.byTenant.has(tenantId)) return undefined;
    return this.matching(tenantId, deviceId, kinds).then((subs) => {
      for (const s of subs) {
        const msg = build(s);
        if (msg) this.deliver(s, msg);
      }
    });
  }

  private async onTelemetry(e: BusEvents['telemetry']): Promise<void> {
    for (const m of e.messages) {
      if (!this.byTenant.has(m.tenantId)) continue;
      for (const s of await this.matching(m.tenantId, m.deviceId, ['telemetry', 'series'])) {
        const msg = s.req.kind === 'series' ? seriesUpdate(s, m) : telemetryUpdate(s, m);
        if (msg) this.deliver(s, msg);
      }
    }
  }

  private onEvent(
    event: LiveEventName,
    e: { tenantId: string; deviceId: string },
    extra: { rpcId?: number; method?: string; rpc?: string; status?: string } = {},
  ) {
    return this.fanOut(e.tenantId, e.deviceId, ['events'], (s) => ({
      type: 'event',
      id: s.req.id,
      deviceId: e.deviceId,
      event,
      at: this.o.clock.now(),
      ...extra,
    }));
  }

  private async onDeviceDeleted(e: BusEvents['device.deleted']): Promise<void> {
    await this.onEvent('device.deleted', e);
    this.devices.delete(e.deviceId);
    for (const s of [...(this.byTenant.get(e.tenantId) ?? [])])
      if (s.deviceId === e.deviceId) {
        this.remove(s);
        s.session.send({ type: 'unsubscribed', id: s.req.id, reason: 'device deleted' });
      }
  }

  private onTenantDeleted(tenantId: string): void {
    this.endWhere((p) => p.tenantId === tenantId, 'the tenant was deleted');
    for (const s of [...(this.byTenant.get(tenantId) ?? [])]) this.remove(s);
    for (const [id, d] of this.devices) if (d.info?.tenantId === tenantId) this.devices.delete(id);
  }

  private endWhere(match: (p: Principal) => boolean, why: string): void {
    for (const s of [...this.sessions]) if (match(s.principal)) s.end('access-revoked', why);
  }

  /**
   * A device's name and profile for filter matching, cached for deviceInfoTtlMs: a rename or a move to another
   * profile is seen by filters within that time.
   */
  private async deviceInfo(deviceId: string): Promise<DeviceInfo | undefined> {
    const now = this.o.clock.now();
    const cached = this.devices.get(deviceId);
    if (cached && now - cached.at < deviceInfoTtlMs) return cached.info;
    const d = await this.o.store.devices.get(deviceId);
    if (this.devices.size >= maxCachedDevices) this.devices.clear();
    const info = d && { tenantId: d.tenantId, profileId: d.profileId, name: d.name };
    this.devices.set(deviceId, { info, at: now });
    return info;
  }
}

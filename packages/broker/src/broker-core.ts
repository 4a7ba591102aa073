import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import { Client, pauseDrain, type ClientContext, type ConnectionMeta, type Counters, type DisconnectReason } from './client';
import { messagePropertiesError } from './codec/message-check';
import { dispatch } from './handlers/dispatch';
import type { HandlerContext } from './handlers/handler-context';
import { Message, type MessageProperties, type QoS } from './message';
import {
  resolveLimits,
  systemClock,
  type BrokerHooks,
  type BrokerLimits,
  type BrokerOptions,
  type Client as PublicClient,
  type Clock,
  type PublishRequest,
  type Subscriber,
} from './options';
import { MemoryPersistence } from './persistence/memory/memory-persistence';
import type { BrokerPersistence } from './persistence/persistence';
import { PersistenceWriter } from './persistence/writer';
import { PublishPipeline, type PipelineContext } from './publish-pipeline';
import { BrokerError, ReasonCode } from './reason-codes';
import { RetainedStore } from './retained-store';
import type { Router, SharedGroup, Subscription } from './router';
import { neverExpires, Session, sessionKey, type Outgoing } from './session';
import { loadState, type LoaderContext } from './state-loader';
import { SubscriptionTrie } from './subscription-trie';
import { topicNameError } from './topic';

export interface BrokerEvents {
  /** A client completed CONNECT/CONNACK. */
  client: [client: PublicClient];
  clientDisconnect: [client: PublicClient, reason: DisconnectReason];
  /**
   * A SUBSCRIBE was granted (SUBACK sent, retained messages queued): the filters as the client sent them (its
   * own view, without a mount point). Lets the application send what a new subscriber should see first.
   */
  subscribed: [client: PublicClient, filters: readonly string[]];
  /** A PINGREQ was answered: the client is alive though it sends nothing else (keep-alive). */
  ping: [client: PublicClient];
  hookError: [error: unknown, client: PublicClient];
  /** The authorizeForward hook threw (or returned an unusable message): that one copy was dropped. */
  forwardError: [error: unknown, subscriber: Subscriber];
  /** An exception in one client's handling, contained to it: the connection was closed (0x83). */
  clientError: [error: unknown, client: PublicClient];
  persistenceError: [error: unknown];
}

/** The broker's state and its running totals (Counters), read at once. */
export interface BrokerStats extends Counters {
  clientsConnected: number;
  connections: number;
  sessions: number;
  subscriptions: number;
  retained: number;
}

export interface ServerPublish {
  topic: string;
  payload: Buffer | string;
  qos?: QoS;
  retain?: boolean;
  properties?: MessageProperties;
}

/** One session as `Broker.listSessions()` reports it. */
export interface SessionInfo {
  clientId: string;
  namespace: string;
  mountPoint: string;
  connected: boolean;
  persistent: boolean;
}

const maxTimerMs = 2_147_483_647;

/**
 * The broker's inside: sessions, connections, routing, persistence. It implements the narrow ports its parts
 * are written against (HandlerContext for the packet handlers, ClientContext for connections, LoaderContext,
 * PipelineContext), so none of them imports broker.ts. `Broker` (broker.ts) is the public face and keeps
 * this object private.
 */
export class BrokerCore implements HandlerContext, ClientContext, LoaderContext, PipelineContext {
  readonly limits: Readonly<BrokerLimits>;
  readonly hooks: BrokerHooks;
  readonly clock: Clock;
  readonly counters: Counters = {
    messagesIn: 0,
    messagesOut: 0,
    messagesDropped: 0,
    messagesRefused: 0,
    bytesIn: 0,
    bytesOut: 0,
    connectionsTotal: 0,
    clientErrors: 0,
    stateDropped: 0,
  };
  /** Resolves once persisted sessions and retained messages are loaded. */
  readonly ready: Promise<void>;
  /** By session key (namespace + client id, see sessionKey). */
  readonly sessions = new Map<string, Session>();
  /** Connected clients by session key. */
  readonly clientsByKey = new Map<string, Client>();
  readonly router: Router;
  readonly retained = new RetainedStore();
  readonly writer: PersistenceWriter;
  private readonly events: EventEmitter<BrokerEvents>;
  private readonly persistence: BrokerPersistence;
  private readonly connections = new Set<Client>();
  private readonly pendingWills = new Map<Session, Message>();
  private readonly perNamespace = new Map<string, number>();
  private readonly pipelines = new WeakMap<Client, PublishPipeline>();
  private closing = false;
  private accepting = true;

  constructor(options: BrokerOptions, events: EventEmitter<BrokerEvents>) {
    this.events = events;
    this.limits = resolveLimits(options.limits);
    this.hooks = options.hooks ?? {};
    this.clock = options.clock ?? systemClock;
    this.persistence = options.persistence ?? new MemoryPersistence();
    this.router = options.router ?? new SubscriptionTrie();
    this.writer = new PersistenceWriter(this.persistence, (error) => {
      this.persistenceFailed(error);
    });
    this.ready = loadState(this, this.persistence).catch((error: unknown) => {
      this.events.emit('persistenceError', new BrokerError('THINGSTEAD_ERR_BROKER_PERSISTENCE', 'loading persisted state failed', { cause: error }));
    });
  }

  /** True once stopAccepting() or close() was called: CONNECTs are refused with 0x88 (see handlers/connect.ts). */
  get isClosing(): boolean {
    return this.closing || !this.accepting;
  }

  /** True once close() was called: publish() refuses from then on. */
  get isClosed(): boolean {
    return this.closing;
  }

  /** Serves one connection: TCP, TLS, WebSocket or an in-memory duplex. */
  handle(stream: Duplex, meta: ConnectionMeta = {}): void {
    if (this.closing || this.connections.size >= this.limits.maxConnections) {
      stream.destroy();
      return;
    }
    this.counters.connectionsTotal++;
    this.connections.add(new Client(this, stream, meta));
  }

  /**
   * Publishes a server-originated message (no publishing client, so No Local never applies). Resolves once
   * the message is stored in every persistent session it was queued for (and as retained message).
   */
  async publish(p: ServerPublish, route: (message: Message) => boolean = (m) => this.route(m)): Promise<void> {
    if (this.closing) throw new BrokerError('THINGSTEAD_ERR_BROKER_CLOSED', 'broker is closed');
    const error = topicNameError(p.topic, this.limits);
    if (error !== undefined) throw new BrokerError('THINGSTEAD_ERR_BROKER_TOPIC_INVALID', `${error}: ${p.topic}`, { reasonCode: ReasonCode.TopicNameInvalid });
    // Checked here like a client's PUBLISH is in the frame reader: a property the encoder refuses would fail every delivery.
    const invalid = messagePropertiesError(p.properties);
    if (invalid !== undefined) throw new BrokerError('THINGSTEAD_ERR_BROKER_MESSAGE_INVALID', invalid);
    await this.ready;
    const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
    this.counters.messagesIn++;
    if (route(Message.withExpiry({ topic: p.topic, payload, qos: p.qos ?? 0, retain: p.retain ?? false, properties: p.properties }, this.clock.now()))) {
      await this.writer.flushed();
    }
  }

  /** Whether a publish to `topic` would reach any subscription now; lets a caller skip building a payload nobody reads. */
  hasSubscribers(topic: string): boolean {
    return this.router.hasSubscribers(topic);
  }

  /** The connected client with this client id in this namespace (from the authenticate hook; '' by default). */
  getClient(clientId: string, namespace = ''): Client | undefined {
    return this.clientsByKey.get(sessionKey(namespace, clientId));
  }

  /**
   * Ends every connection whose namespace matches (v5 DISCONNECT with the reason code) and, with
   * `deleteSessions`, the matching stored sessions too, wills discarded: for principals whose credentials were
   * revoked or who were deleted. Returns how many connections were closed.
   */
  endSessions(match: (namespace: string) => boolean, o: { reasonCode: number; reasonString: string; deleteSessions: boolean }): number {
    let closed = 0;
    for (const client of [...this.clientsByKey.values()]) {
      if (!match(client.namespace)) continue;
      if (o.deleteSessions) client.discardWill();
      client.disconnect(o.reasonCode, o.reasonString);
      closed++;
    }
    if (o.deleteSessions) {
      for (const session of [...this.sessions.values()]) {
        if (!match(session.namespace)) continue;
        session.will = undefined;
        this.pendingWills.delete(session);
        this.destroySession(session);
      }
    }
    return closed;
  }

  stats(): BrokerStats {
    return {
      clientsConnected: this.clientsByKey.size,
      connections: this.connections.size,
      sessions: this.sessions.size,
      subscriptions: this.router.size,
      retained: this.retained.size,
      ...this.counters,
    };
  }

  /**
   * Routes a message to every matching subscription; retained messages are stored first. Returns true when
   * routing recorded something for persistence (a retained message, a copy held for a persistent session):
   * the publisher's acknowledgement then waits for `writer.flushed()`.
   */
  route(message: Message): boolean {
    let wrote = false;
    if (message.retain) wrote = this.storeRetained(message);
    const match = this.router.match(message.topic);
    const perClient = match.perClient;
    for (let i = 0; i < perClient.length; i++) {
      const subs = perClient[i];
      const first = subs?.[0];
      if (subs === undefined || first === undefined) continue;
      const session = this.sessions.get(first.sessionKey);
      if (session === undefined) continue;
      if (subs.length === 1) {
        // [MQTT-3.8.3-3] No Local: not back to the publishing client.
        if (first.noLocal && first.sessionKey === message.origin) continue;
        const qos = first.qos < message.qos ? first.qos : message.qos;
        // [MQTT-3.3.1-12] Retain As Published 0 clears RETAIN when forwarding; 3.1.1 [MQTT-3.3.1-9].
        const ids = first.subscriptionId === undefined ? undefined : [first.subscriptionId];
        if (this.deliver(session, message, qos, first.retainAsPublished && message.retain, ids)) wrote = true;
      } else if (this.deliverOverlapping(session, message, subs)) {
        wrote = true;
      }
    }
    for (const group of match.shared) if (this.deliverShared(group, message)) wrote = true;
    return wrote;
  }

  // [MQTT-3.3.4-2] overlapping subscriptions: one copy at the highest granted QoS, carrying
  // every matching Subscription Identifier [MQTT-3.3.4-4] (3.1.1 [MQTT-3.3.5-1]).
  private deliverOverlapping(session: Session, message: Message, subs: readonly Subscription[]): boolean {
    let best = -1;
    let rap = false;
    let ids: number[] | undefined;
    for (const s of subs) {
      if (s.noLocal && s.sessionKey === message.origin) continue;
      if (s.qos > best) best = s.qos;
      rap ||= s.retainAsPublished;
      if (s.subscriptionId !== undefined) (ids ??= []).push(s.subscriptionId);
    }
    if (best < 0) return false;
    return this.deliver(session, message, (best < message.qos ? best : message.qos) as QoS, rap && message.retain, ids);
  }

  // v5 §4.8.2: each message to one member of the group, round-robin, preferring connected members.
  private deliverShared(group: SharedGroup, message: Message): boolean {
    const members = group.members;
    let fallback: Session | undefined;
    let fallbackSub: Subscription | undefined;
    for (let k = 0; k < members.length; k++) {
      const index = (group.next + k) % members.length;
      const sub = members[index];
      const session = sub === undefined ? undefined : this.sessions.get(sub.sessionKey);
      if (sub === undefined || session === undefined) continue;
      if (session.client?.connected === true) {
        group.next = (index + 1) % members.length;
        return this.deliverToShared(session, sub, message);
      }
      if (fallback === undefined && session.persistent) {
        fallback = session;
        fallbackSub = sub;
      }
    }
    if (fallback !== undefined && fallbackSub !== undefined) return this.deliverToShared(fallback, fallbackSub, message);
    return false;
  }

  private deliverToShared(session: Session, sub: Subscription, message: Message): boolean {
    const qos = sub.qos < message.qos ? sub.qos : message.qos;
    return this.deliver(session, message, qos, sub.retainAsPublished && message.retain, sub.subscriptionId === undefined ? undefined : [sub.subscriptionId]);
  }

  /** Hands one copy to a session; true when it was recorded for persistence. */
  private deliver(session: Session, routed: Message, qos: QoS, retain: boolean, ids: number[] | undefined): boolean {
    const client = session.client;
    const connected = client?.connected === true;
    // [MQTT-3.1.2-5] (3.1.1) / v5 §4.1: QoS 1 and 2 messages are kept for an offline session; QoS 0 ones need not be.
    if (!connected && (qos === 0 || !session.persistent)) return false;
    let message: Message | undefined = routed;
    if (session.mountPoint !== '' || this.hooks.authorizeForward !== undefined) {
      message = this.forwarded(session, routed, qos, retain);
      if (message === undefined) return false;
    }
    const outgoing: Outgoing = { seq: 0, message, qos, retain, subscriptionIds: ids, packetId: 0, state: 'publish' };
    // Held for a persistent session, offline or online (in-flight window included): stored before the publisher's ack.
    const durable = qos > 0 && session.persistent;
    if (durable) this.writer.putOutgoing(session, outgoing);
    if (connected) {
      // One subscriber that fails (encoding, writing) is that subscriber's fault: the publisher and
      // the other subscribers carry on.
      try {
        client.sendPublish(outgoing);
      } catch (error) {
        client.fault(error);
      }
    } else {
      const dropped = session.enqueue(outgoing, this.limits.maxQueuedMessages);
      if (dropped !== undefined) this.discard(dropped);
    }
    return durable;
  }

  /**
   * The copy one session gets: its topic without the session's mount point, as the authorizeForward hook
   * leaves it. undefined: not delivered (the hook dropped or failed it, or the topic is outside the mount point,
   * as `m/#` matches `m` itself).
   */
  private forwarded(session: Session, message: Message, qos: QoS, retain: boolean): Message | undefined {
    const mount = session.mountPoint;
    let topic = message.topic;
    if (mount !== '') {
      if (topic.length <= mount.length || !topic.startsWith(mount)) return undefined;
      topic = topic.slice(mount.length);
    }
    let payload = message.payload;
    let properties = message.properties;
    const hook = this.hooks.authorizeForward;
    if (hook !== undefined) {
      try {
        const r = hook(session.subscriber, { topic, payload, qos, retain, properties });
        if (r === false || r === null) return undefined;
        if (r instanceof Promise) {
          // Routing is synchronous: a promise cannot be waited for, so an async hook is a bug, not a yes.
          r.catch(() => undefined);
          throw new TypeError('authorizeForward returned a promise; it must answer synchronously');
        }
        if (typeof r === 'object') {
          if (r.payload !== undefined) {
            if (!Buffer.isBuffer(r.payload)) throw new TypeError('authorizeForward returned a payload that is not a Buffer');
            payload = r.payload;
          }
          if ('properties' in r) {
            // Checked like broker.publish() checks them: a property the encoder refuses would fault the subscriber.
            const invalid = messagePropertiesError(r.properties);
            if (invalid !== undefined) throw new TypeError(`authorizeForward returned invalid properties: ${invalid}`);
            properties = r.properties;
          }
        }
      } catch (error) {
        this.counters.messagesDropped++;
        try {
          this.events.emit('forwardError', error, session.subscriber);
        } catch {
          // A throwing listener must not undo the containment.
        }
        return undefined;
      }
    }
    if (topic === message.topic && payload === message.payload && properties === message.properties) return message;
    return new Message({ topic, payload, qos: message.qos, retain: message.retain, properties, expiresAt: message.expiresAt, origin: message.origin });
  }

  /** Drops what a session holds for topics it no longer wants (its subscriptions were withdrawn). */
  dropUnwanted(session: Session, wanted: (topic: string) => boolean): void {
    for (const o of session.removeWhere((x) => !wanted(x.message.topic))) this.discard(o);
  }

  /** A held message that will not be delivered (queue full, expired, too large for the client). */
  discard(outgoing: Outgoing): void {
    this.counters.messagesDropped++;
    this.writer.deleteOutgoing(outgoing);
  }

  private storeRetained(message: Message): boolean {
    // [MQTT-3.3.1-6] (v5) / [MQTT-3.3.1-10] (3.1.1): an empty retained payload deletes the retained message.
    if (message.payload.length === 0) {
      if (!this.retained.delete(message.topic)) return false;
      this.writer.deleteRetained(message.topic);
      return true;
    }
    // [MQTT-3.3.1-5] the retained message replaces any earlier one on the topic.
    this.retained.set(message);
    this.writer.setRetained(message);
    return true;
  }

  sendRetained(client: Client, sub: Subscription, grantedQos: QoS): void {
    const ids = sub.subscriptionId === undefined ? undefined : [sub.subscriptionId];
    for (const m of this.retained.match(sub.topicFilter, this.clock.now())) {
      // Retained messages sent because of a new subscription carry RETAIN=1 [MQTT-3.3.1-8] (3.1.1).
      this.deliver(client.session, m, m.qos < grantedQos ? m.qos : grantedQos, true, ids);
    }
  }

  /** authorizePublish for a will; `request.topic` as the client named it (without its mount point). */
  async mayPublish(client: Client, request: PublishRequest): Promise<boolean> {
    const hook = this.hooks.authorizePublish;
    if (hook === undefined) return true;
    try {
      const r = await hook(client, request);
      return r === true || (typeof r === 'number' && r < 0x80);
    } catch (error) {
      this.events.emit('hookError', error, client);
      return false;
    }
  }

  publishPipeline(client: Client): PublishPipeline {
    let pipeline = this.pipelines.get(client);
    if (pipeline === undefined) {
      pipeline = new PublishPipeline(this, client);
      this.pipelines.set(client, pipeline);
    }
    return pipeline;
  }

  dispatch(client: Client, packet: Packet): Promise<void> | undefined {
    return dispatch(this, client, packet);
  }

  connectedCount(): number {
    return this.clientsByKey.size;
  }

  connectedClient(key: string): Client | undefined {
    return this.clientsByKey.get(key);
  }

  findSession(key: string): Session | undefined {
    return this.sessions.get(key);
  }

  hookError(error: unknown, client: Client): void {
    this.events.emit('hookError', error, client);
  }

  persistenceError(error: unknown): void {
    this.events.emit('persistenceError', error);
  }

  listSessions(): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const s of this.sessions.values()) {
      out.push({ clientId: s.clientId, namespace: s.namespace, mountPoint: s.mountPoint, connected: s.client?.connected === true, persistent: s.persistent });
    }
    return out;
  }

  createSession(clientId: string, namespace = ''): Session {
    const session = new Session(clientId, namespace);
    this.sessions.set(session.key, session);
    this.perNamespace.set(namespace, (this.perNamespace.get(namespace) ?? 0) + 1);
    return session;
  }

  /** Sessions (connected or stored) of one namespace. */
  sessionCount(namespace: string): number {
    return this.perNamespace.get(namespace) ?? 0;
  }

  /** A connection attaches to the session: stop its expiry and any delayed will [MQTT-3.1.3-9]. */
  resumeSession(session: Session): void {
    this.clock.clearTimeout(session.expiryTimer);
    this.clock.clearTimeout(session.willTimer);
    this.pendingWills.delete(session);
    session.will = undefined;
    session.disconnectedAt = undefined;
  }

  destroySession(session: Session): void {
    this.clock.clearTimeout(session.expiryTimer);
    this.clock.clearTimeout(session.willTimer);
    if (session.subscriptions.size > 0) this.router.clearSession(session.key, session.subscriptions.values());
    session.subscriptions.clear();
    if (this.sessions.get(session.key) === session) {
      this.sessions.delete(session.key);
      const n = (this.perNamespace.get(session.namespace) ?? 1) - 1;
      if (n > 0) this.perNamespace.set(session.namespace, n);
      else this.perNamespace.delete(session.namespace);
    }
    for (const o of session.inflight.values()) o.seq = 0;
    for (const o of session.queue.toArray()) o.seq = 0;
    if (session.persisted) {
      session.persisted = false;
      this.writer.deleteSession(session.key);
    }
    // [MQTT-3.1.2-8] a delayed will is sent when the session ends first.
    const will = this.pendingWills.get(session);
    if (will !== undefined) {
      this.pendingWills.delete(session);
      session.will = undefined;
      if (!this.closing) this.route(will);
    }
  }

  addSubscription(session: Session, sub: Subscription): boolean {
    const previous = session.subscriptions.get(sub.filter);
    if (previous !== undefined) this.router.remove(previous.sessionKey, previous.topicFilter, previous.shareGroup);
    this.router.add(sub);
    session.subscriptions.set(sub.filter, sub);
    return previous === undefined;
  }

  removeSubscription(session: Session, filter: string): boolean {
    const sub = session.subscriptions.get(filter);
    if (sub === undefined) return false;
    session.subscriptions.delete(filter);
    this.router.remove(sub.sessionKey, sub.topicFilter, sub.shareGroup);
    return true;
  }

  /** Records a session change (subscriptions, QoS 2 ids, will, expiry) when the session is persistent. */
  persistSession(session: Session): void {
    if (session.persistent) {
      session.persisted = true;
      this.writer.saveSession(session);
    } else if (session.persisted) {
      session.persisted = false;
      this.writer.deleteSession(session.key);
    }
  }

  onClientConnected(client: Client): void {
    // A CONNECT that was being authenticated when the drain began: connected, but not read any more.
    if (!this.accepting) client.pauseReading(pauseDrain);
    this.clientsByKey.set(client.session.key, client);
    this.persistSession(client.session);
    this.events.emit('client', client);
  }

  onPing(client: Client): void {
    if (this.events.listenerCount('ping') === 0) return;
    try {
      this.events.emit('ping', client);
    } catch (error) {
      this.hookError(error, client);
    }
  }

  onSubscribed(client: Client, filters: readonly string[]): void {
    try {
      this.events.emit('subscribed', client, filters);
    } catch (error) {
      // A listener's fault is the listener's: the subscription stands.
      this.hookError(error, client);
    }
  }

  /** Counts and reports a persisted entry that failed validation at load and was dropped. */
  onStateDropped(what: string, reason: string): void {
    this.counters.stateDropped++;
    this.events.emit('persistenceError', new BrokerError('THINGSTEAD_ERR_BROKER_STATE_INVALID', `${what} failed validation and was dropped: ${reason}`));
  }

  /** Counts and reports an exception contained to one client (Client.fault closes the connection). */
  onClientError(client: Client, error: unknown): void {
    this.counters.clientErrors++;
    try {
      this.events.emit('clientError', error, client);
    } catch {
      // A throwing listener must not undo the containment.
    }
  }

  onClientClosed(client: Client): void {
    this.connections.delete(client);
    if (!client.connected) return;
    const session = client.session;
    if (this.clientsByKey.get(session.key) === client) this.clientsByKey.delete(session.key);
    if (session.client === client) {
      session.client = undefined;
      session.disconnectedAt = this.clock.now();
      // At close() the will of a persistent session stays stored and is scheduled after the restart, unless the
      // session resumes within its delay; a non-persistent session's will ends with the process.
      const will = this.closing ? undefined : session.will;
      if (will !== undefined) this.scheduleWill(session, will.message, will.delaySec * 1000);
      if (!session.persistent) {
        this.destroySession(session);
      } else {
        this.persistSession(session);
        if (!this.closing) this.scheduleExpiry(session, session.disconnectedAt + session.expiryIntervalSec * 1000);
      }
    }
    this.events.emit('clientDisconnect', client, client.disconnectReason ?? { reasonCode: 0, message: 'closed', byClient: false });
  }

  // [MQTT-3.1.2-8] the will is published when the connection ends without DISCONNECT 0x00,
  // after the Will Delay Interval, unless the session resumes first [MQTT-3.1.3-9].
  scheduleWill(session: Session, will: Message, delayMs: number): void {
    if (delayMs <= 0 || !session.persistent) {
      this.publishWill(session, will);
      return;
    }
    this.pendingWills.set(session, will);
    session.willTimer = this.clock.setTimeout(
      () => {
        if (this.pendingWills.get(session) === will) this.publishWill(session, will);
      },
      Math.min(delayMs, maxTimerMs),
    );
  }

  private publishWill(session: Session, will: Message): void {
    this.pendingWills.delete(session);
    if (session.will?.message === will) {
      session.will = undefined;
      if (this.sessions.get(session.key) === session) this.persistSession(session);
    }
    this.route(will);
  }

  /** Session expiry (v5 §3.1.2.11.2); long intervals are re-armed in steps the timer API accepts. */
  scheduleExpiry(session: Session, deadline: number): void {
    if (session.expiryIntervalSec === neverExpires) return;
    const wait = Math.max(0, deadline - this.clock.now());
    session.expiryTimer = this.clock.setTimeout(
      () => {
        if (session.client !== undefined) return;
        if (this.clock.now() >= deadline) this.destroySession(session);
        else this.scheduleExpiry(session, deadline);
      },
      Math.min(wait, maxTimerMs),
    );
  }

  private persistenceFailed(error: unknown): void {
    this.events.emit('persistenceError', new BrokerError('THINGSTEAD_ERR_BROKER_PERSISTENCE', 'persistence write failed', { cause: error }));
  }

  /**
   * The first step of a graceful shutdown: a CONNECT is refused with CONNACK 0x88 Server unavailable (3.1.1:
   * return code 3), as 0x8B Server shutting down is a DISCONNECT code only (v5 §3.2.2.2 lists the CONNACK
   * codes, §3.14.2.1 the DISCONNECT ones); new connections are still taken so that they get this answer rather
   * than a refused TCP connect. Connected clients are no longer read, so no new PUBLISH starts; what was read
   * goes on: hooks finish and their acks are sent. Then drain(), then close().
   */
  stopAccepting(): void {
    if (!this.accepting) return;
    this.accepting = false;
    for (const client of this.connections) if (client.connected) client.pauseReading(pauseDrain);
  }

  /** PUBLISH packets not acknowledged yet: waiting for their onPublish hook or for a persistence write, over all clients. */
  get pendingPublishes(): number {
    let n = 0;
    for (const client of this.connections) n += client.pendingHookCalls + client.pendingAcks;
    return n;
  }

  /**
   * Stops accepting (see stopAccepting) and waits until every PUBLISH already read has been through its hook
   * and acknowledged, or until `timeoutMs` passed. Resolves with the number still pending (0 when drained);
   * close() then cuts those connections without their acks.
   */
  async drain(timeoutMs: number, pollMs = 5): Promise<number> {
    this.stopAccepting();
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const pending = this.pendingPublishes;
      if (pending === 0 || this.closing || this.clock.now() >= deadline) return pending;
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, Math.min(pollMs, Math.max(1, deadline - this.clock.now()))));
    }
  }

  /** Disconnects everyone (v5 DISCONNECT 0x8B), saves persistent sessions and closes persistence. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.accepting = false;
    await this.ready;
    for (const client of [...this.connections]) client.terminate(ReasonCode.ServerShuttingDown, 'server shutting down');
    for (const session of this.sessions.values()) {
      this.clock.clearTimeout(session.expiryTimer);
      this.clock.clearTimeout(session.willTimer);
    }
    await this.writer.drain();
    await this.persistence.close();
  }
}

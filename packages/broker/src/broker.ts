import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Client, type ConnectionMeta, type DisconnectReason } from './client';
import { messagePropertiesError } from './codec/message-check';
import { Message, type MessageProperties, type QoS } from './message';
import { resolveLimits, systemClock, type BrokerHooks, type BrokerLimits, type BrokerOptions, type Clock } from './options';
import { MemoryPersistence } from './persistence/memory/memory-persistence';
import type { BrokerPersistence, StoredMessage } from './persistence/persistence';
import { PublishPipeline } from './publish-pipeline';
import { BrokerError, ReasonCode } from './reason-codes';
import { RetainedStore } from './retained-store';
import { neverExpires, Session, toStoredOutgoing } from './session';
import { SubscriptionTrie, type SharedGroup, type Subscription } from './subscription-trie';
import { loadState } from './state-loader';
import { topicNameError } from './topic';

export interface BrokerEvents {
  /** A client completed CONNECT/CONNACK. */
  client: [client: Client];
  clientDisconnect: [client: Client, reason: DisconnectReason];
  hookError: [error: unknown, client: Client];
  /** An exception in one client's handling, contained to it: the connection was closed (0x83). */
  clientError: [error: unknown, client: Client];
  persistenceError: [error: unknown];
}

export interface BrokerStats {
  clientsConnected: number;
  connections: number;
  sessions: number;
  subscriptions: number;
  retained: number;
  messagesIn: number;
  messagesOut: number;
  messagesDropped: number;
  messagesRefused: number;
  bytesIn: number;
  bytesOut: number;
  connectionsTotal: number;
  /** Exceptions contained to one client (each closed that connection); anything above 0 is a bug to report. */
  clientErrors: number;
  /** Persisted retained messages, sessions and queued messages dropped at load because they failed validation. */
  stateDropped: number;
}

export interface ServerPublish {
  topic: string;
  payload: Buffer | string;
  qos?: QoS;
  retain?: boolean;
  properties?: MessageProperties;
}

const maxTimerMs = 2_147_483_647;

/** An MQTT 3.1.1 + 5.0 broker over any duplex stream. See README.md for the full contract. */
export class Broker extends EventEmitter<BrokerEvents> {
  readonly limits: Readonly<BrokerLimits>;
  readonly hooks: BrokerHooks;
  readonly clock: Clock;
  readonly counters = { messagesIn: 0, messagesOut: 0, messagesDropped: 0, messagesRefused: 0, bytesIn: 0, bytesOut: 0, connectionsTotal: 0, clientErrors: 0, stateDropped: 0 };
  /** Resolves once persisted sessions and retained messages are loaded. */
  readonly ready: Promise<void>;
  readonly sessions = new Map<string, Session>();
  readonly clientsById = new Map<string, Client>();
  readonly trie = new SubscriptionTrie();
  readonly retained = new RetainedStore();
  private readonly persistence: BrokerPersistence;
  private readonly connections = new Set<Client>();
  private readonly pendingWills = new Map<Session, Message>();
  private readonly pendingWrites = new Set<Promise<void>>();
  private closing = false;

  constructor(options: BrokerOptions = {}) {
    super();
    this.limits = resolveLimits(options.limits);
    this.hooks = options.hooks ?? {};
    this.clock = options.clock ?? systemClock;
    this.persistence = options.persistence ?? new MemoryPersistence();
    this.ready = loadState(this, this.persistence).catch((error: unknown) => {
      this.emit('persistenceError', new BrokerError('THINGSTEAD_ERR_BROKER_PERSISTENCE', 'loading persisted state failed', { cause: error }));
    });
  }

  get isClosing(): boolean {
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

  /** Publishes a server-originated message (no publishing client, so No Local never applies). */
  async publish(p: ServerPublish): Promise<void> {
    if (this.closing) throw new BrokerError('THINGSTEAD_ERR_BROKER_CLOSED', 'broker is closed');
    const error = topicNameError(p.topic, this.limits);
    if (error !== undefined) throw new BrokerError('THINGSTEAD_ERR_BROKER_TOPIC_INVALID', `${error}: ${p.topic}`, { reasonCode: ReasonCode.TopicNameInvalid });
    // Checked here like a client's PUBLISH is in the frame reader: a property the encoder refuses would fail every delivery.
    const invalid = messagePropertiesError(p.properties);
    if (invalid !== undefined) throw new BrokerError('THINGSTEAD_ERR_BROKER_MESSAGE_INVALID', invalid);
    await this.ready;
    const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
    this.counters.messagesIn++;
    this.route(Message.withExpiry({ topic: p.topic, payload, qos: p.qos ?? 0, retain: p.retain ?? false, properties: p.properties }, this.clock.now()));
  }

  /** Whether a publish to `topic` would reach any subscription now; lets a caller skip building a payload nobody reads. */
  hasSubscribers(topic: string): boolean {
    const m = this.trie.match(topic);
    return m.perClient.length > 0 || m.shared.length > 0;
  }

  get clients(): IterableIterator<Client> {
    return this.clientsById.values();
  }

  getClient(id: string): Client | undefined {
    return this.clientsById.get(id);
  }

  stats(): BrokerStats {
    return {
      clientsConnected: this.clientsById.size,
      connections: this.connections.size,
      sessions: this.sessions.size,
      subscriptions: this.trie.size,
      retained: this.retained.size,
      ...this.counters,
    };
  }

  /** Routes a message to every matching subscription; retained messages are stored first. */
  route(message: Message): void {
    if (message.retain) this.storeRetained(message);
    const match = this.trie.match(message.topic);
    const perClient = match.perClient;
    for (let i = 0; i < perClient.length; i++) {
      const subs = perClient[i];
      const first = subs?.[0];
      if (subs === undefined || first === undefined) continue;
      const session = this.sessions.get(first.clientId);
      if (session === undefined) continue;
      if (subs.length === 1) {
        // [MQTT-3.8.3-3] No Local: not back to the publishing client.
        if (first.noLocal && first.clientId === message.origin) continue;
        const qos = first.qos < message.qos ? first.qos : message.qos;
        // [MQTT-3.3.1-12] Retain As Published 0 clears RETAIN when forwarding; 3.1.1 [MQTT-3.3.1-9].
        const ids = first.subscriptionId === undefined ? undefined : [first.subscriptionId];
        this.deliver(session, message, qos, first.retainAsPublished && message.retain, ids);
      } else {
        this.deliverOverlapping(session, message, subs);
      }
    }
    for (const group of match.shared) this.deliverShared(group, message);
  }

  // [MQTT-3.3.4-2] overlapping subscriptions: one copy at the highest granted QoS, carrying
  // every matching Subscription Identifier [MQTT-3.3.4-4] (3.1.1 [MQTT-3.3.5-1]).
  private deliverOverlapping(session: Session, message: Message, subs: Subscription[]): void {
    let best = -1;
    let rap = false;
    let ids: number[] | undefined;
    for (const s of subs) {
      if (s.noLocal && s.clientId === message.origin) continue;
      if (s.qos > best) best = s.qos;
      rap ||= s.retainAsPublished;
      if (s.subscriptionId !== undefined) (ids ??= []).push(s.subscriptionId);
    }
    if (best < 0) return;
    this.deliver(session, message, (best < message.qos ? best : message.qos) as QoS, rap && message.retain, ids);
  }

  // v5 §4.8.2: each message to one member of the group, round-robin, preferring connected members.
  private deliverShared(group: SharedGroup, message: Message): void {
    const members = group.members;
    let fallback: Session | undefined;
    let fallbackSub: Subscription | undefined;
    for (let k = 0; k < members.length; k++) {
      const index = (group.next + k) % members.length;
      const sub = members[index];
      const session = sub === undefined ? undefined : this.sessions.get(sub.clientId);
      if (sub === undefined || session === undefined) continue;
      if (session.client?.connected === true) {
        group.next = (index + 1) % members.length;
        this.deliverToShared(session, sub, message);
        return;
      }
      if (fallback === undefined && session.persistent) {
        fallback = session;
        fallbackSub = sub;
      }
    }
    if (fallback !== undefined && fallbackSub !== undefined) this.deliverToShared(fallback, fallbackSub, message);
  }

  private deliverToShared(session: Session, sub: Subscription, message: Message): void {
    const qos = sub.qos < message.qos ? sub.qos : message.qos;
    this.deliver(session, message, qos, sub.retainAsPublished && message.retain, sub.subscriptionId === undefined ? undefined : [sub.subscriptionId]);
  }

  private deliver(session: Session, message: Message, qos: QoS, retain: boolean, ids: number[] | undefined): void {
    const client = session.client;
    if (client?.connected === true) {
      // One subscriber that fails (encoding, writing) is that subscriber's fault: the publisher and
      // the other subscribers carry on.
      try {
        client.sendPublish(message, qos, retain, ids);
      } catch (error) {
        client.fault(error);
      }
      return;
    }
    // [MQTT-3.1.2-5] (3.1.1) / v5 §4.1: QoS 1 and 2 messages are kept for an offline session.
    if (qos === 0 || !session.persistent) return;
    const item = { message, qos, retain, subscriptionIds: ids };
    const dropped = session.enqueue(item, this.limits.maxQueuedMessages);
    this.counters.messagesDropped += dropped;
    if (dropped > 0) this.persist(() => this.persistence.replaceOutgoing(session.clientId, session.outgoingSnapshot()));
    else this.persist(() => this.persistence.appendOutgoing(session.clientId, toStoredOutgoing(item)));
  }

  private storeRetained(message: Message): void {
    // [MQTT-3.3.1-6] (v5) / [MQTT-3.3.1-10] (3.1.1): an empty retained payload deletes the retained message.
    if (message.payload.length === 0) {
      if (this.retained.delete(message.topic)) this.persist(() => this.persistence.deleteRetained(message.topic));
      return;
    }
    // [MQTT-3.3.1-5] the retained message replaces any earlier one on the topic.
    this.retained.set(message);
    this.persist(() => this.persistence.setRetained(toStoredMessage(message)));
  }

  sendRetained(client: Client, sub: Subscription, grantedQos: QoS): void {
    const ids = sub.subscriptionId === undefined ? undefined : [sub.subscriptionId];
    for (const m of this.retained.match(sub.topicFilter, this.clock.now())) {
      // Retained messages sent because of a new subscription carry RETAIN=1 [MQTT-3.3.1-8] (3.1.1).
      client.sendPublish(m, m.qos < grantedQos ? m.qos : grantedQos, true, ids);
    }
  }

  async mayPublish(client: Client, message: Message): Promise<boolean> {
    const hook = this.hooks.authorizePublish;
    if (hook === undefined) return true;
    try {
      const r = await hook(client, { topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain, properties: message.properties });
      return r === true || (typeof r === 'number' && r < 0x80);
    } catch (error) {
      this.emit('hookError', error, client);
      return false;
    }
  }

  publishPipeline(client: Client): PublishPipeline {
    client.publishPipeline ??= new PublishPipeline(this, client);
    return client.publishPipeline;
  }

  createSession(clientId: string): Session {
    const session = new Session(clientId);
    this.sessions.set(clientId, session);
    return session;
  }

  /** A connection attaches to the session: stop its expiry and any delayed will [MQTT-3.1.3-9]. */
  resumeSession(session: Session): void {
    this.clock.clearTimeout(session.expiryTimer);
    this.clock.clearTimeout(session.willTimer);
    this.pendingWills.delete(session);
    session.disconnectedAt = undefined;
  }

  destroySession(session: Session): void {
    this.clock.clearTimeout(session.expiryTimer);
    this.clock.clearTimeout(session.willTimer);
    for (const s of session.subscriptions.values()) this.trie.remove(s.clientId, s.topicFilter, s.shareGroup);
    session.subscriptions.clear();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    if (session.persisted) {
      session.persisted = false;
      this.persist(() => this.persistence.deleteSession(session.clientId));
    }
    // [MQTT-3.1.2-8] a delayed will is sent when the session ends first.
    const will = this.pendingWills.get(session);
    if (will !== undefined) {
      this.pendingWills.delete(session);
      if (!this.closing) this.route(will);
    }
  }

  addSubscription(session: Session, sub: Subscription): boolean {
    const previous = session.subscriptions.get(sub.filter);
    if (previous !== undefined) this.trie.remove(previous.clientId, previous.topicFilter, previous.shareGroup);
    this.trie.add(sub);
    session.subscriptions.set(sub.filter, sub);
    return previous === undefined;
  }

  removeSubscription(session: Session, filter: string): boolean {
    const sub = session.subscriptions.get(filter);
    if (sub === undefined) return false;
    session.subscriptions.delete(filter);
    this.trie.remove(sub.clientId, sub.topicFilter, sub.shareGroup);
    return true;
  }

  persistSession(session: Session): void {
    if (session.persistent) {
      session.persisted = true;
      const state = session.state();
      this.persist(() => this.persistence.saveSession(state));
    } else if (session.persisted) {
      session.persisted = false;
      this.persist(() => this.persistence.deleteSession(session.clientId));
    }
  }

  onClientConnected(client: Client): void {
    this.clientsById.set(client.id, client);
    this.persistSession(client.session);
    this.emit('client', client);
  }

  /** Counts and reports a persisted entry that failed validation at load and was dropped. */
  onStateDropped(what: string, reason: string): void {
    this.counters.stateDropped++;
    this.emit('persistenceError', new BrokerError('THINGSTEAD_ERR_BROKER_STATE_INVALID', `${what} failed validation and was dropped: ${reason}`));
  }

  /** Counts and reports an exception contained to one client (Client.fault closes the connection). */
  onClientError(client: Client, error: unknown): void {
    this.counters.clientErrors++;
    try {
      this.emit('clientError', error, client);
    } catch {
      // A throwing listener must not undo the containment.
    }
  }

  onClientClosed(client: Client): void {
    this.connections.delete(client);
    if (!client.connected) return;
    if (this.clientsById.get(client.id) === client) this.clientsById.delete(client.id);
    const session = client.session;
    if (session.client === client) {
      session.client = undefined;
      session.disconnectedAt = this.clock.now();
      const will = this.closing ? undefined : client.will;
      if (will !== undefined) this.scheduleWill(session, will.message, will.delaySec);
      if (!session.persistent) {
        this.destroySession(session);
      } else {
        this.persistSession(session);
        this.persist(() => this.persistence.replaceOutgoing(session.clientId, session.outgoingSnapshot()));
        if (!this.closing) this.scheduleExpiry(session, session.disconnectedAt + session.expiryIntervalSec * 1000);
      }
    }
    this.emit('clientDisconnect', client, client.disconnectReason ?? { reasonCode: 0, message: 'closed', byClient: false });
  }

  // [MQTT-3.1.2-8] the will is published when the connection ends without DISCONNECT 0x00,
  // after the Will Delay Interval, unless the session resumes first [MQTT-3.1.3-9].
  private scheduleWill(session: Session, will: Message, delaySec: number): void {
    if (delaySec === 0 || !session.persistent) {
      this.pendingWills.delete(session);
      this.route(will);
      return;
    }
    this.pendingWills.set(session, will);
    session.willTimer = this.clock.setTimeout(() => {
      if (this.pendingWills.get(session) !== will) return;
      this.pendingWills.delete(session);
      this.route(will);
    }, Math.min(delaySec * 1000, maxTimerMs));
  }

  /** Session expiry (v5 §3.1.2.11.2); long intervals are re-armed in steps the timer API accepts. */
  scheduleExpiry(session: Session, deadline: number): void {
    if (session.expiryIntervalSec === neverExpires) return;
    const wait = Math.max(0, deadline - this.clock.now());
    session.expiryTimer = this.clock.setTimeout(() => {
      if (session.client !== undefined) return;
      if (this.clock.now() >= deadline) this.destroySession(session);
      else this.scheduleExpiry(session, deadline);
    }, Math.min(wait, maxTimerMs));
  }

  private persist(op: () => void | Promise<void>): void {
    try {
      const result = op();
      if (result instanceof Promise) {
        const tracked = result.catch((error: unknown) => { this.persistenceFailed(error); }).finally(() => this.pendingWrites.delete(tracked));
        this.pendingWrites.add(tracked);
      }
    } catch (error) {
      this.persistenceFailed(error);
    }
  }

  private persistenceFailed(error: unknown): void {
    this.emit('persistenceError', new BrokerError('THINGSTEAD_ERR_BROKER_PERSISTENCE', 'persistence write failed', { cause: error }));
  }

  /** Disconnects everyone (v5 DISCONNECT 0x8B), saves persistent sessions and closes persistence. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.ready;
    for (const client of [...this.connections]) client.terminate(ReasonCode.ServerShuttingDown, 'server shutting down');
    for (const session of this.sessions.values()) {
      this.clock.clearTimeout(session.expiryTimer);
      this.clock.clearTimeout(session.willTimer);
    }
    await Promise.all(this.pendingWrites);
    await this.persistence.close();
  }
}

export function toStoredMessage(m: Message): StoredMessage {
  const stored: StoredMessage = { topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, expiresAt: m.expiresAt, origin: m.origin };
  if (m.properties !== undefined) stored.properties = m.properties;
  return stored;
}

import { Deque } from './deque';
import { Message, type QoS } from './message';
import type { StoredMessage, StoredOutgoing, StoredSession, StoredSessionState } from './persistence/persistence';
import type { Client, Subscriber } from './options';
import type { Subscription } from './router';

/** One message held for one session: queued (packetId 0) or in flight. The same record moves from queue to window. */
export interface Outgoing {
  /** Broker-wide number under which the record is persisted; 0 when it is not (QoS 0, or no persistent session). */
  seq: number;
  message: Message;
  qos: QoS;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  /** 0 while queued; the packet id once in flight. */
  packetId: number;
  /** 'publish' awaits PUBACK/PUBREC; 'pubrel' (QoS 2) awaits PUBCOMP. */
  state: 'publish' | 'pubrel';
}

export type Inflight = Outgoing;

export interface Will {
  message: Message;
  delaySec: number;
}

/** What a session needs of the connection attached to it (the broker's connection object). */
export interface SessionClient extends Client {
  /** Delivers one message now or queues it (in-flight window, socket back-pressure). */
  sendPublish(o: Outgoing): void;
  /** The connection's fault boundary: closes it with 0x83 and counts the error. */
  fault(error: unknown): void;
}

export const neverExpires = 0xffffffff;

/**
 * Sessions are keyed by namespace and client id (DESIGN.md invariant 8): the authenticate hook names the
 * principal a connection acts for, so equal client ids of different principals are different sessions. U+0000
 * cannot occur in an MQTT client id [MQTT-1.5.4-2], so the separator is unambiguous.
 */
export function sessionKey(namespace: string, clientId: string): string {
  return namespace === '' ? clientId : `${namespace}\u0000${clientId}`;
}

/** Server-side session state (v5 §4.1), alive across connections while it has not expired. */
export class Session {
  readonly clientId: string;
  readonly namespace: string;
  readonly key: string;
  /** Prefix of every topic and filter of this session, from the authenticate hook ('' for none; ADR 0005). */
  mountPoint = '';
  readonly subscriptions = new Map<string, Subscription>();
  expiryIntervalSec = 0;
  disconnectedAt: number | undefined;
  client: SessionClient | undefined;
  readonly inflight = new Map<number, Outgoing>();
  readonly queue = new Deque<Outgoing>();
  queuedQos0 = 0;
  readonly inboundQos2 = new Set<number>();
  /** The will of the current or last connection, until it is published or discarded (persisted with the session). */
  will: Will | undefined;
  /** True once the session has been written to persistence. */
  persisted = false;
  expiryTimer: unknown;
  willTimer: unknown;
  private nextPacketId = 1;
  private view: Subscriber | undefined;

  constructor(clientId: string, namespace = '') {
    this.clientId = clientId;
    this.namespace = namespace;
    this.key = sessionKey(namespace, clientId);
  }

  /** What the authorizeForward hook is shown of this session (one frozen object while the connection stays). */
  get subscriber(): Subscriber {
    const v = this.view;
    if (v !== undefined && v.client === this.client && v.mountPoint === this.mountPoint) return v;
    this.view = Object.freeze({ clientId: this.clientId, namespace: this.namespace, mountPoint: this.mountPoint, client: this.client });
    return this.view;
  }

  get persistent(): boolean {
    return this.expiryIntervalSec > 0;
  }

  /** The next packet id not in flight [MQTT-2.2.1-4] (v5) / [MQTT-2.3.1-4] (3.1.1); 0 when all 65535 are in use. */
  allocatePacketId(): number {
    for (let tries = 0; tries < 65_535; tries++) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65_535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
    return 0;
  }

  /**
   * Queues a message with the drop policy: when the queue is full a new QoS 0 message is
   * dropped, otherwise the oldest QoS 0 message, otherwise the oldest message makes room.
   * Returns the dropped record (the new one or an older one), or undefined.
   */
  enqueue(item: Outgoing, max: number): Outgoing | undefined {
    if (this.queue.length < max) {
      this.pushQueue(item);
      return undefined;
    }
    if (item.qos === 0 || max === 0) return item;
    const victim = this.queuedQos0 > 0 ? this.queue.removeFirst((o) => o.qos === 0) : this.queue.shift();
    if (victim?.qos === 0) this.queuedQos0--;
    this.pushQueue(item);
    return victim;
  }

  /** Removes the queued and in-flight messages `drop` accepts; returns them. */
  removeWhere(drop: (o: Outgoing) => boolean): Outgoing[] {
    const removed: Outgoing[] = [];
    for (const [id, o] of this.inflight) {
      if (!drop(o)) continue;
      this.inflight.delete(id);
      removed.push(o);
    }
    const queued = this.queue.toArray();
    this.queue.clear();
    this.queuedQos0 = 0;
    for (const o of queued) {
      if (drop(o)) removed.push(o);
      else this.pushQueue(o);
    }
    return removed;
  }

  shiftQueue(): Outgoing | undefined {
    const item = this.queue.shift();
    if (item?.qos === 0) this.queuedQos0--;
    return item;
  }

  private pushQueue(item: Outgoing): void {
    this.queue.push(item);
    if (item.qos === 0) this.queuedQos0++;
  }

  state(): StoredSessionState {
    const subscriptions = [...this.subscriptions.values()].map((s) => ({
      filter: s.filter,
      qos: s.qos,
      noLocal: s.noLocal,
      retainAsPublished: s.retainAsPublished,
      retainHandling: s.retainHandling,
      ...(s.subscriptionId === undefined ? {} : { subscriptionId: s.subscriptionId }),
    }));
    const state: StoredSessionState = {
      clientId: this.clientId,
      expiryIntervalSec: this.expiryIntervalSec,
      subscriptions,
      inboundQos2: [...this.inboundQos2],
    };
    if (this.namespace !== '') state.namespace = this.namespace;
    if (this.mountPoint !== '') state.mountPoint = this.mountPoint;
    if (this.disconnectedAt !== undefined) state.disconnectedAt = this.disconnectedAt;
    if (this.will !== undefined) state.will = { message: toStoredMessage(this.will.message), delaySec: this.will.delaySec };
    return state;
  }

  /** Puts persisted messages back: in-flight ones into the window, the rest into the queue, in seq order. */
  restoreOutgoing(stored: StoredSession['outgoing']): void {
    for (const item of stored) {
      const outgoing: Outgoing = {
        seq: item.seq,
        message: new Message(item.message),
        qos: item.qos,
        retain: item.retain,
        subscriptionIds: item.subscriptionIds,
        packetId: item.packetId ?? 0,
        state: item.state ?? 'publish',
      };
      if (outgoing.packetId !== 0 && !this.inflight.has(outgoing.packetId)) {
        this.inflight.set(outgoing.packetId, outgoing);
        if (outgoing.packetId >= this.nextPacketId) this.nextPacketId = outgoing.packetId === 65_535 ? 1 : outgoing.packetId + 1;
      } else {
        outgoing.packetId = 0;
        outgoing.state = 'publish';
        this.pushQueue(outgoing);
      }
    }
  }
}

export function toStoredMessage(m: Message): StoredMessage {
  const stored: StoredMessage = { topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, expiresAt: m.expiresAt, origin: m.origin };
  if (m.properties !== undefined) stored.properties = m.properties;
  return stored;
}

export function toStoredOutgoing(o: Outgoing): StoredOutgoing {
  const stored: StoredOutgoing = { seq: o.seq, message: toStoredMessage(o.message), qos: o.qos, retain: o.retain };
  if (o.subscriptionIds !== undefined) stored.subscriptionIds = o.subscriptionIds;
  if (o.packetId !== 0) {
    stored.packetId = o.packetId;
    stored.state = o.state;
  }
  return stored;
}

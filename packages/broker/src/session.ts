import { Deque } from './deque';
import { Message, type QoS } from './message';
import type { Client } from './client';
import type { StoredOutgoing, StoredSession, StoredSessionState } from './persistence/persistence';
import type { Subscription } from './subscription-trie';

export interface Outgoing {
  message: Message;
  qos: QoS;
  retain: boolean;
  subscriptionIds: number[] | undefined;
}

export interface Inflight extends Outgoing {
  packetId: number;
  /** 'publish' awaits PUBACK/PUBREC; 'pubrel' (QoS 2) awaits PUBCOMP. */
  state: 'publish' | 'pubrel';
}

export const neverExpires = 0xffffffff;

/** Server-side session state (v5 §4.1), alive across connections while it has not expired. */
export class Session {
  readonly clientId: string;
  readonly subscriptions = new Map<string, Subscription>();
  expiryIntervalSec = 0;
  disconnectedAt: number | undefined;
  client: Client | undefined;
  readonly inflight = new Map<number, Inflight>();
  readonly queue = new Deque<Outgoing>();
  queuedQos0 = 0;
  readonly inboundQos2 = new Set<number>();
  /** True once the session has been written to persistence. */
  persisted = false;
  expiryTimer: unknown;
  willTimer: unknown;
  private nextPacketId = 1;

  constructor(clientId: string) {
    this.clientId = clientId;
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
   * Returns the number of messages dropped (0 or 1).
   */
  enqueue(item: Outgoing, max: number): number {
    if (this.queue.length < max) {
      this.pushQueue(item);
      return 0;
    }
    if (item.qos === 0 || max === 0) return 1;
    const victim = this.queuedQos0 > 0 ? this.queue.removeFirst((o) => o.qos === 0) : this.queue.shift();
    if (victim?.qos === 0) this.queuedQos0--;
    this.pushQueue(item);
    return 1;
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
    if (this.disconnectedAt !== undefined) state.disconnectedAt = this.disconnectedAt;
    return state;
  }

  /** In-flight then queued QoS 1/2 messages, in delivery order, for persistence. */
  outgoingSnapshot(): StoredOutgoing[] {
    const out: StoredOutgoing[] = [];
    for (const f of this.inflight.values()) out.push({ ...toStoredOutgoing(f), packetId: f.packetId, state: f.state });
    for (const o of this.queue.toArray()) if (o.qos > 0) out.push(toStoredOutgoing(o));
    return out;
  }

  restoreOutgoing(stored: StoredSession['outgoing']): void {
    for (const item of stored) {
      const outgoing: Outgoing = {
        message: new Message(item.message),
        qos: item.qos,
        retain: item.retain,
        subscriptionIds: item.subscriptionIds,
      };
      if (item.packetId !== undefined) {
        this.inflight.set(item.packetId, { ...outgoing, packetId: item.packetId, state: item.state ?? 'publish' });
        if (item.packetId >= this.nextPacketId) this.nextPacketId = item.packetId === 65_535 ? 1 : item.packetId + 1;
      } else {
        this.pushQueue(outgoing);
      }
    }
  }
}

export function toStoredOutgoing(o: Outgoing): StoredOutgoing {
  const m = o.message;
  const stored: StoredOutgoing = {
    message: {
      topic: m.topic,
      payload: m.payload,
      qos: m.qos,
      retain: m.retain,
      expiresAt: m.expiresAt,
      origin: m.origin,
      ...(m.properties === undefined ? {} : { properties: m.properties }),
    },
    qos: o.qos,
    retain: o.retain,
  };
  if (o.subscriptionIds !== undefined) stored.subscriptionIds = o.subscriptionIds;
  return stored;
}

import type { MessageProperties, QoS } from '../message';

// The persistence port, defined by the broker (its only consumer). The broker keeps its working state in
// memory and writes through this port in batches: every change of a persistent session (subscriptions, QoS 2
// ids, will), every QoS 1/2 message it holds for one (offline queue and in-flight window alike) and every
// retained message is one operation; the operations of one event-loop turn are applied together, in order,
// by one apply() call (one transaction), and the broker acknowledges a PUBLISH whose routing wrote something
// only after that call has resolved. Everything is read back once, by load(), when the broker starts.

export interface StoredSubscription {
  filter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId?: number;
}

export interface StoredMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: MessageProperties;
  /** Absolute expiry (ms since epoch on the broker clock), 0 = never. */
  expiresAt: number;
  /** Session key of the publisher (for No Local), '' when server-originated. */
  origin: string;
}

export interface StoredOutgoing {
  /** Broker-wide increasing number: the delivery order, and the identity later operations refer to. */
  seq: number;
  message: StoredMessage;
  qos: QoS;
  retain: boolean;
  subscriptionIds?: number[];
  /** Set while the message is in flight: resent with DUP, or as PUBREL when state is 'pubrel'. */
  packetId?: number;
  state?: 'publish' | 'pubrel';
}

export interface StoredWill {
  message: StoredMessage;
  delaySec: number;
}

export interface StoredSessionState {
  clientId: string;
  /** Whose session it is (from the authenticate hook); '' or absent for the default namespace. */
  namespace?: string;
  /** The session's mount point (ADR 0005); absent for none. */
  mountPoint?: string;
  /** v5 Session Expiry Interval in seconds; 0xFFFFFFFF = never expires. */
  expiryIntervalSec: number;
  /** When the client went away (ms), or undefined while connected. */
  disconnectedAt?: number;
  subscriptions: StoredSubscription[];
  /** QoS 2 packet ids received and awaiting PUBREL. */
  inboundQos2: number[];
  /** The will of the current (or last) connection, until it is sent or discarded. */
  will?: StoredWill;
}

export interface StoredSession extends StoredSessionState {
  /** In seq order. */
  outgoing: StoredOutgoing[];
}

export interface LoadedState {
  sessions: StoredSession[];
  retained: StoredMessage[];
  /** Entries the adapter could not read at all (already removed from the store); the broker reports them. */
  unreadable?: { what: string; reason: string }[];
}

/** One change; `key` is the broker's session key (see sessionKey in session.ts). */
export type PersistenceOp =
  | { type: 'saveSession'; key: string; state: StoredSessionState }
  /** Removes the session with its outgoing messages. */
  | { type: 'deleteSession'; key: string }
  | { type: 'putOutgoing'; key: string; item: StoredOutgoing }
  | { type: 'setInflight'; seq: number; packetId: number; state: 'publish' | 'pubrel' }
  | { type: 'deleteOutgoing'; seq: number }
  | { type: 'setRetained'; message: StoredMessage }
  | { type: 'deleteRetained'; topic: string };

type Awaitable<T> = T | Promise<T>;

export interface BrokerPersistence {
  load(): Awaitable<LoadedState>;
  /** Applies the operations in order, all or none (one transaction where the store has them). */
  apply(ops: readonly PersistenceOp[]): Awaitable<void>;
  close(): Awaitable<void>;
}

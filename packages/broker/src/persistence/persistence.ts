import type { MessageProperties, QoS } from '../message';
import type { Awaitable } from '../options';

// The persistence port, defined by the broker (its only consumer). The broker keeps its
// working state in memory and writes through this port: sessions and subscriptions when
// they change, offline queues as messages arrive, a snapshot of in-flight and queued
// messages when a persistent session disconnects or the broker closes, retained messages
// on every change. Everything is read back once, by load(), when the broker starts.

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
  origin: string;
}

export interface StoredOutgoing {
  message: StoredMessage;
  qos: QoS;
  retain: boolean;
  subscriptionIds?: number[];
  /** Set for messages that were in flight: resent with DUP, or as PUBREL when state is 'pubrel'. */
  packetId?: number;
  state?: 'publish' | 'pubrel';
}

export interface StoredSessionState {
  clientId: string;
  /** v5 Session Expiry Interval in seconds; 0xFFFFFFFF = never expires. */
  expiryIntervalSec: number;
  /** When the client went away (ms), or undefined while connected. */
  disconnectedAt?: number;
  subscriptions: StoredSubscription[];
  /** QoS 2 packet ids received and awaiting PUBREL. */
  inboundQos2: number[];
}

export interface StoredSession extends StoredSessionState {
  outgoing: StoredOutgoing[];
}

export interface LoadedState {
  sessions: StoredSession[];
  retained: StoredMessage[];
}

export interface BrokerPersistence {
  load(): Awaitable<LoadedState>;
  saveSession(session: StoredSessionState): Awaitable<void>;
  /** Removes the session with its outgoing messages. */
  deleteSession(clientId: string): Awaitable<void>;
  appendOutgoing(clientId: string, item: StoredOutgoing): Awaitable<void>;
  replaceOutgoing(clientId: string, items: StoredOutgoing[]): Awaitable<void>;
  setRetained(message: StoredMessage): Awaitable<void>;
  deleteRetained(topic: string): Awaitable<void>;
  close(): Awaitable<void>;
}

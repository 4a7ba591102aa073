import type { QoS } from './message';

// The routing port, defined by the broker (its only consumer), like aedes' injected `mq`. The broker keeps
// sessions, queues and in-flight windows itself; a Router only knows which session keys subscribed to which
// filters and answers which of them a topic reaches. `SubscriptionTrie` is the in-process adapter (the
// default). The calls are synchronous on purpose: routing a PUBLISH, recording the copies for persistent
// sessions and the publisher's acknowledgement are ordered within one turn (ADR 0003, ADR 0005 for how a
// cluster adapter keeps that order).

export interface Subscription {
  /** The subscribing session's key (namespace + client id). */
  sessionKey: string;
  /** The filter as subscribed, including a `$share/<group>/` prefix and the session's mount point; the key within a session. */
  filter: string;
  /** The part matched against topics (mount point included). */
  topicFilter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId: number | undefined;
  shareGroup: string | undefined;
}

/** Members of one `$share/<group>/<filter>`, served round-robin from `next` (v5 §4.8.2); the broker advances `next`. */
export interface SharedGroup {
  readonly name: string;
  readonly members: readonly Subscription[];
  next: number;
}

export interface MatchResult {
  /** Matching non-shared subscriptions grouped by session: one delivery per session [MQTT-3.3.4-2]. */
  readonly perClient: readonly (readonly Subscription[])[];
  readonly shared: readonly SharedGroup[];
}

export interface Router {
  /** Subscriptions held (shared members counted one by one). */
  readonly size: number;
  /** Adds or replaces [MQTT-3.8.4-3] the subscription of `sub.sessionKey` to `sub.topicFilter` (in `sub.shareGroup`); true when it is new. */
  add(sub: Subscription): boolean;
  /** Removes one subscription; true when it existed. */
  remove(sessionKey: string, topicFilter: string, shareGroup: string | undefined): boolean;
  /** Removes every subscription of a session that ends (the broker passes the ones it knows). */
  clearSession(sessionKey: string, subscriptions: Iterable<Subscription>): void;
  /** The subscriptions a topic reaches now. Called for every routed message: the fast path. */
  match(topic: string): MatchResult;
  /** Whether `match(topic)` would find anything. */
  hasSubscribers(topic: string): boolean;
}

import type { MessageProperties, QoS } from './message';
import type { BrokerPersistence } from './persistence/persistence';
import type { Router } from './router';

export type Awaitable<T> = T | Promise<T>;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/**
 * A connection as hooks and events see it. The broker's connection object has more (framing, queues,
 * back-pressure); that stays inside the broker.
 */
export interface Client {
  /** The client id ('' until CONNECT was accepted; an assigned one for an empty v5 id). */
  readonly id: string;
  /** Whose session this is, from the authenticate hook ('' by default): sessions are keyed by namespace + id. */
  readonly namespace: string;
  readonly username: string | undefined;
  /** Whatever the authenticate hook returned as `user`. */
  readonly user: unknown;
  /** The prefix of this client's topics in the broker's topic space, from the authenticate hook ('' for none; ADR 0005). */
  readonly mountPoint: string;
  readonly protocolVersion: 3 | 4 | 5;
  readonly remoteAddress: string | undefined;
  readonly transport: 'tcp' | 'tls' | 'ws' | undefined;
  readonly keepAliveSec: number;
  /** True from CONNACK until the connection ends. */
  readonly connected: boolean;
  /** Disconnects the client (v5 DISCONNECT with the reason code, default 0x98; 3.1.1 just closes). Its will is published. */
  disconnect(reasonCode?: number, reasonString?: string): void;
  close(): void;
}

export interface AuthenticateRequest {
  clientId: string;
  username?: string;
  password?: Buffer;
  protocolVersion: 3 | 4 | 5;
  remoteAddress?: string;
  properties?: Record<string, unknown>;
}

/**
 * `namespace` names the principal the connection acts for (a device, a user): sessions, takeover and
 * No Local are scoped to it, so the same client id under another namespace is another session. Default ''.
 * It must not contain U+0000.
 *
 * `mountPoint` (EMQX's `mountpoint`, e.g. `devices/abc/`) puts the client in its own part of the topic space:
 * its PUBLISH topics, SUBSCRIBE/UNSUBSCRIBE filters (inside `$share/<group>/`) and will topic get the prefix
 * before routing and retained storage, and every delivery to it has the prefix taken off again. It ends with
 * `/` and has no `+`, `#` or U+0000, at most `maxMountPointLength` characters; a bad one refuses the CONNECT like a failing hook
 * (0x88). Stored with a persistent session; a session resumed under another mount point starts clean.
 */
export type AuthResult = { ok: true; user?: unknown; namespace?: string; mountPoint?: string } | { ok: false; reasonCode: number; reasonString?: string };

/** Longest mount point the authenticate hook may name (characters). */
export const maxMountPointLength = 256;

export interface PublishRequest {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties: MessageProperties | undefined;
}

export interface SubscribeRequest {
  /** The filter as sent, including any `$share/<group>/` prefix. */
  topic: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  shareGroup: string | undefined;
}

/** true = allow; false or a v5 reason code >= 0x80 = refuse. */
export type AuthorizeResult = boolean | number;

/**
 * What onPublish may answer: `undefined` accepts (acknowledged, routed); a `reasonCode >= 0x80` refuses;
 * `{ route: false }` accepts and acknowledges the message but neither routes it to subscribers nor stores
 * it as retained: the application consumed it.
 */
export type PublishVerdict = undefined | { reasonCode: number; reasonString?: string } | { route: false };

/** The session a copy is about to be given to (authorizeForward); `client` is undefined while it is offline. */
export interface Subscriber {
  readonly clientId: string;
  readonly namespace: string;
  /** '' when the session has none. */
  readonly mountPoint: string;
  readonly client: Client | undefined;
}

/** One copy for one subscriber, its topic as that subscriber will see it (mount point taken off). */
export interface ForwardRequest {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties: MessageProperties | undefined;
}

/**
 * `true`/`undefined` delivers the copy as it is; `false`/`null` drops this copy; an object delivers the copy
 * with its `payload` and/or `properties` replaced (topic, QoS and retain are the broker's).
 */
export type ForwardResult = boolean | null | undefined | { payload?: Buffer; properties?: MessageProperties | undefined };

export interface BrokerHooks {
  authenticate?: (request: AuthenticateRequest) => Awaitable<AuthResult>;
  /** Every PUBLISH and the will at CONNECT; `packet.topic` as the client sent it, without its mount point (ADR 0005). */
  authorizePublish?: (client: Client, packet: PublishRequest) => Awaitable<AuthorizeResult>;
  /** Every SUBSCRIBE filter, and stored ones when a session resumes; `sub.topic` as the client sent it, without its mount point. */
  authorizeSubscribe?: (client: Client, sub: SubscribeRequest) => Awaitable<AuthorizeResult>;
  /**
   * Called for every accepted PUBLISH before it is acknowledged and routed. A reasonCode >= 0x80
   * refuses the message; `{ route: false }` acknowledges it without routing it; a rejection refuses it with
   * 0x80 (v5) or disconnects (3.1.1). Like authorizePublish it sees the topic as the client sent it (without
   * its mount point; `client.mountPoint` has that).
   */
  onPublish?: (client: Client, packet: PublishRequest) => Promise<PublishVerdict>;
  /**
   * Called synchronously for each copy of a message about to be given to one subscriber session, at routing
   * time: for every matching session, offline persistent ones included (where it is queued), and for each
   * retained message sent on SUBSCRIBE; not again when a queued or stored copy is sent later. Sees the topic
   * as that subscriber will (its mount point taken off). A throw (or a returned promise: routing cannot wait)
   * drops the copy and emits `forwardError`; the publisher and the other subscribers are not affected.
   */
  authorizeForward?: (subscriber: Subscriber, message: ForwardRequest) => ForwardResult;
}

/**
 * Named as the platform's settings are (config section `mqtt`), so a limit has one name from the config file to
 * here; units are in the names.
 */
export interface BrokerLimits {
  /** Largest packet accepted (and advertised in CONNACK), bytes including the fixed header. */
  maxPacketBytes: number;
  maxTopicLength: number;
  maxTopicLevels: number;
  maxClientIdLength: number;
  maxConnections: number;
  /** In-flight QoS 1/2 window in both directions: advertised to v5 clients and the cap toward every client. */
  receiveMaximum: number;
  /** Messages waiting per client (offline queue, or behind the in-flight window / socket back-pressure). */
  maxQueuedMessages: number;
  /** Bytes buffered in the socket before the broker stops writing and queues instead. */
  maxSocketBufferBytes: number;
  connectTimeoutMs: number;
  /** Keep-alive cap; v5 clients asking for more (or 0) get Server Keep Alive in CONNACK. 0 = no cap. */
  maxKeepAliveSec: number;
  /** Cap on the v5 Session Expiry Interval; 3.1.1 persistent sessions also expire after this. 0xFFFFFFFF = never. */
  maxSessionExpirySec: number;
  topicAliasMaximum: number;
  maxSubscriptionsPerClient: number;
  /**
   * Sessions (connected or stored) per principal, i.e. per namespace the authenticate hook names; a CONNECT that
   * would create one more gets 0x97 (3.1.1: 3). 0 = no limit.
   */
  maxSessionsPerPrincipal: number;
  /** PUBLISH packets of one client waiting for their hooks (onPublish: the commit) before the broker stops reading its socket. */
  maxPendingMessagesPerClient: number;
}

export const defaultLimits: Readonly<BrokerLimits> = Object.freeze({
  maxPacketBytes: 1024 * 1024,
  maxTopicLength: 1024,
  maxTopicLevels: 32,
  maxClientIdLength: 256,
  maxConnections: 100_000,
  receiveMaximum: 1024,
  maxQueuedMessages: 1000,
  maxSocketBufferBytes: 256 * 1024,
  connectTimeoutMs: 10_000,
  maxKeepAliveSec: 65_535,
  maxSessionExpirySec: 0xffffffff,
  topicAliasMaximum: 64,
  maxSubscriptionsPerClient: 1000,
  maxSessionsPerPrincipal: 0,
  maxPendingMessagesPerClient: 1000,
});

export interface BrokerOptions {
  persistence?: BrokerPersistence;
  /** Where subscriptions live and topics are matched; default: the in-process subscription trie. */
  router?: Router;
  hooks?: BrokerHooks;
  limits?: Partial<BrokerLimits>;
  clock?: Clock;
}

export function resolveLimits(partial: Partial<BrokerLimits> | undefined): Readonly<BrokerLimits> {
  const limits = { ...defaultLimits, ...partial };
  const errors: string[] = [];
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 0) errors.push(`limits.${key} must be a non-negative integer (got ${String(value)})`);
  }
  if (limits.receiveMaximum < 1 || limits.receiveMaximum > 65_535) errors.push('limits.receiveMaximum must be 1..65535');
  if (limits.topicAliasMaximum > 65_535) errors.push('limits.topicAliasMaximum must be 0..65535');
  // Server Keep Alive is a Two Byte Integer (v5 §3.2.2.3.14).
  if (limits.maxKeepAliveSec > 65_535) errors.push('limits.maxKeepAliveSec must be 0..65535');
  if (limits.maxPacketBytes < 16) errors.push('limits.maxPacketBytes must be at least 16');
  // [MQTT-3.1.3-5] the server must allow client ids of 1 to 23 bytes.
  if (limits.maxClientIdLength < 23) errors.push('limits.maxClientIdLength must be at least 23');
  if (errors.length > 0) throw new RangeError(`invalid broker limits:\n  ${errors.join('\n  ')}`);
  return Object.freeze(limits);
}

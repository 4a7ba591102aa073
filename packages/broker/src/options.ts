import type { Client } from './client';
import type { MessageProperties, QoS } from './message';
import type { BrokerPersistence } from './persistence/persistence';

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
 */
export type AuthResult = { ok: true; user?: unknown; namespace?: string } | { ok: false; reasonCode: number; reasonString?: string };

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

export interface BrokerHooks {
  authenticate?: (request: AuthenticateRequest) => Awaitable<AuthResult>;
  authorizePublish?: (client: Client, packet: PublishRequest) => Awaitable<AuthorizeResult>;
  authorizeSubscribe?: (client: Client, sub: SubscribeRequest) => Awaitable<AuthorizeResult>;
  /**
   * Called for every accepted PUBLISH before it is acknowledged and routed. A reasonCode >= 0x80
   * refuses the message; a rejection refuses it with 0x80 (v5) or disconnects (3.1.1).
   */
  onPublish?: (client: Client, packet: PublishRequest) => Promise<undefined | { reasonCode: number; reasonString?: string }>;
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

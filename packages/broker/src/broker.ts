import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { BrokerCore, type BrokerEvents, type BrokerStats, type ServerPublish, type SessionInfo } from './broker-core';
import type { ConnectionMeta } from './client';
import type { Message } from './message';
import type { BrokerLimits, BrokerOptions, Client } from './options';

export type { BrokerEvents, BrokerStats, ServerPublish, SessionInfo } from './broker-core';

let coreOf: (broker: Broker) => BrokerCore;

/**
 * An MQTT 3.1.1 + 5.0 broker over any duplex stream. See README.md for the full contract. This is the public
 * face only: sessions, connections, the router and persistence live in a private BrokerCore (broker-core.ts)
 * that the handlers reach through their own narrow port (handlers/handler-context.ts).
 */
export class Broker extends EventEmitter<BrokerEvents> {
  readonly #core: BrokerCore;
  readonly limits: Readonly<BrokerLimits>;
  /** Resolves once persisted sessions and retained messages are loaded. */
  readonly ready: Promise<void>;

  static {
    coreOf = (broker) => broker.#core;
  }

  constructor(options: BrokerOptions = {}) {
    super();
    this.#core = new BrokerCore(options, this);
    this.limits = this.#core.limits;
    this.ready = this.#core.ready;
  }

  /** True once stopAccepting() or close() was called: CONNECTs are refused with 0x88 (see handlers/connect.ts). */
  get isClosing(): boolean {
    return this.#core.isClosing;
  }

  /** True once close() was called: publish() refuses from then on. */
  get isClosed(): boolean {
    return this.#core.isClosed;
  }

  /** Serves one connection: TCP, TLS, WebSocket or an in-memory duplex. */
  handle(stream: Duplex, meta: ConnectionMeta = {}): void {
    this.#core.handle(stream, meta);
  }

  /**
   * Publishes a server-originated message (no publishing client, so No Local never applies). Resolves once
   * the message is stored in every persistent session it was queued for (and as retained message).
   */
  publish(p: ServerPublish): Promise<void> {
    // Through this.route, so a caller that wraps route() (as the server's forwarder test does) sees every message.
    return this.#core.publish(p, (m) => this.route(m));
  }

  /**
   * Routes a message to every matching subscription; retained messages are stored first. Returns true when
   * routing recorded something for persistence: a caller that acknowledges something waits for it then.
   */
  route(message: Message): boolean {
    return this.#core.route(message);
  }

  /** Whether a publish to `topic` would reach any subscription now; lets a caller skip building a payload nobody reads. */
  hasSubscribers(topic: string): boolean {
    return this.#core.hasSubscribers(topic);
  }

  /** Connected clients. */
  get clients(): IterableIterator<Client> {
    return this.#core.clientsByKey.values();
  }

  /** The connected client with this client id in this namespace (from the authenticate hook; '' by default). */
  getClient(clientId: string, namespace = ''): Client | undefined {
    return this.#core.getClient(clientId, namespace);
  }

  /** Every session, connected or stored, as a read-only snapshot. */
  listSessions(): SessionInfo[] {
    return this.#core.listSessions();
  }

  /**
   * Ends every connection whose namespace matches (v5 DISCONNECT with the reason code) and, with
   * `deleteSessions`, the matching stored sessions too, wills discarded: for principals whose credentials were
   * revoked or who were deleted. Returns how many connections were closed.
   */
  endSessions(match: (namespace: string) => boolean, o: { reasonCode: number; reasonString: string; deleteSessions: boolean }): number {
    return this.#core.endSessions(match, o);
  }

  stats(): BrokerStats {
    return this.#core.stats();
  }

  /**
   * The first step of a graceful shutdown: every CONNECT is refused with CONNACK 0x88 (3.1.1: 3); connected
   * clients are no longer read; what was read goes on. Then drain(), then close().
   */
  stopAccepting(): void {
    this.#core.stopAccepting();
  }

  /** PUBLISH packets not acknowledged yet: waiting for their onPublish hook or for a persistence write, over all clients. */
  get pendingPublishes(): number {
    return this.#core.pendingPublishes;
  }

  /**
   * Stops accepting and waits until every PUBLISH already read has been through its hook and acknowledged, or
   * until `timeoutMs` passed. Resolves with the number still pending (0 when drained).
   */
  drain(timeoutMs: number, pollMs = 5): Promise<number> {
    return this.#core.drain(timeoutMs, pollMs);
  }

  /** Disconnects everyone (v5 DISCONNECT 0x8B), saves persistent sessions and closes persistence. */
  close(): Promise<void> {
    return this.#core.close();
  }
}

/**
 * The broker's working state, for the broker package's own tests. Package-internal: not exported from
 * index.ts, so the platform cannot reach into sessions or the router.
 */
export function brokerInternals(broker: Broker): BrokerCore {
  return coreOf(broker);
}

import type { Client, Counters } from '../client';
import type { Message, QoS } from '../message';
import type { BrokerHooks, BrokerLimits, Clock, PublishRequest } from '../options';
import type { PublishPipeline } from '../publish-pipeline';
import type { Subscription } from '../router';
import type { Session } from '../session';

/**
 * What the packet handlers may do with the broker: a narrow port, defined here by its consumers, so no
 * handler imports broker.ts (the broker's working state stays private to it) and the handlers are not part
 * of an import cycle with it. The broker's core implements it.
 */
export interface HandlerContext {
  readonly limits: Readonly<BrokerLimits>;
  readonly hooks: BrokerHooks;
  readonly clock: Clock;
  readonly counters: Counters;
  /** Resolves once persisted state is loaded. */
  readonly ready: Promise<void>;
  /** stopAccepting() or close() was called: CONNECTs are refused. */
  readonly isClosing: boolean;

  /** Connected clients, for the maxConnections check. */
  connectedCount(): number;
  /** The connected client of a session key. */
  connectedClient(key: string): Client | undefined;
  findSession(key: string): Session | undefined;
  createSession(clientId: string, namespace: string): Session;
  destroySession(session: Session): void;
  resumeSession(session: Session): void;
  /** Sessions (connected or stored) of one namespace. */
  sessionCount(namespace: string): number;
  persistSession(session: Session): void;
  /** Adds or replaces a subscription of the session; true when it is new. */
  addSubscription(session: Session, sub: Subscription): boolean;
  removeSubscription(session: Session, filter: string): boolean;
  /** Drops held messages whose (client-view) topic the session no longer wants. */
  dropUnwanted(session: Session, wanted: (topic: string) => boolean): void;
  onClientConnected(client: Client): void;
  /** SUBACK was sent and retained messages queued: the `subscribed` event, with the granted filters as the client sent them. */
  onSubscribed(client: Client, filters: readonly string[]): void;
  /** PINGRESP was sent: the `ping` event. */
  onPing(client: Client): void;

  /** Routes a message; true when the publisher's ack must wait for the persistence write. */
  route(message: Message): boolean;
  sendRetained(client: Client, sub: Subscription, grantedQos: QoS): void;
  publishPipeline(client: Client): PublishPipeline;
  /** The authorizePublish hook for a will. */
  mayPublish(client: Client, request: PublishRequest): Promise<boolean>;
  /** Reports a hook that threw (the `hookError` event). */
  hookError(error: unknown, client: Client): void;
}

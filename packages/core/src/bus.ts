import type { AlarmEvent } from './alarms/model';
import type { AttributeEvent } from './attributes/model';
import type { RpcLifecycleEvent, RpcRequestEvent, RpcResponseEvent } from './rpc/model';
import type { TelemetryPoint } from './telemetry/model';

/** One ingested message's committed values. */
export interface CommittedMessage {
  deviceId: string;
  tenantId: string;
  points: readonly TelemetryPoint[];
}

/** Events other parts of the platform consume. The in-process adapter lives in server; NATS comes later. */
export interface BusEvents {
  /**
   * One event per committed telemetry batch (one transaction): every message of it, in commit order, each with
   * the values that were stored (a device deleted while its values waited is left out).
   */
  telemetry: { messages: readonly CommittedMessage[] };
  /** One committed attribute write that changed something (a device's report, a user's change of server or shared attributes). */
  attributes: AttributeEvent;
  /**
   * A device's connectivity changed: connected (its first session opened), disconnected (its last one closed),
   * inactive (no message for its profile's inactivity timeout), active (a message after being inactive).
   */
  'device.connectivity': ConnectivityEvent;
  /** A command to a device: the transports holding the device deliver it (rpc/model.ts). */
  'rpc.request': RpcRequestEvent;
  /** A device's answer, to the node where the caller waits. */
  'rpc.response': RpcResponseEvent;
  /** A persistent RPC changed status: QUEUED, SENT, DELIVERED, SUCCESSFUL, TIMEOUT, EXPIRED, FAILED, or DELETED. */
  'rpc.lifecycle': RpcLifecycleEvent;
  /** An alarm changed: created, extended by a repeated raise (updated, escalated, deescalated), acknowledged, cleared or deleted. */
  alarm: AlarmEvent;
  'device.created': { deviceId: string; tenantId: string };
  /** A device was changed (name, label, metadata or profile). */
  'device.updated': { deviceId: string; tenantId: string; profileId: string };
  /** A device profile's inactivity timeout changed. */
  'profile.updated': { profileId: string; tenantId: string };
  'device.deleted': { deviceId: string; tenantId: string };
  'device.credentials': { deviceId: string; tenantId: string };
  /** A device became a gateway or stopped being one: its connections end, to be authorized again. */
  'device.gateway': { deviceId: string; tenantId: string; gateway: boolean };
  /** An API key was revoked: connections authenticated with it end. */
  'apikey.revoked': { keyId: string; userId: string; tenantId: string };
  /** A user's access changed (role changed, disabled, deleted): connections acting for them end. */
  'user.access': { userId: string; tenantId: string; change: 'role' | 'disabled' | 'deleted' };
  /** A rule was created, changed, deleted, or disabled by the engine because it kept failing (reason says why). */
  'rule.changed': { tenantId: string; ruleId: string; version: number; change: 'created' | 'updated' | 'deleted' | 'disabled'; reason: string | null };
  /** A tenant was deleted with everything in it. */
  'tenant.deleted': { tenantId: string };
}

export interface ConnectivityEvent {
  tenantId: string;
  deviceId: string;
  change: 'connected' | 'disconnected' | 'inactive' | 'active';
  /** Clock ms of the change. */
  at: number;
  /** After the change: a session is open (MQTT), and the device is active (a message within its inactivity timeout). */
  connected: boolean;
  active: boolean;
}

export type BusTopic = keyof BusEvents;

/** A subscriber. Returning a promise holds that subscriber's next event until it settles (one at a time, in order). */
export type BusHandler<K extends BusTopic> = (event: BusEvents[K]) => void | Promise<void>;

export interface SubscribeOptions {
  /** Names the subscriber in logs and metrics (low cardinality: a component, never an id). */
  name: string;
  /**
   * Events this subscriber may have waiting; beyond it the oldest is dropped and reported, so a subscriber that
   * cannot keep up loses its own backlog instead of growing memory or slowing the publisher. Adapter default.
   */
  maxQueued?: number;
}

/**
 * The event bus port. Delivery is never inside publish: a handler runs later, off the publisher's path (so a
 * telemetry subscriber cannot delay an acknowledgement), each subscriber in publish order and one event at a
 * time, and a failing handler is reported without affecting other subscribers or the publisher.
 *
 * Delivery is at most once: an event accepted just before a crash may not be delivered. The in-process adapter
 * holds events in memory; a NATS JetStream adapter fits the same port (publish resolves on the stream's ack,
 * subscribe maps to a durable consumer acknowledged when the handler settles).
 */
export interface EventBus {
  /** Resolves when the bus has accepted the event (in process: at once; a broker-backed bus: once it stored it). */
  publish<K extends BusTopic>(topic: K, event: BusEvents[K]): Promise<void>;
  /** Returns the function that ends the subscription. */
  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>, options: SubscribeOptions): () => void;
  /** Resolves once every event published before the call was handled (or dropped) by every subscriber. */
  drain(): Promise<void>;
}

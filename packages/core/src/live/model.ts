import type { Alarm, AlarmChange, AlarmSeverity } from '../alarms/model';
import type { AttributeScope, AttributeValue } from '../attributes/model';
import type { ConnectivityEvent } from '../bus';
import type { TimedValue } from '../telemetry/model';

/**
 * The live API's plain values (docs/reference/websocket-api.md). The transport validates the wire form against
 * the contract's schemas (packages/contract/src/live.ts) and hands these to LiveService; what a session sends
 * back is a LiveMessage, serialised by the transport as it is.
 */

/** Devices matching all given fields; a system admin may name another tenant, others see their own. */
export interface DeviceFilter {
  tenantId?: string | undefined;
  profileId?: string | undefined;
  namePrefix?: string | undefined;
}

/** One device, or every device of the filter (devices created later included). */
export type LiveTarget = { deviceId: string } | { filter: DeviceFilter };

export type SubscriptionRequest =
  /** Latest telemetry: every committed value, the current latest first (one device only). */
  | { id: string; kind: 'telemetry'; target: LiveTarget; keys?: readonly string[] | undefined }
  /** Attribute changes: current values first (one device only), then every change. */
  | { id: string; kind: 'attributes'; target: LiveTarget; scope?: AttributeScope | undefined; keys?: readonly string[] | undefined }
  /** A device's time series from `from` (ms): the stored values, then live ones, with no gap or duplicate at the seam. */
  | { id: string; kind: 'series'; deviceId: string; from: number; keys?: readonly string[] | undefined }
  | { id: string; kind: 'connectivity'; target: LiveTarget }
  /** Device lifecycle (created, deleted, credentials rotated) and RPC traffic (requests and answers). */
  | { id: string; kind: 'events'; target: LiveTarget }
  /** Alarms: the active ones first (in `alarms` messages), then every change; optionally of some severities and types only. */
  | {
      id: string;
      kind: 'alarms';
      target: LiveTarget;
      severities?: readonly AlarmSeverity[] | undefined;
      types?: readonly string[] | undefined;
    };

export type SubscriptionKind = SubscriptionRequest['kind'];

export const liveEventNames = ['device.created', 'device.deleted', 'device.credentials', 'rpc.request', 'rpc.response', 'rpc.lifecycle'] as const;
export type LiveEventName = (typeof liveEventNames)[number];

/** What a session sends. Every update carries the id of the subscription it belongs to. */
export type LiveMessage =
  | { type: 'authenticated'; userId: string; tenantId: string; role: string }
  | { type: 'subscribed'; id: string; kind: SubscriptionKind }
  | { type: 'unsubscribed'; id: string; reason: 'requested' | 'device deleted' }
  | { type: 'error'; id?: string; code: string; message: string; hint: string }
  | {
      type: 'telemetry';
      id: string;
      deviceId: string;
      /** key -> its latest value. */
      values: Record<string, TimedValue>;
      /** Updates merged into this one because the client was behind (absent when none). */
      conflated?: number;
    }
  | {
      type: 'series';
      id: string;
      deviceId: string;
      /** True for values read from the store, false for live ones. */
      history: boolean;
      /** key -> values in ascending ts (history) or commit order (live). */
      data: Record<string, TimedValue[]>;
    }
  /** The end of a series subscription's history: what follows is live. */
  | { type: 'history.end'; id: string; deviceId: string; points: number }
  | {
      type: 'attributes';
      id: string;
      deviceId: string;
      scope: AttributeScope;
      updated: Record<string, { value: AttributeValue; updatedAt: number }>;
      deleted: string[];
      version: number;
      conflated?: number;
    }
  | ({ type: 'connectivity'; id: string; conflated?: number } & Omit<ConnectivityEvent, 'tenantId'>)
  | { type: 'event'; id: string; deviceId: string; event: LiveEventName; at: number; rpcId?: number; method?: string; rpc?: string; status?: string }
  /** The alarms that were active when an alarms subscription started, in chunks; the last has more: false (also when there were none). */
  | { type: 'alarms'; id: string; alarms: Alarm[]; more: boolean }
  /** One change of an alarm (never conflated: every change arrives, or the session ends as too slow). */
  | { type: 'alarm'; id: string; deviceId: string; change: AlarmChange; alarm: Alarm };

/** Bounds of one session (the server config's `ws` section). */
export interface LiveLimits {
  /**
   * Messages a session may have waiting for its socket. Beyond it, updates of latest telemetry, attributes and
   * connectivity are merged into the waiting one of the same subscription, device and key (conflated); an update
   * that cannot be merged (series values, events, alarms, a key with nothing waiting) ends the session as too slow.
   */
  maxQueuedMessages: number;
  maxSubscriptionsPerSession: number;
  /** Stored values a series subscription reads per key before going live; more is refused (choose a later start). */
  maxHistoryPoints: number;
}

export const defaultLiveLimits: LiveLimits = { maxQueuedMessages: 1000, maxSubscriptionsPerSession: 100, maxHistoryPoints: 10_000 };

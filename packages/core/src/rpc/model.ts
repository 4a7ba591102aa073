import type { AttributeDevice } from '../attributes/attribute-service';

/**
 * A command from the platform to one device (the `rpc.request` bus event). Whichever node holds the device's
 * connection delivers it: MQTT on v1/devices/me/rpc/request/{rpcId} as {"method","params"}, or the answer of
 * an HTTP long-poll. The id is the device's handle for the answer.
 */
export interface RpcRequestEvent {
  tenantId: string;
  deviceId: string;
  /** A positive integer, as in ThingsBoard's topics: unique among a device's open calls. */
  rpcId: number;
  method: string;
  params: unknown;
  /** No answer is awaited. */
  oneway: boolean;
  /** Clock ms after which the caller no longer waits: a transport that holds it longer drops it. */
  expiresAt: number;
  /** A stored call: the transport that hands it to the device says so (RpcService.delivered). */
  persistent?: boolean;
}

/** A device's answer to an RPC (the `rpc.response` bus event), to wherever the caller waits. */
export interface RpcResponseEvent {
  tenantId: string;
  deviceId: string;
  rpcId: number;
  /** The answer's JSON, or its text when it is not JSON. */
  response: unknown;
  /** It answered a persistent RPC (whose caller does not wait): not counted as unmatched. */
  persistent?: boolean;
}

/** What a user sends: POST /api/devices/{id}/rpc. */
export interface RpcCallInput {
  method: string;
  params?: unknown;
  /** How long a two-way call waits for the answer (default 10 s). */
  timeoutMs?: number | undefined;
  oneway?: boolean | undefined;
  /** Stored and delivered when the device is reachable, retried until answered or expired; answered at once with its id. */
  persistent?: boolean | undefined;
  /** A persistent call's lifetime (default a day). */
  expiresInMs?: number | undefined;
}

export type RpcCallResult =
  | { rpcId: number; oneway: true }
  | { rpcId: number; oneway: false; response: unknown }
  | { rpcId: number; oneway: boolean; persistent: true; id: string; status: RpcStatus };

/** A platform method a device may call (device-to-server RPC); rules may register more later. */
export type DeviceRpcHandler = (device: AttributeDevice, params: unknown) => unknown;

export interface RpcLimits {
  /** Longest method name (characters). */
  maxMethodLength: number;
  /** Largest params or answer (bytes of JSON). */
  maxParamsBytes: number;
  /** Two-way calls waiting for answers, per device; more are refused (UNAVAILABLE). */
  maxPendingPerDevice: number;
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  /** Sends of a persistent call before it ends TIMEOUT. */
  maxAttempts: number;
  /** Open (QUEUED, SENT, DELIVERED) persistent calls per device; more are refused (LIMIT_REACHED). */
  maxOpenPersistentPerDevice: number;
  defaultExpiresInMs: number;
  maxExpiresInMs: number;
}

export const defaultRpcLimits: RpcLimits = {
  maxMethodLength: 128,
  maxParamsBytes: 65_536,
  maxPendingPerDevice: 100,
  defaultTimeoutMs: 10_000,
  maxTimeoutMs: 600_000,
  maxAttempts: 3,
  maxOpenPersistentPerDevice: 1000,
  defaultExpiresInMs: 86_400_000,
  maxExpiresInMs: 30 * 86_400_000,
};

/**
 * A persistent RPC's lifecycle: QUEUED (stored, not handed to a transport yet) -> SENT (published to the
 * transports) -> DELIVERED (a transport gave it to a live connection of the device) -> SUCCESSFUL (answered).
 * A one-way call is SUCCESSFUL once delivered. TIMEOUT: no answer (one-way: no delivery) within timeoutMs of
 * its last attempt, and no attempt left; EXPIRED: not answered before expiresAt; FAILED: the device's answer was
 * over the size limit of params. An attempt that ends unanswered puts the call back to QUEUED while attempts
 * are left. Each change is an `rpc.lifecycle` event.
 */
export const rpcStatuses = ['QUEUED', 'SENT', 'DELIVERED', 'SUCCESSFUL', 'TIMEOUT', 'EXPIRED', 'FAILED'] as const;
export type RpcStatus = (typeof rpcStatuses)[number];
export const openRpcStatuses: readonly RpcStatus[] = ['QUEUED', 'SENT', 'DELIVERED'];

export interface StoredRpc {
  /** The REST id (GET /api/rpc/{id}). */
  id: string;
  tenantId: string;
  deviceId: string;
  /** The device's handle for the answer (the topic's {id}). */
  rpcId: number;
  method: string;
  params: unknown;
  oneway: boolean;
  status: RpcStatus;
  createdAt: number;
  updatedAt: number;
  /** After this, an unanswered call is EXPIRED and not sent again. */
  expiresAt: number;
  /** How long each attempt waits for the answer. */
  timeoutMs: number;
  /** Attempts made (sends); at most maxAttempts. */
  attempts: number;
  maxAttempts: number;
  /** When the last attempt was sent; null while QUEUED. */
  sentAt: number | null;
  /** The device's answer (SUCCESSFUL, two-way); undefined otherwise. */
  response?: unknown;
  /** Why it ended without an answer; null otherwise. */
  error: string | null;
}

/** When an open RPC next needs the sweeper: its expiry while queued, the end of its attempt once sent. */
export function rpcDueAt(r: Pick<StoredRpc, 'status' | 'expiresAt' | 'sentAt' | 'timeoutMs' | 'oneway'>): number | null {
  if (r.status === 'QUEUED') return r.expiresAt;
  if ((r.status === 'SENT' || r.status === 'DELIVERED') && r.sentAt !== null) return Math.min(r.sentAt + r.timeoutMs, r.expiresAt);
  return null;
}

export type RpcPatch = Partial<Pick<StoredRpc, 'status' | 'updatedAt' | 'attempts' | 'sentAt' | 'response' | 'error'>>;

/** Persistent RPCs (the store port). */
export interface RpcRepo {
  insert(r: StoredRpc): Promise<void>;
  get(id: string): Promise<StoredRpc | undefined>;
  /** The open call of a device with this wire id, if any. */
  findOpen(deviceId: string, rpcId: number): Promise<StoredRpc | undefined>;
  /** A device's calls, newest first (of one creation time: the last stored first). */
  list(q: { deviceId: string; status?: RpcStatus | undefined; limit: number; offset: number }): Promise<{ items: StoredRpc[]; total: number }>;
  /** How many open calls (QUEUED, SENT, DELIVERED) the device has. */
  countOpen(deviceId: string): Promise<number>;
  /** A device's open calls (QUEUED, SENT, DELIVERED), oldest first (of one creation time: as stored): the order they are delivered in. */
  open(deviceId: string): Promise<StoredRpc[]>;
  /** Open calls whose rpcDueAt is at or before `now`, oldest due first, at most `limit`. */
  due(now: number, limit: number): Promise<StoredRpc[]>;
  /** Applies the patch only while the call's status is one of `from` (atomically); true when it did. */
  transition(id: string, from: readonly RpcStatus[], patch: RpcPatch): Promise<boolean>;
  delete(id: string): Promise<boolean>;
}

/** The `rpc.lifecycle` bus event: a persistent RPC changed status (or was deleted). */
export interface RpcLifecycleEvent {
  tenantId: string;
  deviceId: string;
  id: string;
  rpcId: number;
  status: RpcStatus | 'DELETED';
  at: number;
}

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
}

/** A device's answer to an RPC (the `rpc.response` bus event), to wherever the caller waits. */
export interface RpcResponseEvent {
  tenantId: string;
  deviceId: string;
  rpcId: number;
  /** The answer's JSON, or its text when it is not JSON. */
  response: unknown;
}

/** What a user sends: POST /api/devices/{id}/rpc. */
export interface RpcCallInput {
  method: string;
  params?: unknown;
  /** How long a two-way call waits for the answer (default 10 s). */
  timeoutMs?: number | undefined;
  oneway?: boolean | undefined;
}

export type RpcCallResult = { rpcId: number; oneway: true } | { rpcId: number; oneway: false; response: unknown };

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
}

export const defaultRpcLimits: RpcLimits = {
  maxMethodLength: 128,
  maxParamsBytes: 65_536,
  maxPendingPerDevice: 100,
  defaultTimeoutMs: 10_000,
  maxTimeoutMs: 600_000,
};

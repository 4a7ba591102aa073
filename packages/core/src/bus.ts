import type { TelemetryPoint } from './telemetry/model';

/** Events other parts of the platform consume. The in-process adapter lives in server; NATS comes later. */
export interface BusEvents {
  telemetry: { deviceId: string; tenantId: string; points: readonly TelemetryPoint[] };
  'device.created': { deviceId: string; tenantId: string };
  'device.deleted': { deviceId: string; tenantId: string };
  'device.credentials': { deviceId: string; tenantId: string };
  /** An API key was revoked: connections authenticated with it end. */
  'apikey.revoked': { keyId: string; userId: string; tenantId: string };
  /** A user's access changed (role changed, disabled, deleted): connections acting for them end. */
  'user.access': { userId: string; tenantId: string; change: 'role' | 'disabled' | 'deleted' };
  /** A tenant was deleted with everything in it. */
  'tenant.deleted': { tenantId: string };
}

export interface EventBus {
  publish<K extends keyof BusEvents>(topic: K, event: BusEvents[K]): void;
  subscribe<K extends keyof BusEvents>(topic: K, handler: (event: BusEvents[K]) => void): () => void;
}

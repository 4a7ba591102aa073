export interface DeviceProfile {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  /** Free-form defaults that later features (transport settings, alarms, retention) extend. */
  defaultSettings: Record<string, unknown>;
  /** A device of this profile with no message for this long is inactive (devices/connectivity.ts). */
  inactivityTimeoutSec: number;
  isDefault: boolean;
  createdAt: number;
}

export interface Device {
  id: string;
  tenantId: string;
  profileId: string;
  name: string;
  label: string;
  metadata: Record<string, unknown>;
  createdAt: number;
  /** A gateway connects other devices (its children) over its own MQTT connection (ThingsBoard's additionalInfo.gateway). */
  gateway: boolean;
  /** The gateway this device was created by and is reached through; null for a device on its own. */
  gatewayId: string | null;
}

export type DeviceCredentials =
  | { deviceId: string; type: 'access-token'; accessToken: string }
  | { deviceId: string; type: 'mqtt-basic'; clientId: string | null; username: string | null; passwordHash: string | null };

/** The inactivity timeout of a profile that names none, as ThingsBoard's default (10 minutes). */
export const defaultInactivityTimeoutSec = 600;
/** Up to 30 days: a device reporting daily or weekly still fits; longer silences are better seen as offline. */
export const maxInactivityTimeoutSec = 30 * 24 * 3600;

export interface DeviceProfile {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  /** Free-form defaults that later features (transport settings, alarms, retention) extend. */
  defaultSettings: Record<string, unknown>;
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

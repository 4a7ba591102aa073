export const roles = ['admin', 'tenant-admin', 'viewer'] as const;
/** admin: the whole system; tenant-admin: everything in one tenant; viewer: read-only in one tenant. */
export type Role = (typeof roles)[number];

export interface Tenant {
  id: string;
  name: string;
  createdAt: number;
}

export interface User {
  id: string;
  /** The user's tenant; a system admin's home tenant is the default tenant. */
  tenantId: string;
  email: string;
  role: Role;
  passwordHash: string;
  /** A disabled user cannot log in, and their tokens, API keys and MQTT connections stop working. */
  disabled: boolean;
  createdAt: number;
}

export interface ApiKey {
  id: string;
  tenantId: string;
  userId: string;
  name: string;
  /** The first characters of the key, shown in lists so a user can tell keys apart. */
  prefix: string;
  /** SHA-256 of the secret part; keys are random 256-bit values, so a fast hash suffices. */
  secretHash: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface RefreshToken {
  id: string;
  userId: string;
  /** The id of the first token of its login: every token exchanged from it shares the family. */
  familyId: string;
  secretHash: string;
  expiresAt: number;
  revokedAt: number | null;
}

/** Who is calling: resolved by the transport from a JWT or API key, checked by every core service. */
export interface Principal {
  userId: string;
  tenantId: string;
  role: Role;
  via: 'jwt' | 'api-key';
  /** The API key used, when via is 'api-key' (revoking it ends connections made with it). */
  apiKeyId?: string;
  /** Clock ms when the access token (via 'jwt') expires: long-lived connections made with it end then. */
  expiresAt?: number;
}

import type { Role } from './model';

export interface AccessClaims {
  userId: string;
  tenantId: string;
  role: Role;
  /** Clock ms when the token expires (set by verify). */
  expiresAt?: number;
}

/** Signs and verifies short-lived access tokens (JWT); implemented in server with a JOSE library. */
export interface AccessTokenSigner {
  sign(claims: AccessClaims, ttlSec: number): Promise<string>;
  /** Rejects for a bad signature, an expired token or malformed claims. */
  verify(token: string): Promise<AccessClaims>;
}

import type { AccessClaims, AccessTokenSigner, Role } from '@thingstead/core';
import { jwtVerify, SignJWT } from 'jose';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const roles: readonly string[] = ['admin', 'tenant-admin', 'viewer'];
const issuer = 'thingstead';

/** HS256 access tokens (jose). */
export function jwtSigner(secret: string): AccessTokenSigner {
  // One CryptoKey for every token: given the raw bytes, jose imports a key per call (about a tenth of the
  // server's CPU under REST load).
  const keyPromise = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  return {
    sign: async (c, ttlSec) =>
      await new SignJWT({ tid: c.tenantId, role: c.role })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(c.userId)
        .setIssuer(issuer)
        .setIssuedAt()
        .setExpirationTime(`${ttlSec}s`)
        .sign(await keyPromise),
    verify: async (token): Promise<AccessClaims> => {
      // jose checks exp only when present; a token without one would be good forever.
      const { payload } = await jwtVerify(token, await keyPromise, { issuer, algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
      const { sub, tid, role, exp } = payload;
      if (typeof sub !== 'string' || typeof tid !== 'string' || typeof role !== 'string' || !roles.includes(role) || typeof exp !== 'number')
        throw new Error('malformed claims');
      return { userId: sub, tenantId: tid, role: role as Role, expiresAt: exp * 1000 };
    },
  };
}

/** The configured secret, or one generated on first start and kept (mode 0600) in the data dir. */
export function loadOrCreateSecret(dataDir: string, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  // The mode above is masked by the umask; set it exactly.
  chmodSync(file, 0o600);
  return secret;
}

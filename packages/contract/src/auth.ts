import { Type, type Static } from '@sinclair/typebox';
import { User } from './accounts';

/** Login and refresh. */
export const LoginBody = Type.Object({ email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
export const RefreshBody = Type.Object({ refreshToken: Type.String({ maxLength: 512 }) }, { additionalProperties: false });
export const Session = Type.Object({
  token: Type.String({ description: 'Access token (JWT); send as Authorization: Bearer <token>' }),
  refreshToken: Type.String({ description: 'Single-use; exchange at POST /api/auth/refresh for a new session' }),
  expiresInSec: Type.Integer(),
  user: User,
});
export type Session = Static<typeof Session>;
/** GET /api/auth/me: the calling user, and how it authenticated. */
export const Me = Type.Object({ user: User, via: Type.String() });

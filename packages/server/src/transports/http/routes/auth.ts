import { LoginBody, Me, RefreshBody, Session } from '@thingstead/contract';
import type { Core } from '@thingstead/core';
import { principalOf } from '../auth';
import { bearer, replies, type App } from '../typed';

export function publicAuthRoutes(app: App, core: Core): void {
  app.post(
    '/api/auth/login',
    { schema: { tags: ['auth'], summary: 'Log in; returns an access token and a refresh token', body: LoginBody, response: replies(Session) } },
    async (req) => core.auth.login(req.body.email, req.body.password, req.ip),
  );
  app.post(
    '/api/auth/refresh',
    { schema: { tags: ['auth'], summary: 'Exchange a refresh token (single use) for a new session', body: RefreshBody, response: replies(Session) } },
    async (req) => core.auth.refresh(req.body.refreshToken),
  );
  app.post(
    '/api/auth/logout',
    { schema: { tags: ['auth'], summary: 'Revoke a refresh token', body: RefreshBody, response: replies(null, 204) } },
    async (req, reply) => {
      await core.auth.logout(req.body.refreshToken);
      return reply.status(204).send();
    },
  );
}

export function authRoutes(app: App, core: Core): void {
  app.get('/api/auth/me', { schema: { tags: ['auth'], summary: 'The calling user', security: bearer, response: replies(Me) } }, async (req) => {
    const p = principalOf(req);
    return { user: await core.users.get(p, p.userId), via: p.via };
  });
}

import { fail, type Core, type Principal } from '@thingstead/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * Resolves the caller for every route registered in `scope`: Authorization: Bearer <JWT or API key>, or
 * X-API-Key: <key>. Core services then check tenant and role themselves.
 */
export function requireAuthentication(scope: FastifyInstance, core: Core): void {
  scope.decorateRequest('principal', null);
  scope.addHook('onRequest', async (req) => {
    const header = req.headers.authorization;
    const apiKey = req.headers['x-api-key'];
    let credential: string | undefined;
    if (typeof header === 'string' && /^bearer\s+/i.test(header)) credential = header.replace(/^bearer\s+/i, '').trim();
    else if (typeof apiKey === 'string') credential = apiKey.trim();
    if (!credential) return fail('UNAUTHENTICATED');
    req.principal = await core.auth.authenticate(credential);
  });
}

export function principalOf(req: FastifyRequest): Principal {
  return req.principal ?? fail('UNAUTHENTICATED');
}

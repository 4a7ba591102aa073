import helmet from '@fastify/helmet';
import type { App } from './typed';

export interface SecurityHeadersOptions {
  /** Strict-Transport-Security max-age on responses over HTTPS; 0 sends none (config https.hstsMaxAgeSec). */
  hstsMaxAgeSec: number;
}

/**
 * Security headers on every response the app sends (@fastify/helmet, an onRequest hook, so 404s, errors and the
 * shutdown's 503s get them too; register it before any other hook). The content security policy is the one
 * the swagger UI at /api/docs needs and no more: its page loads only same-origin scripts and styles
 * (no inline script, checked by security-headers.test.ts), and inline styles, which swagger-ui sets.
 */
export async function installSecurityHeaders(app: App, o: SecurityHeadersOptions): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        // No upgrade-insecure-requests: plain HTTP is still served, often with no HTTPS on that host:port, and a
        // page opened over http:// would then fail to load its own scripts.
      },
    },
    // Frames are refused by frame-ancestors above; X-Frame-Options for browsers without CSP level 2.
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // HSTS is sent over HTTPS only (below): over plain HTTP a browser ignores it (RFC 6797 §8.1), and it must not
    // suggest that plain HTTP is protected.
    strictTransportSecurity: false,
  });
  if (o.hstsMaxAgeSec === 0) return;
  // No includeSubDomains: this server does not know what else runs under its domain.
  const hsts = `max-age=${o.hstsMaxAgeSec}`;
  app.addHook('onRequest', async (req, reply) => {
    // req.protocol is 'https' over the HTTPS listener, and behind a TLS-terminating proxy with http.trustProxy
    // (X-Forwarded-Proto): in both cases the browser reached this server over HTTPS.
    if (req.protocol === 'https') reply.raw.setHeader('strict-transport-security', hsts);
  });
}

import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { App } from './typed';

/** Where `npm install` (the root package's prepare script) builds the console: packages/web/dist. */
export const consoleDir = fileURLToPath(new URL('../../../../web/dist/', import.meta.url));

/**
 * Serves the web console (packages/web, a Vite build) at `/`: index.html is revalidated on every load, the hashed
 * assets under /assets are cached for a year. The console routes by the location hash, so `/` is its only page.
 * When it was not built, `/` says how to build it instead of a bare 404.
 */
export async function consoleRoutes(app: App, dir = consoleDir): Promise<void> {
  if (!existsSync(`${dir}index.html`)) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send(
          'The Thingstead console is not built. Run `npm run build -w @thingstead/web` (npm install does it), then restart.\nThe API is served at /api/docs.\n',
        ),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    setHeaders: (res, path) => {
      res.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

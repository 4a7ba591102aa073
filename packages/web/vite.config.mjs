// Builds the console into dist/, which the server serves at / (packages/server/src/transports/http/console.ts).
// `npm run dev -w @thingstead/web` proxies /api to a server on THINGSTEAD_URL (default http://127.0.0.1:8080).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const target = process.env.THINGSTEAD_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/api': { target, ws: true } } },
});

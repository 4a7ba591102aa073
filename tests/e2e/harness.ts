import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../packages/server/src/config/load';
import { startThingstead, type Thingstead } from '../../packages/server/src/main';

export const adminEmail = 'admin@example.com';
export const adminPassword = 'correct horse battery staple';

export interface Harness {
  app: Thingstead;
  url: string;
  dataDir: string;
  /** Sends a request; JSON bodies are encoded unless `raw` is given. */
  call(
    method: string,
    path: string,
    o?: { token?: string; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  login(email?: string, password?: string): Promise<string>;
  /** Creates a device as the caller of `token` and reads its access token. */
  createDevice(token: string, name: string): Promise<{ id: string; accessToken: string }>;
  /** Stops Thingstead and starts it again on the same data directory (ports may change). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A real Thingstead on a free port with its own data directory. */
export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'thingstead-e2e-'));
  const config = loadConfig({
    env: {
      THINGSTEAD_DATA_DIR: dataDir,
      THINGSTEAD_HTTP_PORT: '0',
      THINGSTEAD_HOST: '127.0.0.1',
      THINGSTEAD_ADMIN_EMAIL: adminEmail,
      THINGSTEAD_ADMIN_PASSWORD: adminPassword,
      THINGSTEAD_STORAGE_SQLITE_SYNCHRONOUS: 'normal',
      THINGSTEAD_MQTT_PORT: '0',
      ...env,
    },
    cwd: dataDir,
  });
  const start = () => startThingstead(config, { logger: pino({ level: 'silent' }) });
  let app = await start();
  let url = `http://127.0.0.1:${app.httpPort}`;
  const call: Harness['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | Buffer | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + path, body === undefined ? { method, headers } : { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text.length > 0) parsed = JSON.parse(text);
    return { status: res.status, body: parsed, headers: res.headers };
  };
  const h: Harness = {
    app,
    url,
    dataDir,
    call,
    login: async (email = adminEmail, password = adminPassword) => {
      const r = await call('POST', '/api/auth/login', { body: { email, password } });
      if (r.status !== 200) throw new Error(`login ${email} failed: ${r.status} ${JSON.stringify(r.body)}`);
      return (r.body as { token: string }).token;
    },
    createDevice: async (token, name) => {
      const created = await call('POST', '/api/devices', { token, body: { name } });
      if (created.status !== 201) throw new Error(`creating device ${name} failed: ${created.status} ${JSON.stringify(created.body)}`);
      const id = (created.body as { id: string }).id;
      const accessToken = ((await call('GET', `/api/devices/${id}/credentials`, { token })).body as { accessToken: string }).accessToken;
      return { id, accessToken };
    },
    restart: async () => {
      await app.close();
      app = await start();
      url = `http://127.0.0.1:${app.httpPort}`;
      h.app = app;
      h.url = url;
    },
    stop: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

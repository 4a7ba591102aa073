// kill -9 under load: devices publish QoS 1 stop-and-wait (half with ts, half without), the server is killed,
// restarted, and every acknowledged value must be stored and readable. Usage: node --import tsx tests/crash/kill9-under-load.ts [devices] [ms]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { crash, listening, startCli } from '../e2e/cli-process';

const devices = Number(process.argv[2] ?? 50);
const loadMs = Number(process.argv[3] ?? 4000);
const env = {
  THINGSTEAD_DATA_DIR: mkdtempSync(join(tmpdir(), 'kill9-')),
  THINGSTEAD_HOST: '127.0.0.1',
  THINGSTEAD_HTTP_PORT: '0',
  THINGSTEAD_MQTT_PORT: '0',
  THINGSTEAD_ADMIN_EMAIL: 'admin@example.com',
  THINGSTEAD_ADMIN_PASSWORD: 'correct horse battery staple',
  THINGSTEAD_LOG_LEVEL: 'info',
};
let run = startCli(env);
let p = await listening(run);
const api = async (method: string, path: string, token?: string, body?: unknown) => {
  const r = await fetch(`http://127.0.0.1:${p.httpPort}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await r.json()) as any;
};
const login = async () =>
  (await api('POST', '/api/auth/login', undefined, { email: env.THINGSTEAD_ADMIN_EMAIL, password: env.THINGSTEAD_ADMIN_PASSWORD })).token as string;
let token = await login();
const devs: { id: string; acked: number[] }[] = [];
const clients: mqtt.MqttClient[] = [];
for (let i = 0; i < devices; i++) {
  const id = (await api('POST', '/api/devices', token, { name: `k9-${i}` })).id as string;
  const accessToken = (await api('GET', `/api/devices/${id}/credentials`, token)).accessToken as string;
  devs.push({ id, acked: [] });
  clients.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${p.mqttPort}`, { username: accessToken, reconnectPeriod: 0, protocolVersion: i % 2 ? 5 : 4 }));
}
let stop = false;
const base = Date.now() - 3_600_000;
const loops = devs.map(async (d, i) => {
  const c = clients[i]!;
  c.on('error', () => undefined);
  for (let n = 0; !stop; n++) {
    const withTs = n % 2 === 0;
    const payload = withTs ? { ts: base + n, values: { n } } : { n };
    try {
      await c.publishAsync('v1/devices/me/telemetry', JSON.stringify(payload), { qos: 1 });
      d.acked.push(n);
    } catch {
      return;
    }
  }
});
await new Promise((r) => setTimeout(r, loadMs));
await crash(run);
stop = true;
for (const c of clients) c.end(true);
await Promise.all(loops);
run = startCli(env);
p = await listening(run);
token = await login();
let acked = 0;
let missing = 0;
for (const d of devs) {
  const r = await api('GET', `/api/devices/${d.id}/telemetry?keys=n&limit=100000&to=${Date.now() + 3_600_000}&from=0`, token);
  const stored = new Set(((r.data?.n ?? []) as { value: number }[]).map((x) => x.value));
  acked += d.acked.length;
  for (const n of d.acked) if (!stored.has(n)) missing++;
}
console.log(`devices ${devices}, acknowledged ${acked}, missing after kill -9: ${missing}`);
run.child.kill('SIGTERM');
await run.exit;
process.exit(missing === 0 ? 0 : 1);

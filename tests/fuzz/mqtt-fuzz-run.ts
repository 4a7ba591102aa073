// The long MQTT fuzz run (issue 6): `npm run fuzz -- --duration-sec 600 --seed 1`.
//
// Starts the whole platform (startThingstead, as tests/e2e/harness.ts does) and the standalone
// broker in this process, creates a tenant device over REST, and fuzzes over real TCP, several
// sockets at once: the platform with the device's access token as MQTT user name, the platform
// with unknown or no credentials, and the standalone broker with anonymous clients (two
// well-behaved subscribers to '#' stay connected to it throughout). It prints iterations,
// connections, crashes, RSS and heap at the start, every minute and at the end, and exits 1 on
// a crash (uncaught exception or unhandled rejection), a connection the broker did not close, a
// reply that did not parse, an exception the broker had to contain, or heap growth beyond the bound.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startStandaloneBroker } from '../../packages/broker/src/standalone';
import { FuzzWatcher, heapUsedAfterGc, runFuzz, type FuzzReport, type FuzzTarget } from '../../packages/broker/src/testing/fuzz';
import { loadConfig } from '../../packages/server/src/config/load';
import { startThingstead } from '../../packages/server/src/main';

const { values } = parseArgs({
  options: {
    'duration-sec': { type: 'string', default: '600' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
    'max-heap-growth-mb': { type: 'string', default: '64' },
  },
});
const durationSec = Number(values['duration-sec']);
const seed = Number(values.seed);
const concurrency = Number(values.concurrency);
const maxGrowthMb = Number(values['max-heap-growth-mb']);
if (![durationSec, seed, concurrency, maxGrowthMb].every(Number.isFinite)) {
  process.stderr.write('usage: npm run fuzz -- [--duration-sec 600] [--seed 1] [--concurrency 8] [--max-heap-growth-mb 64]\n');
  process.exit(2);
}

const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MiB`;
const log = (line: string): void => {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
};
function memory(label: string, heap = heapUsedAfterGc()): number {
  log(`${label}: rss ${mb(process.memoryUsage().rss)}, heap after gc ${mb(heap)}`);
  return heap;
}

function tcp(port: number): () => Promise<Socket> {
  return () =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(socket);
      });
      socket.once('error', reject);
    });
}

const dataDir = mkdtempSync(join(tmpdir(), 'thingstead-fuzz-'));
const admin = { email: 'admin@example.com', password: 'correct horse battery staple' };
const config = loadConfig({
  env: {
    THINGSTEAD_DATA_DIR: dataDir,
    THINGSTEAD_HOST: '127.0.0.1',
    THINGSTEAD_HTTP_PORT: '0',
    THINGSTEAD_MQTT_PORT: '0',
    THINGSTEAD_ADMIN_EMAIL: admin.email,
    THINGSTEAD_ADMIN_PASSWORD: admin.password,
    THINGSTEAD_STORAGE_SQLITE_SYNCHRONOUS: 'normal',
  },
  cwd: dataDir,
});
const app = await startThingstead(config, { logger: pino({ level: 'silent' }) });
const http = `http://127.0.0.1:${app.httpPort}`;
const api = async (method: string, path: string, token?: string, body?: unknown): Promise<any> => {
  const res = await fetch(http + path, {
    method,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.headers.get('content-type')?.includes('json') === true ? res.json() : res.text();
};
const { token } = (await api('POST', '/api/auth/login', undefined, admin)) as { token: string };
const device = (await api('POST', '/api/devices', token, { name: 'fuzz-device' })) as { id: string };
const { accessToken } = (await api('GET', `/api/devices/${device.id}/credentials`, token)) as { accessToken: string };
const platformMetric = async (name: string): Promise<number> => {
  const text = (await api('GET', '/metrics')) as string;
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+(?:\\.\\d+)?)`, 'm').exec(text);
  return m === null ? Number.NaN : Number(m[1]);
};

const standalone = await startStandaloneBroker({ port: 0, host: '127.0.0.1', allowAnonymous: true, limits: { maxPacketBytes: 64 * 1024 } });
const platformPort = app.mqttPorts?.tcp ?? 0;
// Telemetry four times: most device messages go through ingest and group commit.
const deviceTopics = [
  ...Array.from({ length: 4 }, () => 'v1/devices/me/telemetry'),
  'v1/devices/me/attributes',
  'v1/devices/me/attributes/request/1',
  'v1/devices/me/rpc/request/1',
  'v1/devices/me/rpc/response/1',
  'v2/fw/request/1/chunk/0',
  'v1/gateway/telemetry',
  'a/b',
];
const deviceFilters = [
  'v1/devices/me/attributes',
  'v1/devices/me/attributes/response/+',
  'v1/devices/me/rpc/request/+',
  'v2/fw/response/+/chunk/+',
  '#',
  'tenants/+/devices/+/telemetry',
];
const targets: FuzzTarget[] = [
  { name: 'platform-device', open: tcp(platformPort), corpus: { username: accessToken, topics: deviceTopics, filters: deviceFilters, clientIdPrefix: 'dev' } },
  { name: 'platform-device', open: tcp(platformPort), corpus: { username: accessToken, topics: deviceTopics, filters: deviceFilters, clientIdPrefix: 'dev' } },
  { name: 'platform-unknown-token', open: tcp(platformPort), corpus: { username: 'not-a-token', topics: deviceTopics, filters: deviceFilters } },
  { name: 'platform-anonymous', open: tcp(platformPort), corpus: { topics: deviceTopics, filters: deviceFilters } },
  { name: 'standalone-anonymous', open: tcp(standalone.port) },
  { name: 'standalone-anonymous', open: tcp(standalone.port) },
];
const watchers = [
  new FuzzWatcher({ open: tcp(standalone.port), version: 5, clientId: 'watch-5', filters: ['#'] }),
  new FuzzWatcher({ open: tcp(standalone.port), version: 4, clientId: 'watch-4', filters: ['#', '$SYS/#'] }),
];
for (const w of watchers) await w.start();

log(
  `fuzzing for ${durationSec} s, seed ${seed}, ${concurrency} sockets: platform mqtt://127.0.0.1:${platformPort} (device ${device.id}), standalone mqtt://127.0.0.1:${standalone.port}`,
);
const heapStart = memory('start');
let minute = 0;
const report: FuzzReport = await runFuzz({
  seed,
  durationMs: durationSec * 1000,
  concurrency,
  closeTimeoutMs: 10_000,
  targets,
  progressMs: 60_000,
  onProgress: (r) => {
    minute++;
    memory(
      `minute ${minute}: ${r.iterations} iterations, ${r.connections} connections, ${r.crashes} crashes, ${r.hung} hung, ${r.malformedReplies} malformed replies`,
    );
  },
});
for (const w of watchers) await w.stop();

// Every connection is over: the brokers are back to no connection at all.
for (let i = 0; i < 100 && ((await platformMetric('thingstead_mqtt_clients_connected')) > 0 || standalone.broker.stats().connections > 0); i++) {
  await new Promise((r) => setTimeout(r, 100));
}
// Persistent sessions of the pooled client ids (3.1.1 ones never expire) are state, not leaks: end them
// with Clean Start, and let the short v5 session expiries of the corpus run out.
await new Promise((r) => setTimeout(r, 6000));
for (const { clientId: id } of standalone.broker.listSessions()) {
  const s = await tcp(standalone.port)();
  s.resume();
  s.end(Buffer.from([0x10, 12 + id.length, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00, 0x00, id.length, ...Buffer.from(id), 0xe0, 0x00]));
  await new Promise((r) => s.once('close', r));
}
const platformConnected = await platformMetric('thingstead_mqtt_clients_connected');
const platformSessions = await platformMetric('thingstead_mqtt_sessions');
const platformAccepted = await platformMetric('thingstead_mqtt_messages_received_total');
const platformTelemetry = await platformMetric('thingstead_telemetry_messages_total{transport="mqtt"}');
const platformErrors = await platformMetric('thingstead_mqtt_client_errors_total');
const standaloneStats = standalone.broker.stats();
const heapEnd = memory('end');
const growth = heapEnd - heapStart;

log(
  `iterations ${report.iterations}, connections ${report.connections}, bytes sent ${report.bytes}, crashes ${report.crashes}, hung ${report.hung}, malformed replies ${report.malformedReplies}`,
);
log(
  `platform: PUBLISH received ${platformAccepted}, telemetry messages committed ${platformTelemetry}, clients connected ${platformConnected}, sessions ${platformSessions}, contained client errors ${platformErrors}; standalone: connections ${standaloneStats.connections}, sessions ${standaloneStats.sessions}, contained client errors ${standaloneStats.clientErrors}`,
);
log(`watchers: ${watchers.map((w) => `received ${w.received}, disconnects ${w.disconnects}, problems ${w.problems.length}`).join('; ')}`);
log(`heap growth ${mb(growth)} (bound ${maxGrowthMb} MiB)`);
for (const f of report.findings.slice(0, 10))
  log(
    `finding ${f.kind}: ${f.detail.split('\n').slice(0, 4).join(' | ')}; cases ${f.cases.map((c) => `${c.target}#${c.index} ${c.hex.slice(0, 160)}`).join(', ')}`,
  );

const failures = [
  report.crashes > 0 && `${report.crashes} crashes`,
  report.hung > 0 && `${report.hung} connections not closed`,
  report.malformedReplies > 0 && `${report.malformedReplies} malformed replies`,
  platformErrors > 0 && `${platformErrors} exceptions contained by the platform broker`,
  standaloneStats.clientErrors > 0 && `${standaloneStats.clientErrors} exceptions contained by the standalone broker`,
  platformConnected > 0 && `${platformConnected} platform connections left`,
  standaloneStats.connections > 0 && `${standaloneStats.connections} standalone connections left`,
  watchers.some((w) => w.disconnects > 0 || w.problems.length > 0) && 'a watcher was disconnected or saw a bad reply',
  growth > maxGrowthMb * 1_048_576 && `heap grew by ${mb(growth)}`,
].filter((f): f is string => typeof f === 'string');

await standalone.close();
await app.close();
rmSync(dataDir, { recursive: true, force: true });
if (failures.length > 0) {
  log(`FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
log('ok: no crash, every connection closed, memory flat');
process.exit(0);

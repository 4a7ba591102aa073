// Does an offline application slow a tenant's device ingest? (issue 6: with one viewer's offline persistent
// session subscribed to its tenant's telemetry, 1,000 QoS 1 device messages took 3.9-4.7 s instead of 66 ms.)
//
//   node --import tsx bench/ingest/offline-apps.ts [--sessions 0,1,21] [--messages 3000] [--runs 3] [--synchronous normal|full]
//
// Each run starts a fresh platform (in this process: the figure is a ratio of the same work with and without
// subscribers, side by side), creates N persistent application sessions subscribed to the tenant's telemetry
// and disconnects them, then one device publishes --messages QoS 1 messages in windows of 500 (each window
// waits for its PUBACKs), so the offline queues (mqtt.maxQueuedMessages, 1,000) fill and then drop. Reports
// the time to the last PUBACK per session count, medians over runs, and checks stored == acknowledged.
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { startHarness } from '../../tests/e2e/harness';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '0,1,21' },
    messages: { type: 'string', default: '3000' },
    runs: { type: 'string', default: '3' },
    synchronous: { type: 'string', default: 'normal' },
  },
});
const counts = values.sessions.split(',').map(Number);
const messages = Number(values.messages);
const runs = Number(values.runs);

async function once(sessions: number): Promise<number> {
  // storage.sqliteSynchronous for thingstead.db and broker.db alike (the harness's default is normal).
  const h = await startHarness({ THINGSTEAD_STORAGE_SQLITE_SYNCHRONOUS: values.synchronous });
  try {
    const token = await h.login();
    const tenantId = (await h.call('GET', '/api/auth/me', { token })).body.user.tenantId as string;
    const id = (await h.call('POST', '/api/devices', { token, body: { name: 'meter' } })).body.id as string;
    const deviceToken = (await h.call('GET', `/api/devices/${id}/credentials`, { token })).body.accessToken as string;
    const key = (await h.call('POST', '/api/api-keys', { token, body: { name: 'viewer' } })).body.key as string;
    const url = `mqtt://127.0.0.1:${h.app.mqttPorts!.tcp}`;
    for (let i = 0; i < sessions; i++) {
      const c = await mqtt.connectAsync(url, {
        protocolVersion: 5,
        username: key,
        clientId: `viewer-${i}`,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
        reconnectPeriod: 0,
      });
      await c.subscribeAsync(`tenants/${tenantId}/devices/+/telemetry`, { qos: 1 });
      await c.endAsync();
    }
    const dev = await mqtt.connectAsync(url, { username: deviceToken, clientId: 'meter', reconnectPeriod: 0 });
    const t0 = performance.now();
    for (let i = 0; i < messages; i += 500) {
      const window = [];
      for (let j = i; j < Math.min(messages, i + 500); j++)
        window.push(dev.publishAsync('v1/devices/me/telemetry', JSON.stringify({ ts: 1_700_000_000_000 + j, values: { v: j } }), { qos: 1 }));
      await Promise.all(window);
    }
    const ms = performance.now() - t0;
    await dev.endAsync();
    const stored = (await h.call('GET', `/api/devices/${id}/telemetry?keys=v&limit=100000&from=0`, { token })).body.data.v as unknown[];
    if (stored.length !== messages) throw new Error(`acknowledged ${messages}, stored ${stored.length}`);
    return ms;
  } finally {
    await h.stop();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const results = new Map<number, number[]>(counts.map((n) => [n, []]));
for (let r = 0; r < runs; r++) {
  for (const n of counts) {
    const ms = await once(n);
    results.get(n)?.push(ms);
    console.log(`run ${r + 1}: ${n} offline sessions: ${messages} QoS 1 messages acknowledged (and stored) in ${ms.toFixed(0)} ms`);
  }
}
const base = median(results.get(counts[0] ?? 0) ?? []);
console.log('\n| offline application sessions | time to the last PUBACK (median) | vs first row |\n|--:|--:|--:|');
for (const [n, xs] of results) console.log(`| ${n} | ${median(xs).toFixed(0)} ms | ${(median(xs) / base).toFixed(2)}x |`);
process.exit(0);

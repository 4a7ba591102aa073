// Live API fan-out: N WebSocket subscribers (/api/ws), each subscribed to the latest telemetry of every device of
// the tenant (a filter), while M devices publish over MQTT QoS 1 at a fixed rate. Reports the updates delivered
// per second against those expected (N x M x rate), the latency from publish to a subscriber's receipt
// (p50/p99/max), and what the server conflated. A benchmark, not a test: it prints figures and asserts nothing.
//
//   node --import tsx bench/ws/fanout.ts [--subscribers 50] [--devices 100] [--rate 2] [--seconds 10] [--warmup 2]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startServer } from '../ingest/server-process';
import { fmtInt, fmtMs, int, quantile } from '../ingest/stats';
import { installCleanup } from '../lib/child-cleanup';

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string' },
    devices: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
  },
});
const N = int('subscribers', args.subscribers, 50);
const M = int('devices', args.devices, 100);
const rate = int('rate', args.rate, 2);
const seconds = int('seconds', args.seconds, 10);
const warmup = int('warmup', args.warmup, 2, 0);

installCleanup();
const server = await startServer({ repoRoot: new URL('../..', import.meta.url).pathname, env: {}, timeoutMs: 30_000 });
const http = `http://127.0.0.1:${server.httpPort}`;
const call = async (method: string, path: string, token: string | undefined, body?: unknown): Promise<any> => {
  const res = await fetch(http + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
};

try {
  const token = ((await call('POST', '/api/auth/login', undefined, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })) as { token: string }).token;
  const tokens: string[] = [];
  for (let i = 0; i < M; i++) {
    const d = (await call('POST', '/api/devices', token, { name: `fanout-${i}` })) as { id: string };
    tokens.push(((await call('GET', `/api/devices/${d.id}/credentials`, token)) as { accessToken: string }).accessToken);
  }

  // Subscribers: latency samples only after the warm-up.
  let measuring = false;
  let delivered = 0;
  const samples = new Float64Array(Math.max(1, N * M * rate * (seconds + 1)));
  let nSamples = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: N },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/api/ws`, { headers: { authorization: `Bearer ${token}` } });
          ws.on('message', (data: Buffer) => {
            const m = JSON.parse(data.toString('utf8')) as { type: string; values?: Record<string, { value: unknown }> };
            if (m.type === 'subscribed') resolve(ws);
            if (m.type !== 'telemetry' || !measuring) return;
            delivered++;
            const sent = m.values?.s?.value;
            if (typeof sent === 'number' && nSamples < samples.length) samples[nSamples++] = performance.now() - sent;
          });
          ws.once('open', () => {
            ws.send(JSON.stringify({ type: 'subscribe', id: 'all', kind: 'telemetry', target: { filter: {} } }));
          });
          ws.once('error', reject);
        }),
    ),
  );
  const devices = await Promise.all(
    tokens.map((username) => mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { username, reconnectPeriod: 0, protocolVersion: 4 })),
  );

  // Publishers: every ~1 ms tick sends the messages due since the start, round-robin over the devices.
  const total = M * rate * (warmup + seconds);
  const start = performance.now();
  let sent = 0;
  let measureStart = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - start) / 1000;
      if (!measuring && elapsed >= warmup) {
        measuring = true;
        measureStart = performance.now();
      }
      const due = Math.min(total, Math.floor(elapsed * M * rate));
      for (; sent < due; sent++) {
        const c = devices[sent % M]!;
        c.publish('v1/devices/me/telemetry', JSON.stringify({ s: performance.now(), n: sent }), { qos: 1 });
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  // Let what is in flight arrive (bounded), then stop counting.
  await new Promise((r) => setTimeout(r, 1000));
  measuring = false;
  const measuredSec = (performance.now() - measureStart) / 1000;
  const metrics = await (await fetch(`${http}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1] ?? Number.NaN);
  const expected = N * M * rate;
  console.log(`live API fan-out: ${N} subscribers x ${M} devices x ${rate} msg/s (MQTT QoS 1), ${seconds} s after ${warmup} s warm-up`);
  console.log(`  updates expected   ${fmtInt(expected)}/s`);
  // Updates of the measured window that arrive within 1 s after it count for it.
  console.log(
    `  updates delivered  ${fmtInt(delivered / seconds)}/s (${fmtInt(delivered)} of ${fmtInt(expected * seconds)} expected, received within ${measuredSec.toFixed(1)} s)`,
  );
  console.log(
    `  latency ms         p50 ${fmtMs(quantile(samples, nSamples, 0.5))}  p99 ${fmtMs(quantile(samples, nSamples, 0.99))}  max ${fmtMs(quantile(samples, nSamples, 1))}  (${fmtInt(nSamples)} samples)`,
  );
  console.log(
    `  server             ws messages sent ${fmtInt(metric('thingstead_ws_messages_sent_total'))}, conflated ${fmtInt(metric('thingstead_ws_conflated_total'))}`,
  );
  console.log(`  server CPU         ${server.cpuSeconds().toFixed(1)} s`);
  for (const ws of sockets) ws.close();
  await Promise.all(devices.map((c) => c.endAsync()));
} finally {
  await server.stop();
}

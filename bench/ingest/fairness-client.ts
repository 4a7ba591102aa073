// One load process of the fairness benchmark (bench/ingest/fairness.ts starts it; not run by hand). Roles:
//   heavy: MQTT QoS 1 devices publishing as fast as their window allows (or at a fixed rate each);
//   probe: one device publishing stop-and-wait (window 1) at a low rate, and a /healthz poller.
// Protocol with the parent: argv[2] is the JSON config; the child prints {"ready":true} once connected, starts
// on a "go" line on stdin, stops on "stop" (heavy) or after durationMs (probe), then prints one JSON result line.
import http from 'node:http';
import { createInterface } from 'node:readline';
import type { BenchDevice } from './api';
import { DeviceConnection, LatencyRecorder, type ProtocolVersion } from './mqtt-load';
import { quantile } from './stats';

export interface ClientConfig {
  role: 'heavy' | 'probe';
  mqttPort: number;
  httpPort: number;
  devices: BenchDevice[];
  protocolVersion: ProtocolVersion;
  values: number;
  /** ts of each device's first message. */
  tsBase: number;
  window: number;
  /** Per device; unset: as fast as the window allows. */
  ratePerSec?: number;
  /** probe: how long to measure. */
  durationMs: number;
  /** probe: time between the starts of two /healthz requests. */
  healthIntervalMs: number;
}

export interface DeviceResult {
  id: string;
  sent: number;
  acked: number;
  refused: number;
  closeReason: string;
}

export interface ClientResult {
  devices: DeviceResult[];
  /** probe: PUBACK latency (ms) and /healthz latency (ms) quantiles. */
  ack?: { n: number; p50: number; p99: number; max: number };
  health?: { n: number; p50: number; p99: number; max: number; failures: Record<string, number> };
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as ClientConfig;
const lines = createInterface({ input: process.stdin });
const commands: string[] = [];
let wake: (() => void) | undefined;
lines.on('line', (l) => {
  commands.push(l.trim());
  wake?.();
});
// The parent is gone: stop.
lines.on('close', () => process.exit(0));
const next = async (): Promise<string> => {
  while (commands.length === 0) await new Promise<void>((r) => (wake = r));
  return commands.shift()!;
};

const summary = (samples: Float64Array, n: number) => ({ n, p50: quantile(samples, n, 0.5), p99: quantile(samples, n, 0.99), max: quantile(samples, n, 1) });

async function main(): Promise<void> {
  const probe = cfg.role === 'probe';
  const latency = new LatencyRecorder(probe ? 1_000_000 : 0);
  const conns = await Promise.all(
    cfg.devices.map((device, i) =>
      DeviceConnection.connect({
        port: cfg.mqttPort,
        device,
        clientId: `bench-fair-${cfg.role}-${process.pid}-${i}`,
        protocolVersion: cfg.protocolVersion,
        qos: 1,
        values: cfg.values,
        tsBase: cfg.tsBase,
        total: Number.MAX_SAFE_INTEGER,
        window: cfg.window,
        ratePerSec: cfg.ratePerSec,
        timeoutMs: 30_000,
        latency,
        onDone: () => undefined,
      }),
    ),
  );
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await next();
  for (const c of conns) c.start();
  let health: ClientResult['health'];
  if (probe) {
    health = await pollHealth(cfg.durationMs);
  } else {
    await next();
  }
  for (const c of conns) c.stopSending();
  // What was sent gets its PUBACK (bounded), so acked and stored can be compared.
  const end = performance.now() + 20_000;
  while (conns.some((c) => !c.done) && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
  const result: ClientResult = {
    devices: conns.map((c, i) => ({ id: cfg.devices[i]!.id, sent: c.sent, acked: c.acked, refused: c.refused, closeReason: c.closeReason })),
    ...(health !== undefined ? { ack: summary(latency.samples, latency.n), health } : {}),
  };
  await Promise.all(conns.map((c) => c.close()));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

/** GET /healthz on a new connection (as a load balancer probes) every healthIntervalMs, for durationMs. */
async function pollHealth(durationMs: number): Promise<NonNullable<ClientResult['health']>> {
  const samples = new Float64Array(1_000_000);
  let n = 0;
  const failures: Record<string, number> = {};
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const t0 = performance.now();
    const outcome = await new Promise<string>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: cfg.httpPort, path: '/healthz', agent: false }, (res) => {
        res.resume();
        res.on('end', () => {
          resolve(String(res.statusCode));
        });
        res.on('error', (e) => {
          resolve(e.message);
        });
      });
      req.setTimeout(60_000, () => {
        req.destroy(new Error('timeout after 60 s'));
      });
      req.on('error', (e) => {
        resolve(e.message);
      });
    });
    const ms = performance.now() - t0;
    // A slow answer is the figure; a failed one is counted apart (and its time is in the samples too).
    samples[n++] = ms;
    if (outcome !== '200') failures[outcome] = (failures[outcome] ?? 0) + 1;
    const wait = t0 + cfg.healthIntervalMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return { ...summary(samples, n), failures };
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

// Fairness under load (issue 6, "No fairness under load"): a heavy group of MQTT QoS 1 devices keeps the server
// saturated while a light probe device publishes stop-and-wait at 1 msg/s and a poller asks /healthz. Reports the
// probe's PUBACK latency and /healthz latency, and checks acknowledged == stored. Measures and prints; asserts
// nothing. See bench/README.md.
//
//   node --import tsx bench/ingest/fairness.ts [--runs 3] [--heavy 4] [--window 1000] [--heavy-rate 0]
//        [--values 1] [--duration 30] [--warmup 5] [--probe-rate 1] [--health-interval 250] [--protocol 4|5]
//        [--env KEY=VALUE,...] [--json FILE]
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { machineBusySeconds, processCpuSeconds, waitForQuiet } from '../broker/machine-cpu';
import { children } from '../lib/child-cleanup';
import { Api } from './api';
import type { ClientConfig, ClientResult } from './fairness-client';
import type { ProtocolVersion } from './mqtt-load';
import { installCleanup, startServer } from './server-process';
import { fmtInt, fmtMs, fmtPct, int, median } from './stats';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    heavy: { type: 'string', default: '4' },
    window: { type: 'string', default: '1000' },
    'heavy-rate': { type: 'string', default: '0' },
    values: { type: 'string', default: '1' },
    duration: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    'probe-rate': { type: 'string', default: '1' },
    'health-interval': { type: 'string', default: '250' },
    protocol: { type: 'string', default: '4' },
    env: { type: 'string', default: '' },
    json: { type: 'string' },
  },
  strict: true,
});

const runs = int('runs', args.runs, 3);
const heavyCount = int('heavy', args.heavy, 4);
const window = int('window', args.window, 1000);
const heavyRate = int('heavy-rate', args['heavy-rate'], 0, 0);
const values = int('values', args.values, 1);
const durationMs = int('duration', args.duration, 30) * 1000;
const warmupMs = int('warmup', args.warmup, 5, 0) * 1000;
const probeRate = int('probe-rate', args['probe-rate'], 1);
const healthIntervalMs = int('health-interval', args['health-interval'], 250);
const protocolVersion: ProtocolVersion = int('protocol', args.protocol, 4) === 5 ? 5 : 4;
const serverEnv = Object.fromEntries(
  args.env
    .split(',')
    .filter((kv) => kv.includes('='))
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const repoRoot = resolve(import.meta.dirname, '../..');
const clientScript = resolve(import.meta.dirname, 'fairness-client.ts');
const NOISY_PCT = 50;

interface Run {
  run: number;
  probe: ClientResult;
  heavy: ClientResult;
  heavyMsgPerSec: number;
  cpu: { server: number; load: number; other: number };
  /** Acknowledged (PUBACK 0x00) and stored messages, over all devices. */
  acked: number;
  stored: number;
  sent: number;
  problems: string[];
}

interface Child {
  proc: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  result: Promise<ClientResult>;
  send(line: string): void;
}

function startClient(config: ClientConfig): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', clientScript, JSON.stringify(config)], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(proc);
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let readyFn: () => void = () => undefined;
  let resultFn: (r: ClientResult) => void = () => undefined;
  let failFn: (e: Error) => void = () => undefined;
  const ready = new Promise<void>((res, rej) => {
    readyFn = res;
    failFn = rej;
  });
  const result = new Promise<ClientResult>((res, rej) => {
    resultFn = res;
    const prev = failFn;
    failFn = (e) => {
      prev(e);
      rej(e);
    };
  });
  result.catch(() => undefined);
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const msg = JSON.parse(line) as { ready?: boolean } & ClientResult;
    if (msg.ready === true) readyFn();
    else resultFn(msg);
  });
  proc.on('exit', (code) => {
    children.delete(proc);
    failFn(new Error(`${config.role} load process exited with ${String(code)}: ${stderr}`));
  });
  return { proc, ready, result, send: (l) => proc.stdin.write(`${l}\n`) };
}

/** Messages of `deviceId` stored with ts in [from, to), counted through the REST API in 100,000-wide steps. */
async function storedMessages(api: Api, deviceId: string, from: number, to: number): Promise<number> {
  let n = 0;
  for (let a = from; a < to; a += 100_000) n += await api.storedCount(deviceId, 'temperature', a, Math.min(to, a + 100_000));
  return n;
}

installCleanup();
console.log(
  `# Thingstead fairness benchmark: ${runs} run(s); ${cpus().length} CPUs; node ${process.version}; MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}\n` +
    `# heavy: ${heavyCount} devices, QoS 1, window ${window}${heavyRate > 0 ? `, ${heavyRate} msg/s each` : ', as fast as the window allows'}, ${values} value(s)/msg; ` +
    `probe: 1 device, stop-and-wait at ${probeRate} msg/s; /healthz every ${healthIntervalMs} ms on a new connection; ` +
    `${warmupMs / 1000} s warm-up, ${durationMs / 1000} s measured${Object.keys(serverEnv).length > 0 ? `; server env ${JSON.stringify(serverEnv)}` : ''}\n`,
);

const results: Run[] = [];
for (let run = 1; run <= runs; run++) {
  const server = await startServer({ repoRoot, env: serverEnv, timeoutMs: 30_000 });
  try {
    const api = new Api(`http://127.0.0.1:${server.httpPort}`);
    await api.login();
    const devices = await api.createDevices(heavyCount + 1);
    const probeDevice = devices[heavyCount]!;
    const tsBase = Date.now() - 30 * 86_400_000;
    const common = { mqttPort: server.mqttPort, httpPort: server.httpPort, protocolVersion, tsBase, healthIntervalMs };
    const heavy = startClient({
      ...common,
      role: 'heavy',
      devices: devices.slice(0, heavyCount),
      values,
      window,
      ...(heavyRate > 0 ? { ratePerSec: heavyRate } : {}),
      durationMs: 0,
    });
    const probe = startClient({ ...common, role: 'probe', devices: [probeDevice], values: 1, window: 1, ratePerSec: probeRate, durationMs });
    await Promise.all([heavy.ready, probe.ready]);
    const other = await waitForQuiet([process.pid, server.pid, heavy.proc.pid!, probe.proc.pid!], 25, 20_000);
    if (other >= 25) console.log(`  (other processes use ${Math.round(other)}% of a core; measuring anyway)`);
    heavy.send('go');
    await new Promise((r) => setTimeout(r, warmupMs));
    const cpu0 = { server: server.cpuSeconds(), load: processCpuSeconds(heavy.proc.pid!), machine: machineBusySeconds(), t: performance.now() };
    const pointsAt0 = await api.counter('thingstead_telemetry_points_total').catch(() => Number.NaN);
    probe.send('go');
    const probeResult = await probe.result;
    const wall = (performance.now() - cpu0.t) / 1000;
    const pointsAt1 = await api.counter('thingstead_telemetry_points_total').catch(() => Number.NaN);
    const serverCpu = server.cpuSeconds() - cpu0.server;
    // The heavy process (the probe process exits with its result, and uses next to nothing).
    const loadCpu = processCpuSeconds(heavy.proc.pid!) - cpu0.load;
    const otherCpu = machineBusySeconds() - cpu0.machine - serverCpu - loadCpu;
    heavy.send('stop');
    const heavyResult = await heavy.result;

    const problems: string[] = [];
    let acked = 0;
    let stored = 0;
    let sent = 0;
    for (const d of [...heavyResult.devices, ...probeResult.devices]) {
      const s = await storedMessages(api, d.id, tsBase, tsBase + d.sent);
      acked += d.acked - d.refused;
      stored += s;
      sent += d.sent;
      if (s < d.acked - d.refused) problems.push(`device ${d.id}: ${d.acked - d.refused} acknowledged, only ${s} stored`);
      if (d.acked < d.sent) problems.push(`device ${d.id}: ${d.sent - d.acked} sent but not acknowledged at the end`);
      if (d.refused > 0) problems.push(`device ${d.id}: ${d.refused} PUBACKs with a failure reason code`);
      if (d.closeReason !== '') problems.push(`device ${d.id}: ${d.closeReason}`);
    }
    const r: Run = {
      run,
      probe: probeResult,
      heavy: heavyResult,
      heavyMsgPerSec: (pointsAt1 - pointsAt0) / values / wall,
      cpu: { server: (serverCpu / wall) * 100, load: (loadCpu / wall) * 100, other: (otherCpu / wall) * 100 },
      acked,
      stored,
      sent,
      problems,
    };
    results.push(r);
    console.log(line(r));
  } catch (err) {
    console.log(`run ${run}: ERROR ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    if (server.warnings.length > 0) console.log(`  server warnings:\n    ${server.warnings.slice(0, 5).join('\n    ')}`);
    await server.stop();
  }
}

function line(r: Run): string {
  const a = r.probe.ack!;
  const h = r.probe.health!;
  const fails = Object.entries(h.failures)
    .map(([k, v]) => `${v}x ${k}`)
    .join(', ');
  return (
    `run ${r.run}: probe PUBACK p50 ${fmtMs(a.p50)} / p99 ${fmtMs(a.p99)} / max ${fmtMs(a.max)} ms (${a.n} msgs); ` +
    `/healthz p50 ${fmtMs(h.p50)} / p99 ${fmtMs(h.p99)} / max ${fmtMs(h.max)} ms (${h.n} polls${fails === '' ? '' : `; failed: ${fails}`}); ` +
    `heavy ${fmtInt(r.heavyMsgPerSec)} msg/s committed; acked ${fmtInt(r.acked)}, stored ${fmtInt(r.stored)}, sent ${fmtInt(r.sent)}; ` +
    `CPU server/load/other ${fmtPct(r.cpu.server)}/${fmtPct(r.cpu.load)}/${fmtPct(r.cpu.other)}` +
    (r.problems.length > 0 ? `; PROBLEMS: ${r.problems.slice(0, 5).join('; ')}` : '')
  );
}

if (results.length > 0) {
  const quiet = results.filter((r) => r.cpu.other < NOISY_PCT);
  const use = quiet.length > 0 ? quiet : results;
  const m = (f: (r: Run) => number): number => median(use.map(f));
  const star = quiet.length > 0 ? '' : '*';
  console.log(
    `\n| probe PUBACK p50 ms | probe p99 ms | probe max ms | /healthz p50 ms | /healthz p99 ms | /healthz max ms | heavy msg/s | acked = stored | CPU server / load / other | runs (quiet) |\n` +
      `|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|\n` +
      `| ${fmtMs(m((r) => r.probe.ack!.p50))}${star} | ${fmtMs(m((r) => r.probe.ack!.p99))}${star} | ${fmtMs(m((r) => r.probe.ack!.max))}${star} | ` +
      `${fmtMs(m((r) => r.probe.health!.p50))}${star} | ${fmtMs(m((r) => r.probe.health!.p99))}${star} | ${fmtMs(m((r) => r.probe.health!.max))}${star} | ` +
      `${fmtInt(m((r) => r.heavyMsgPerSec))}${star} | ${results.every((r) => r.stored >= r.acked && r.problems.length === 0) ? 'yes' : 'NO'} | ` +
      `${fmtPct(m((r) => r.cpu.server))} / ${fmtPct(m((r) => r.cpu.load))} / ${fmtPct(m((r) => r.cpu.other))} | ${results.length} (${quiet.length}) |`,
  );
  console.log(
    '\nMedians over runs (quiet runs only when there are any; `*`: noisy runs only). probe: PUBLISH written -> PUBACK read, one at a time. ' +
      '/healthz: request on a new connection -> end of the answer (failed polls count with their time). ' +
      'heavy msg/s: committed during the measured window. CPU in % of one core (2 cores = 200%).',
  );
}
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ argv: process.argv.slice(2), results }, null, 2));

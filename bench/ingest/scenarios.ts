// The three ingest scenarios (MQTT QoS 1, MQTT QoS 0, HTTP), each followed by a check of what was stored.
import http from 'node:http';
import { startCpuMeter, type CpuShares } from '../broker/machine-cpu';
import { payloadParts, type Api, type BenchDevice } from './api';
import { connectChild, connectLocal, epochNow, type GroupOptions, type LoadGroup } from './load-group';
import { LatencyRecorder, type ProtocolVersion } from './mqtt-load';
import { quantile } from './stats';

export const SCENARIOS = ['mqtt-qos1', 'mqtt-qos0', 'http'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ScenarioOptions {
  api: Api;
  mqttPort: number;
  httpPort: number;
  devices: readonly BenchDevice[];
  /** Messages (MQTT) or requests (HTTP) per device. */
  perDevice: number;
  values: number;
  window: number;
  /** QoS 1: the whole fleet's messages per second, split evenly over the devices (unset: unpaced). */
  rate?: number | undefined;
  httpConcurrency: number;
  protocolVersion: ProtocolVersion;
  /** ts of each device's first message; the scenario's values lie in [tsBase, tsBase + perDevice). */
  tsBase: number;
  /** Devices whose stored rows are counted through the REST API afterwards. */
  checkDevices: number;
  serverCpuSeconds: () => number;
  /** MQTT: processes the device connections are split over (1 = all in this process). */
  loadProcs: number;
  timeoutMs: number;
  /** No progress for this long ends the scenario as failed. */
  stallMs: number;
}

export interface ScenarioResult {
  /** Messages (MQTT) or requests (HTTP) committed. */
  messages: number;
  values: number;
  elapsedMs: number;
  msgPerSec: number;
  valuesPerSec: number;
  /** Publish -> PUBACK or request -> 200, ms; NaN for QoS 0. */
  p50: number;
  p99: number;
  /** Messages sent but not committed (refused, lost, or unanswered when the scenario ended). */
  notCommitted: number;
  /** Values the metrics counter says were committed during the scenario. */
  counterDelta: number;
  /** Values counted through the REST API for `checkDevices` devices, and the number expected. */
  checked: { stored: number; expected: number };
  cpu: CpuShares;
  problems: string[];
}

const POINTS = 'thingstead_telemetry_points_total';

export async function runScenario(s: Scenario, o: ScenarioOptions): Promise<ScenarioResult> {
  const phase = <T>(name: string, p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
  const before = await phase('reading /metrics before', o.api.counter(POINTS));
  const r = await phase('load', s === 'http' ? httpLoad(o) : mqttLoad(o, s === 'mqtt-qos1' ? 1 : 0, before));
  const counterDelta = (await phase('reading /metrics after', o.api.counter(POINTS))) - before;
  // What was stored, through the query API: `temperature` of a few devices spread over the list.
  const picks = [...new Set(Array.from({ length: Math.min(o.checkDevices, o.devices.length) }, (_, i) => Math.floor((i * o.devices.length) / o.checkDevices)))];
  let stored = 0;
  for (const i of picks) stored += await phase('REST check', o.api.storedCount(o.devices[i]!.id, 'temperature', o.tsBase, o.tsBase + o.perDevice));
  const expected = picks.length * o.perDevice;
  const problems = [...r.problems];
  if (stored !== expected) problems.push(`REST check: ${stored} of ${expected} temperature values stored for ${picks.length} devices`);
  const sent = o.devices.length * o.perDevice;
  if (counterDelta !== r.messages * o.values) problems.push(`metrics counter grew by ${counterDelta}, expected ${r.messages * o.values}`);
  return {
    messages: r.messages,
    values: r.messages * o.values,
    elapsedMs: r.elapsedMs,
    msgPerSec: (r.messages / r.elapsedMs) * 1000,
    valuesPerSec: ((r.messages * o.values) / r.elapsedMs) * 1000,
    p50: r.p50,
    p99: r.p99,
    notCommitted: sent - r.messages,
    counterDelta,
    checked: { stored, expected },
    cpu: r.cpu,
    problems,
  };
}

interface LoadResult {
  messages: number;
  elapsedMs: number;
  p50: number;
  p99: number;
  cpu: CpuShares;
  problems: string[];
}

async function mqttLoad(o: ScenarioOptions, qos: 0 | 1, pointsBefore: number): Promise<LoadResult> {
  // The fleet split into `loadProcs` contiguous shares: one in this process, or each in its own child process.
  const procs = Math.max(1, Math.min(o.loadProcs, o.devices.length));
  const share = Math.ceil(o.devices.length / procs);
  const groupOptions = (i: number): GroupOptions => ({
    port: o.mqttPort,
    devices: o.devices.slice(i * share, (i + 1) * share),
    firstIndex: i * share,
    protocolVersion: o.protocolVersion,
    qos,
    values: o.values,
    tsBase: o.tsBase,
    perDevice: o.perDevice,
    window: o.window,
    ratePerSec: o.rate === undefined ? undefined : o.rate / o.devices.length,
    timeoutMs: 10_000,
  });
  const settled = await Promise.allSettled(
    Array.from({ length: procs }, (_, i) => (procs === 1 ? connectLocal(groupOptions(i)) : connectChild(groupOptions(i)))),
  );
  const groups = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    return await driveMqtt(o, qos, pointsBefore, groups);
  } finally {
    // Whatever happened, no connection stays open (an open one would hold up the server's graceful stop).
    await Promise.all(groups.map((g) => g.close()));
  }
}

async function driveMqtt(o: ScenarioOptions, qos: 0 | 1, pointsBefore: number, groups: LoadGroup[]): Promise<LoadResult> {
  const total = o.devices.length * o.perDevice;
  const problems: string[] = [];
  const remaining = (): number => groups.reduce((a, g) => a + g.remaining(), 0);
  const stopCpu = startCpuMeter(o.serverCpuSeconds, () => groups.reduce((a, g) => a + g.cpuSeconds(), 0));
  const t0 = epochNow();
  for (const g of groups) g.start();
  const deadline = performance.now() + o.timeoutMs;
  let elapsedMs: number;
  let messages: number;
  if (qos === 1) {
    // Every wait is bounded: overall deadline, and a stall (no PUBACK for stallMs) ends the scenario.
    let lastAcked = 0;
    let lastProgress = performance.now();
    while (remaining() > 0) {
      await new Promise((r) => setTimeout(r, 50));
      const acked = groups.reduce((a, g) => a + g.acked(), 0);
      const now = performance.now();
      if (acked !== lastAcked) {
        lastAcked = acked;
        lastProgress = now;
      }
      if (now > deadline || now - lastProgress > o.stallMs) {
        problems.push(now > deadline ? `deadline of ${o.timeoutMs} ms reached` : `no PUBACK for ${o.stallMs} ms`);
        for (const g of groups) g.abort('ended by the benchmark');
        break;
      }
    }
  }
  const reports = qos === 1 ? await Promise.all(groups.map((g) => g.report())) : [];
  if (qos === 1) {
    const end = Math.max(...reports.map((r) => (Number.isNaN(r.lastDoneAt) ? 0 : r.lastDoneAt)));
    elapsedMs = end - t0;
    messages = reports.reduce((a, r) => a + r.acked - r.refused, 0);
    const refused = reports.reduce((a, r) => a + r.refused, 0);
    if (refused > 0) problems.push(`${refused} PUBACKs with a failure reason code`);
  } else {
    // QoS 0 has no acknowledgement: poll the committed-values counter until it has everything (or stalls).
    const expected = total * o.values;
    let last = 0;
    let lastProgress = performance.now();
    let end: number;
    for (;;) {
      // A scrape costs the server a few ms of CPU: poll slowly until 90% has arrived, then every 10 ms.
      await new Promise((r) => setTimeout(r, last < 0.9 * expected ? 250 : 10));
      // A scrape can time out while the server is saturated; that is not the end of the scenario.
      const v = (await o.api.counter(POINTS).catch(() => pointsBefore + last)) - pointsBefore;
      const now = epochNow();
      if (v >= expected) {
        end = now;
        last = v;
        break;
      }
      if (v !== last) {
        last = v;
        lastProgress = now;
      }
      if (performance.now() > deadline || now - lastProgress > o.stallMs) {
        problems.push(`${v} of ${expected} values committed when the counter stopped moving`);
        end = lastProgress;
        last = v;
        break;
      }
    }
    elapsedMs = end - t0;
    messages = Math.floor(last / o.values);
    reports.push(...(await Promise.all(groups.map((g) => g.report()))));
  }
  const cpu = stopCpu();
  const closedEarly = reports.flatMap((r) => r.closeReasons);
  if (closedEarly.length > 0) problems.push(`${closedEarly.length} connections closed early: ${closedEarly[0]!}`);
  // Latencies of all groups together.
  const n = reports.reduce((a, r) => a + r.n, 0);
  const samples = new Float64Array(n);
  let off = 0;
  for (const r of reports) {
    samples.set(r.samples.subarray(0, r.n), off);
    off += r.n;
  }
  return { messages, elapsedMs, p50: quantile(samples, n, 0.5), p99: quantile(samples, n, 0.99), cpu, problems };
}

async function httpLoad(o: ScenarioOptions): Promise<LoadResult> {
  const total = o.devices.length * o.perDevice;
  const { head, tail } = payloadParts(o.values);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.httpConcurrency });
  const latency = new LatencyRecorder(total);
  const statuses = new Map<number | string, number>();
  let next = 0;
  let ok = 0;
  let attempted = 0;
  let lastOkAt = Number.NaN;
  const deadline = performance.now() + o.timeoutMs;
  const post = (path: string, body: string): Promise<number | string> =>
    new Promise((resolve) => {
      const req = http.request(
        { host: '127.0.0.1', port: o.httpPort, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => {
            resolve(res.statusCode ?? 0);
          });
          res.on('error', (e) => {
            resolve(e.message);
          });
        },
      );
      req.setTimeout(30_000, () => {
        req.destroy(new Error('timeout'));
      });
      req.on('error', (e) => {
        resolve(e.message);
      });
      req.end(body);
    });
  const worker = async (): Promise<void> => {
    for (let j = next++; j < total && performance.now() < deadline; j = next++) {
      const d = o.devices[j % o.devices.length]!;
      const seq = Math.floor(j / o.devices.length);
      attempted++;
      const t = performance.now();
      const status = await post(`/api/v1/${d.token}/telemetry`, `${head}${o.tsBase + seq}${tail}`);
      const now = performance.now();
      if (status === 200) {
        ok++;
        lastOkAt = now;
        latency.add(now - t);
      } else {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
  };
  const stopCpu = startCpuMeter(o.serverCpuSeconds);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: o.httpConcurrency }, worker));
  const cpu = stopCpu();
  agent.destroy();
  const problems = [...statuses].map(([s, n]) => `${n} requests answered ${String(s)}`);
  if (attempted < total) problems.push(`deadline of ${o.timeoutMs} ms reached`);
  return {
    messages: ok,
    elapsedMs: lastOkAt - t0,
    p50: quantile(latency.samples, latency.n, 0.5),
    p99: quantile(latency.samples, latency.n, 0.99),
    cpu,
    problems,
  };
}

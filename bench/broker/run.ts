// MQTT broker benchmark: Mosquitto, aedes and Thingstead side by side. See bench/README.md.
//
//   node --import tsx bench/broker/run.ts [--runs 3] [--brokers mosquitto,aedes,thingstead] [--quick]
//        [--scenarios qos0,qos1,latency0,latency1] [--messages 200000] [--window 1000] [--protocol 4|5]
//        [--cpu-prof <dir>] [--json <file>]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { waitForQuiet } from './machine-cpu';
import { BROKER_NAMES, installCleanup, startBroker, type BrokerName } from './broker-process';
import { latency } from './latency';
import { markdown, runLine, summarize, type RunResult } from './report';
import { throughput } from './throughput';

const SCENARIOS = ['qos0', 'qos1', 'latency0', 'latency1'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    brokers: { type: 'string', default: BROKER_NAMES.join(',') },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    quick: { type: 'boolean', default: false },
    messages: { type: 'string' },
    publishers: { type: 'string', default: '4' },
    payload: { type: 'string', default: '64' },
    window: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '10000' },
    protocol: { type: 'string', default: '4' },
    'cpu-prof': { type: 'string' },
    json: { type: 'string' },
    baseline: { type: 'string' },
  },
  strict: true,
});

function int(name: string, v: string | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
}

function list<T extends string>(name: string, v: string, allowed: readonly T[]): T[] {
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const s of items) if (!(allowed as readonly string[]).includes(s)) throw new Error(`--${name}: unknown ${s}; known: ${allowed.join(', ')}`);
  return items as T[];
}

const quick = values.quick;
const runs = int('runs', values.runs, quick ? 1 : 3);
/** --baseline <checkout>: Thingstead's broker of that checkout (e.g. a worktree of an older commit) runs just before `thingstead` in every run. */
const baselineRoot = values.baseline === undefined ? undefined : resolve(values.baseline);
const brokers = list<BrokerName>('brokers', values.brokers, BROKER_NAMES).flatMap((b): BrokerName[] =>
  b === 'thingstead' && baselineRoot !== undefined ? ['baseline', b] : [b],
);
const scenarios = new Set(list<Scenario>('scenarios', values.scenarios, SCENARIOS));
const protocolVersion = int('protocol', values.protocol, 4) === 5 ? 5 : 4;
const publishers = int('publishers', values.publishers, 4);
const payloadBytes = int('payload', values.payload, 64, 16);
const messagesPerPublisher = int('messages', values.messages, quick ? 50_000 : 200_000);
const window = int('window', values.window, 1000);
const latencyRate = int('rate', values.rate, 10_000);
const warmupMs = quick ? 1000 : 2000;
const durationMs = quick ? 3000 : 10_000;
const cpuProfDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
const repoRoot = resolve(import.meta.dirname, '../..');
/** Before each scenario, wait up to `quietWaitMs` for other processes to drop below `quietPct` of a core. */
const quietPct = 25;
const quietWaitMs = quick ? 5000 : 30_000;
/** QoS 0 packets per socket write: ~160 KB, well above the socket's high-water mark. */
const QOS0_BATCH = 2000;
const common = { publishers, payloadBytes, protocolVersion, timeoutMs: 60_000, idleMs: 1000 } as const;

installCleanup();
if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true });
if (protocolVersion === 5 && brokers.includes('aedes')) console.error('note: aedes 0.51 has no MQTT 5; use --protocol 4 to include it');

console.log(
  `# MQTT broker benchmark: ${brokers.join(', ')}; ${runs} run(s); ${cpus().length} CPUs; node ${process.version}; MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}\n` +
    `# throughput: ${publishers} publishers x ${messagesPerPublisher} msgs, ${payloadBytes}-byte payloads, QoS 1 window ${window}; ` +
    `latency: ${latencyRate} msg/s, ${warmupMs} ms warm-up + ${durationMs} ms\n`,
);

const results: RunResult[] = [];
for (let run = 1; run <= runs; run++) {
  for (const name of brokers) {
    const r: RunResult = { broker: name, run };
    results.push(r);
    let broker;
    try {
      broker = await startBroker(name, { repoRoot, baselineRoot, cpuProfDir, timeoutMs: 15_000 });
      const b = broker;
      const base = { ...common, port: b.port, brokerCpuSeconds: () => b.cpuSeconds() };
      const prefix = (s: string): string => `bench/${name}-r${run}-${s}-${process.pid}`;
      const step = async <T>(s: Scenario, f: () => Promise<T>): Promise<T | undefined> => {
        if (!scenarios.has(s)) return undefined;
        const other = await waitForQuiet([process.pid, b.pid], quietPct, quietWaitMs);
        if (other >= quietPct)
          console.log(`  (${name} ${s}: other processes still use ${Math.round(other)}% of a core after ${quietWaitMs / 1000} s; measuring anyway)`);
        return f();
      };
      r.qos0 = await step('qos0', () => throughput({ ...base, qos: 0, messagesPerPublisher, window, batch: QOS0_BATCH, prefix: prefix('q0') }));
      r.qos1 = await step('qos1', () => throughput({ ...base, qos: 1, messagesPerPublisher, window, batch: QOS0_BATCH, prefix: prefix('q1') }));
      r.latency0 = await step('latency0', () => latency({ ...base, qos: 0, rate: latencyRate, warmupMs, durationMs, prefix: prefix('l0') }));
      r.latency1 = await step('latency1', () => latency({ ...base, qos: 1, rate: latencyRate, warmupMs, durationMs, prefix: prefix('l1') }));
    } catch (err) {
      r.error = err instanceof Error ? err.message : String(err);
    } finally {
      await broker?.stop();
    }
    console.log(runLine(r));
  }
}

console.log('\n' + markdown(summarize(results, brokers), latencyRate));
if (values.json !== undefined) writeFileSync(values.json, JSON.stringify({ argv: process.argv.slice(2), results }, null, 2));
if (cpuProfDir !== undefined) console.log(`\nCPU profiles of the Node brokers in ${cpuProfDir}; summarize with bench/broker/profile-summary.ts`);

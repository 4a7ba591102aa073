// Medians over runs and the Markdown tables printed at the end of a run.
import type { BrokerName } from './broker-process';
import type { LatencyResult } from './latency';
import type { ThroughputResult } from './throughput';
import type { CpuShares } from './machine-cpu';

export interface RunResult {
  broker: BrokerName;
  run: number;
  qos0?: ThroughputResult | undefined;
  qos1?: ThroughputResult | undefined;
  latency0?: LatencyResult | undefined;
  latency1?: LatencyResult | undefined;
  error?: string;
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

interface Summary {
  qos0: number;
  qos1: number;
  p50: number;
  p99: number;
  max: number;
  p50q1: number;
  p99q1: number;
  lost0: number;
  lost1: number;
  orderErrors1: number;
  cpu0: CpuShares;
  cpu1: CpuShares;
  runs: number;
}

export function summarize(results: readonly RunResult[], brokers: readonly BrokerName[]): Map<BrokerName, Summary> {
  const out = new Map<BrokerName, Summary>();
  for (const b of brokers) {
    const rs = results.filter((r) => r.broker === b && r.error === undefined);
    const m = (f: (r: RunResult) => number | undefined): number => median(rs.map((r) => f(r) ?? Number.NaN));
    out.set(b, {
      qos0: m((r) => r.qos0?.rate),
      qos1: m((r) => r.qos1?.rate),
      p50: m((r) => r.latency0?.p50),
      p99: m((r) => r.latency0?.p99),
      max: m((r) => r.latency0?.max),
      p50q1: m((r) => r.latency1?.p50),
      p99q1: m((r) => r.latency1?.p99),
      lost0: m((r) => r.qos0?.lost),
      lost1: m((r) => r.qos1?.lost),
      orderErrors1: m((r) => r.qos1?.orderErrors),
      cpu0: { generator: m((r) => r.qos0?.cpu.generator), broker: m((r) => r.qos0?.cpu.broker), other: m((r) => r.qos0?.cpu.other) },
      cpu1: { generator: m((r) => r.qos1?.cpu.generator), broker: m((r) => r.qos1?.cpu.broker), other: m((r) => r.qos1?.cpu.other) },
      runs: rs.length,
    });
  }
  return out;
}

const rate = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : 'n/a');
const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(x)}%` : 'n/a');
const shares = (c: CpuShares): string => `${pct(c.generator)} / ${pct(c.broker)} / ${pct(c.other)}`;
const count = (x: number): string => (Number.isFinite(x) ? String(Math.round(x)) : 'n/a');
const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

export function markdown(summary: Map<BrokerName, Summary>, latencyRate: number): string {
  const lines: string[] = [];
  lines.push(
    `| broker | QoS0 msg/s | QoS1 msg/s | p50 ms | p99 ms | max ms | QoS1 p50 ms | QoS1 p99 ms | runs |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const [b, s] of summary) {
    lines.push(`| ${b} | ${rate(s.qos0)} | ${rate(s.qos1)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} | ${ms(s.p50q1)} | ${ms(s.p99q1)} | ${s.runs} |`);
  }
  lines.push('', `Latency columns: QoS 0 (p50/p99/max) and QoS 1 (p50/p99) at a fixed ${rate(latencyRate)} msg/s.`);
  const mosq = summary.get('mosquitto');
  if (mosq !== undefined && summary.size > 1) {
    lines.push('', '| broker / Mosquitto | QoS0 | QoS1 | p50 | p99 |', '|---|--:|--:|--:|--:|');
    for (const [b, s] of summary) {
      if (b === 'mosquitto') continue;
      lines.push(`| ${b} | ${ratio(s.qos0, mosq.qos0)} | ${ratio(s.qos1, mosq.qos1)} | ${ratio(s.p50, mosq.p50)} | ${ratio(s.p99, mosq.p99)} |`);
    }
    lines.push('', 'Throughput ratios above 1 are better than Mosquitto; latency ratios below 1 are better.');
  }
  lines.push(
    '',
    '| broker | QoS0 lost | QoS1 lost | QoS1 order errors | CPU QoS0 gen / broker / other | CPU QoS1 gen / broker / other |',
    '|---|--:|--:|--:|--:|--:|',
  );
  for (const [b, s] of summary) {
    lines.push(
      `| ${b} | ${count(s.lost0)} | ${count(s.lost1)} | ${count(s.orderErrors1)} | ${shares(s.cpu0)} | ${shares(s.cpu1)} |`,
    );
  }
  lines.push('', 'CPU in % of one core over the scenario: generator (this process) / broker / other processes; 2 cores = 200%.');
  return lines.join('\n');
}

export function runLine(r: RunResult): string {
  if (r.error !== undefined) return `run ${r.run} ${r.broker}: FAILED ${r.error}`;
  const parts = [`run ${r.run} ${r.broker}:`];
  if (r.qos0) parts.push(`qos0 ${rate(r.qos0.rate)}/s (sent ${rate(r.qos0.sendRate)}/s, lost ${r.qos0.lost}, order ${r.qos0.orderErrors}, dup ${r.qos0.duplicates}, cpu ${shares(r.qos0.cpu)})`);
  if (r.qos1) parts.push(`qos1 ${rate(r.qos1.rate)}/s (lost ${r.qos1.lost}, order ${r.qos1.orderErrors}, dup ${r.qos1.duplicates}, cpu ${shares(r.qos1.cpu)})`);
  if (r.latency0) parts.push(`lat0 p50 ${ms(r.latency0.p50)} p99 ${ms(r.latency0.p99)} max ${ms(r.latency0.max)} (${r.latency0.samples} samples, ${r.latency0.sent - r.latency0.received} lost, cpu ${shares(r.latency0.cpu)})`);
  if (r.latency1) parts.push(`lat1 p50 ${ms(r.latency1.p50)} p99 ${ms(r.latency1.p99)} max ${ms(r.latency1.max)} (${r.latency1.samples} samples, ${r.latency1.sent - r.latency1.received} lost, cpu ${shares(r.latency1.cpu)})`);
  return parts.join(' ');
}

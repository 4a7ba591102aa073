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

/**
 * A scenario during which other processes used at least this much CPU (% of one core) is "noisy": the machine is
 * shared, and a busy neighbour takes CPU from the broker or the generator. Medians use only quiet runs when there
 * are any; a figure from noisy runs only is marked with `*`.
 */
export const NOISY_OTHER_PCT = 50;

interface Cell {
  v: number;
  noisy: boolean;
}

interface Summary {
  qos0: Cell;
  qos1: Cell;
  p50: Cell;
  p99: Cell;
  max: Cell;
  p50q1: Cell;
  p99q1: Cell;
  lost0: Cell;
  lost1: Cell;
  orderErrors1: Cell;
  cpu0: { generator: Cell; broker: Cell; other: Cell };
  cpu1: { generator: Cell; broker: Cell; other: Cell };
  runs: number;
  quiet: string;
}

export function summarize(results: readonly RunResult[], brokers: readonly BrokerName[]): Map<BrokerName, Summary> {
  const out = new Map<BrokerName, Summary>();
  for (const b of brokers) {
    const rs = results.filter((r) => r.broker === b && r.error === undefined);
    const cell = <T extends { cpu: CpuShares }>(pick: (r: RunResult) => T | undefined, f: (x: T) => number): Cell => {
      const all = rs.map(pick).filter((x): x is T => x !== undefined);
      const quiet = all.filter((x) => x.cpu.other < NOISY_OTHER_PCT);
      const use = quiet.length > 0 ? quiet : all;
      return { v: median(use.map(f)), noisy: quiet.length === 0 && all.length > 0 };
    };
    const q0 = (r: RunResult): ThroughputResult | undefined => r.qos0;
    const q1 = (r: RunResult): ThroughputResult | undefined => r.qos1;
    const l0 = (r: RunResult): LatencyResult | undefined => r.latency0;
    const l1 = (r: RunResult): LatencyResult | undefined => r.latency1;
    const quietCount = (pick: (r: RunResult) => { cpu: CpuShares } | undefined): number =>
      rs.filter((r) => {
        const x = pick(r);
        return x !== undefined && x.cpu.other < NOISY_OTHER_PCT;
      }).length;
    out.set(b, {
      qos0: cell(q0, (x) => x.rate),
      qos1: cell(q1, (x) => x.rate),
      p50: cell(l0, (x) => x.p50),
      p99: cell(l0, (x) => x.p99),
      max: cell(l0, (x) => x.max),
      p50q1: cell(l1, (x) => x.p50),
      p99q1: cell(l1, (x) => x.p99),
      lost0: cell(q0, (x) => x.lost),
      lost1: cell(q1, (x) => x.lost),
      orderErrors1: cell(q1, (x) => x.orderErrors),
      cpu0: { generator: cell(q0, (x) => x.cpu.generator), broker: cell(q0, (x) => x.cpu.broker), other: cell(q0, (x) => x.cpu.other) },
      cpu1: { generator: cell(q1, (x) => x.cpu.generator), broker: cell(q1, (x) => x.cpu.broker), other: cell(q1, (x) => x.cpu.other) },
      runs: rs.length,
      quiet: [q0, q1, l0, l1].map(quietCount).join('/'),
    });
  }
  return out;
}

const mark = (c: Cell, text: string): string => (c.noisy ? `${text}*` : text);
const rate = (c: Cell): string => mark(c, Number.isFinite(c.v) ? Math.round(c.v).toLocaleString('en-US') : 'n/a');
const ms = (c: Cell): string => mark(c, Number.isFinite(c.v) ? c.v.toFixed(c.v < 10 ? 2 : 1) : 'n/a');
const pct = (c: Cell): string => mark(c, Number.isFinite(c.v) ? `${Math.round(c.v)}%` : 'n/a');
const shares = (c: { generator: Cell; broker: Cell; other: Cell }): string => `${pct(c.generator)} / ${pct(c.broker)} / ${pct(c.other)}`;
const count = (c: Cell): string => mark(c, Number.isFinite(c.v) ? String(Math.round(c.v)) : 'n/a');
const ratio = (a: Cell, b: Cell): string =>
  mark({ v: 0, noisy: a.noisy || b.noisy }, Number.isFinite(a.v) && Number.isFinite(b.v) && b.v > 0 ? `${(a.v / b.v).toFixed(2)}x` : 'n/a');

export function markdown(summary: Map<BrokerName, Summary>, latencyRate: number): string {
  const lines: string[] = [];
  lines.push(
    `| broker | QoS0 msg/s | QoS1 msg/s | p50 ms | p99 ms | max ms | QoS1 p50 ms | QoS1 p99 ms | runs (quiet) |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const [b, s] of summary) {
    lines.push(
      `| ${b} | ${rate(s.qos0)} | ${rate(s.qos1)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} | ${ms(s.p50q1)} | ${ms(s.p99q1)} | ${s.runs} (${s.quiet}) |`,
    );
  }
  lines.push(
    '',
    `Medians over runs. Latency columns: QoS 0 (p50/p99/max) and QoS 1 (p50/p99) at a fixed ${latencyRate.toLocaleString('en-US')} msg/s.`,
    `Quiet runs per scenario (QoS0/QoS1/latency QoS0/latency QoS1): other processes used < ${NOISY_OTHER_PCT}% of a core; medians use only those`,
    'when there are any; * = only noisy runs were available.',
  );
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
    lines.push(`| ${b} | ${count(s.lost0)} | ${count(s.lost1)} | ${count(s.orderErrors1)} | ${shares(s.cpu0)} | ${shares(s.cpu1)} |`);
  }
  lines.push('', 'CPU in % of one core over the scenario: generator (this process) / broker / other processes; 2 cores = 200%.');
  return lines.join('\n');
}

const n = (v: number): Cell => ({ v, noisy: false });
const nShares = (c: CpuShares): string => shares({ generator: n(c.generator), broker: n(c.broker), other: n(c.other) });

export function runLine(r: RunResult): string {
  if (r.error !== undefined) return `run ${r.run} ${r.broker}: FAILED ${r.error}`;
  const parts = [`run ${r.run} ${r.broker}:`];
  if (r.qos0)
    parts.push(
      `qos0 ${rate(n(r.qos0.rate))}/s (sent ${rate(n(r.qos0.sendRate))}/s, lost ${r.qos0.lost}, order ${r.qos0.orderErrors}, dup ${r.qos0.duplicates}, cpu ${nShares(r.qos0.cpu)})`,
    );
  if (r.qos1)
    parts.push(`qos1 ${rate(n(r.qos1.rate))}/s (lost ${r.qos1.lost}, order ${r.qos1.orderErrors}, dup ${r.qos1.duplicates}, cpu ${nShares(r.qos1.cpu)})`);
  if (r.latency0)
    parts.push(
      `lat0 p50 ${ms(n(r.latency0.p50))} p99 ${ms(n(r.latency0.p99))} max ${ms(n(r.latency0.max))} (${r.latency0.samples} samples, ${r.latency0.sent - r.latency0.received} lost, cpu ${nShares(r.latency0.cpu)})`,
    );
  if (r.latency1)
    parts.push(
      `lat1 p50 ${ms(n(r.latency1.p50))} p99 ${ms(n(r.latency1.p99))} max ${ms(n(r.latency1.max))} (${r.latency1.samples} samples, ${r.latency1.sent - r.latency1.received} lost, cpu ${nShares(r.latency1.cpu)})`,
    );
  return parts.join(' ');
}

// Machine-wide CPU use from /proc/stat, to tell how much of the 2 shared cores other processes took while a
// scenario ran, and to wait for a quiet moment before starting one.
import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

/** Busy CPU seconds of the whole machine so far (all cores; everything but idle and iowait). */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return (total - idle) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat fields 14 and 15. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it start at state (field 3).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/**
 * Waits (at most `maxWaitMs`) until processes other than `ownPids` use less than `thresholdPct` of one core over
 * a 500 ms window. Returns the last measured share, so the caller can report a noisy start.
 */
export async function waitForQuiet(ownPids: readonly number[], thresholdPct: number, maxWaitMs: number): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  const own = (): number => ownPids.reduce((a, p) => a + processCpuSeconds(p), 0);
  for (;;) {
    const m0 = machineBusySeconds();
    const o0 = own();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 500));
    const wall = (performance.now() - t0) / 1000;
    const other = ((machineBusySeconds() - m0 - (own() - o0)) / wall) * 100;
    if (!(other >= thresholdPct) || performance.now() >= deadline) return other;
  }
}

/** CPU use over a time window, in % of one core. */
export interface CpuShares {
  /** This process: the load generator. */
  generator: number;
  broker: number;
  /** Everything else on the machine (other sessions, the kernel's own threads). */
  other: number;
}

/**
 * Starts measuring; the returned function ends the window and gives the shares. `generatorExtraSeconds`: CPU of
 * load-generator child processes, counted with this process as the generator.
 */
export function startCpuMeter(brokerCpuSeconds: () => number, generatorExtraSeconds: () => number = () => 0): () => CpuShares {
  const t0 = performance.now();
  const gen0 = process.cpuUsage();
  const extra0 = generatorExtraSeconds();
  const broker0 = brokerCpuSeconds();
  const machine0 = machineBusySeconds();
  return () => {
    const wall = (performance.now() - t0) / 1000;
    const g = process.cpuUsage(gen0);
    const generator = (g.user + g.system) / 1e6 + (generatorExtraSeconds() - extra0);
    const broker = brokerCpuSeconds() - broker0;
    const machine = machineBusySeconds() - machine0;
    const pct = (s: number): number => (s / wall) * 100;
    return { generator: pct(generator), broker: pct(broker), other: Math.max(0, pct(machine - generator - broker)) };
  };
}

// RPC round trips over MQTT (issue 10): a real Thingstead process, N devices connected over MQTT (one connection
// each, a child process), and callers in another child process sending two-way commands over REST and waiting
// for each answer (stop-and-wait). Reports round trips/s, latency p50/p99 and the CPU of server and generator.
// Usage: node --import tsx bench/rpc/run.ts [--devices 1000] [--concurrency 1,50,200] [--duration-sec 10]
//        [--runs 3] [--protocol 4|5] [--json FILE] [--cpu-prof DIR]
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCpuSeconds } from '../broker/machine-cpu';
import { Api } from '../ingest/api';
import { startServer } from '../ingest/server-process';
import { fmtInt, fmtMs, fmtPct, int, list, median } from '../ingest/stats';
import { children, installCleanup } from '../lib/child-cleanup';
import type { CallerJob, FromCallers } from './callers-child';
import type { FromDevices, ToDevices } from './devices-child';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '../..');

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const devices = int('devices', args.get('devices'), 1000);
const concurrencies = list('concurrency', args.get('concurrency') ?? '1,50,200').map((c) => int('concurrency', c, 1));
const durationMs = int('duration-sec', args.get('duration-sec'), 10) * 1000;
const runs = int('runs', args.get('runs'), 3);
const protocol = int('protocol', args.get('protocol'), 4) === 5 ? 5 : 4;
const jsonOut = args.get('json');
const cpuProfDir = args.get('cpu-prof');

installCleanup();

function child<T>(file: string): { proc: ChildProcess; next: (pred: (m: T) => boolean) => Promise<T> } {
  const proc = fork(join(here, file), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(proc);
  const next = (pred: (m: T) => boolean) =>
    new Promise<T>((resolve, reject) => {
      const on = (m: T) => {
        if ((m as { t: string }).t === 'error') {
          proc.off('message', on);
          reject(new Error((m as unknown as { message: string }).message));
        } else if (pred(m)) {
          proc.off('message', on);
          resolve(m);
        }
      };
      proc.on('message', on);
    });
  return { proc, next };
}

interface Row {
  run: number;
  concurrency: number;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
  wrong: number;
  answeredByDevices: number;
  serverCpuPct: number;
  generatorCpuPct: number;
  firstError: string;
}

const rows: Row[] = [];
for (let run = 1; run <= runs; run++) {
  const server = await startServer({ repoRoot, env: {}, timeoutMs: 30_000, cpuProfDir });
  try {
    const api = new Api(`http://127.0.0.1:${server.httpPort}`);
    await api.login();
    const made = await api.createDevices(devices);
    const dev = child<FromDevices>('devices-child.ts');
    dev.proc.send({ t: 'connect', port: server.mqttPort, tokens: made.map((d) => d.token), protocol } satisfies ToDevices);
    await dev.next((m) => m.t === 'connected');
    const jwt = api.token;
    for (const concurrency of concurrencies) {
      const callers = child<FromCallers>('callers-child.ts');
      const answeredBefore = ((await ask(dev, { t: 'stats' })) as { answered: number }).answered;
      const cpu0 = { server: server.cpuSeconds(), gen: processCpuSeconds(dev.proc.pid!) + processCpuSeconds(callers.proc.pid!), at: performance.now() };
      const job: CallerJob = { port: server.httpPort, jwt, deviceIds: made.map((d) => d.id), concurrency, durationMs, warmupMs: 2000 };
      callers.proc.send({ t: 'run', job });
      const r = (await callers.next((m) => m.t === 'done')) as Extract<FromCallers, { t: 'done' }>;
      const secs = (performance.now() - cpu0.at) / 1000;
      const serverCpuPct = ((server.cpuSeconds() - cpu0.server) / secs) * 100;
      const generatorCpuPct = ((processCpuSeconds(dev.proc.pid!) + processCpuSeconds(callers.proc.pid!) - cpu0.gen) / secs) * 100;
      const answered = ((await ask(dev, { t: 'stats' })) as { answered: number }).answered - answeredBefore;
      callers.proc.kill();
      children.delete(callers.proc);
      const lat = Float64Array.from(r.latenciesMs).sort();
      const q = (p: number) => (lat.length === 0 ? Number.NaN : lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!);
      const row: Row = {
        run,
        concurrency,
        rps: r.ok / (r.elapsedMs / 1000),
        p50: q(0.5),
        p99: q(0.99),
        ok: r.ok,
        errors: r.errors,
        wrong: r.wrong,
        answeredByDevices: answered,
        serverCpuPct,
        generatorCpuPct,
        firstError: r.firstError,
      };
      rows.push(row);
      console.log(
        `run ${run} concurrency ${concurrency}: ${fmtInt(row.rps)} rpc/s, p50 ${fmtMs(row.p50)} ms, p99 ${fmtMs(row.p99)} ms, ` +
          `errors ${row.errors}, wrong answers ${row.wrong}, server CPU ${fmtPct(serverCpuPct)}, generator CPU ${fmtPct(generatorCpuPct)}` +
          (row.firstError === '' ? '' : ` (first error: ${row.firstError})`),
      );
    }
    dev.proc.kill();
    children.delete(dev.proc);
  } finally {
    await server.stop();
  }
}

async function ask(c: ReturnType<typeof child<FromDevices>>, m: ToDevices): Promise<FromDevices> {
  const reply = c.next((x) => x.t === 'stats');
  c.proc.send(m);
  return reply;
}

console.log(`\nRPC over MQTT ${protocol === 5 ? '5' : '3.1.1'}: ${devices} devices connected, two-way REST calls, stop-and-wait; medians of ${runs} runs`);
console.log('| concurrent callers | round trips/s | p50 ms | p99 ms | errors | server CPU | generator CPU |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const c of concurrencies) {
  const of = rows.filter((r) => r.concurrency === c);
  const m = (f: (r: Row) => number) => median(of.map(f));
  console.log(
    `| ${c} | ${fmtInt(m((r) => r.rps))} | ${fmtMs(m((r) => r.p50))} | ${fmtMs(m((r) => r.p99))} | ${of.reduce((s, r) => s + r.errors + r.wrong, 0)} | ${fmtPct(m((r) => r.serverCpuPct))} | ${fmtPct(m((r) => r.generatorCpuPct))} |`,
  );
}
if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify({ devices, protocol, durationMs, rows }, null, 2));
process.exit(0);

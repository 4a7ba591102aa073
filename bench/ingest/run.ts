// End-to-end telemetry ingest benchmark: Thingstead in a child process, devices over MQTT (QoS 1 and 0) and the
// HTTP device API; how many telemetry values per second are committed. Measures and prints; asserts nothing.
// See bench/README.md.
//
//   node --import tsx bench/ingest/run.ts [--runs 3] [--quick] [--scenarios mqtt-qos1,mqtt-qos0,http]
//        [--values 1,10] [--devices 100] [--messages 200000] [--http-requests 40000] [--window 100] [--rate MSG_PER_S]
//        [--http-concurrency 64] [--sync full,normal] [--group-delay 2] [--group-rows 5000] [--protocol 4|5]
//        [--check 5] [--cpu-prof DIR] [--json FILE] [--repos before=DIR,after=.] [--seed-points 0,10000000]
//        [--load-procs N] [--rules 0,100] [--rule-profiles P]
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { waitForQuiet } from '../broker/machine-cpu';
import { Api } from './api';
import { benchRule } from './rules';
import type { ProtocolVersion } from './mqtt-load';
import { SCENARIOS, runScenario, type Scenario, type ScenarioResult } from './scenarios';
import { children } from '../lib/child-cleanup';
import { installCleanup, startServer, type RunningServer } from './server-process';
import { fmtInt, fmtMs, fmtPct, int, intList, list, median } from './stats';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    values: { type: 'string', default: '1,10' },
    devices: { type: 'string', default: '100' },
    messages: { type: 'string' },
    'http-requests': { type: 'string' },
    window: { type: 'string', default: '100' },
    rate: { type: 'string' },
    'http-concurrency': { type: 'string', default: '64' },
    sync: { type: 'string', default: 'full' },
    'group-delay': { type: 'string' },
    'group-rows': { type: 'string' },
    protocol: { type: 'string', default: '4' },
    check: { type: 'string', default: '5' },
    'cpu-prof': { type: 'string' },
    json: { type: 'string' },
    repos: { type: 'string' },
    'seed-points': { type: 'string', default: '0' },
    'load-procs': { type: 'string' },
    rules: { type: 'string', default: '0' },
    'rule-profiles': { type: 'string', default: '0' },
  },
  strict: true,
});

const quick = args.quick;
const runs = int('runs', args.runs, quick ? 1 : 3);
const scenarios = list('scenarios', args.scenarios, SCENARIOS) as Scenario[];
const valuesList = intList('values', args.values, 1);
const deviceCount = int('devices', args.devices, 100);
const messages = int('messages', args.messages, quick ? 30_000 : 200_000);
const httpRequests = int('http-requests', args['http-requests'], quick ? 8_000 : 40_000);
const window = int('window', args.window, 100);
/** QoS 1 pacing: the fleet's messages per second (for latency at a given load, e.g. half the maximum rate). */
const rate = args.rate === undefined ? undefined : int('rate', args.rate, 0);
const httpConcurrency = int('http-concurrency', args['http-concurrency'], 64);
const syncModes = list('sync', args.sync, ['full', 'normal']);
const groupDelays: (number | undefined)[] = args['group-delay'] === undefined ? [undefined] : intList('group-delay', args['group-delay'], 0);
const groupRows: (number | undefined)[] = args['group-rows'] === undefined ? [undefined] : intList('group-rows', args['group-rows'], 1);
const protocolVersion: ProtocolVersion = int('protocol', args.protocol, 4) === 5 ? 5 : 4;
const checkDevices = int('check', args.check, 5);
/** Points already stored (for 1,000 other devices) when the server starts: ingest against a store of that size. */
const seedPoints = intList('seed-points', args['seed-points'], 0);
const seeded = seedPoints.some((n) => n > 0);
/** Active rules evaluated on every message (bench/ingest/rules.ts): ingest with the rule engine working. */
const ruleCounts = intList('rules', args.rules, 0);
const withRules = ruleCounts.some((n) => n > 0);
/** With rules: spread the devices over this many profiles and scope rule i to profile i % P (0: every rule in scope of every device). */
const ruleProfiles = int('rule-profiles', args['rule-profiles'], 0, 0);
/** MQTT device connections per load process; a large fleet is split over child processes (see load-group.ts). */
const loadProcs = int('load-procs', args['load-procs'], deviceCount > 2000 ? Math.ceil(deviceCount / 5000) : 1);
const cpuProfDir = args['cpu-prof'] === undefined ? undefined : resolve(args['cpu-prof']);
const repoRoot = resolve(import.meta.dirname, '../..');
/** `--repos before=/path,after=.`: servers of several checkouts side by side, interleaved within each run. */
const repos: { name: string | undefined; root: string }[] =
  args.repos === undefined
    ? [{ name: undefined, root: repoRoot }]
    : args.repos.split(',').map((spec) => {
        const [name, path] = spec.split('=');
        if (name === undefined || name === '' || path === undefined || path === '') throw new Error(`--repos wants name=path,name=path (got ${spec})`);
        return { name, root: resolve(path) };
      });
if (window > 1024) throw new Error("--window must be at most 1024 (the broker's Receive Maximum)");
/** Before each scenario, wait (bounded) for other processes to drop below this share of a core; 50%+ during it = noisy. */
const QUIET_PCT = 25;
const NOISY_PCT = 50;
const quietWaitMs = quick ? 5000 : 20_000;
/** Each scenario of a server gets its own ts range of this width, so the REST check counts only its values. */
const TS_SLOT = 10_000_000;

interface Config {
  repo: { name: string | undefined; root: string };
  sync: string;
  groupDelay: number | undefined;
  groupRows: number | undefined;
  seedPoints: number;
  rules: number;
}
interface Row {
  run: number;
  config: Config;
  scenario: Scenario;
  values: number;
  result?: ScenarioResult;
  /** With rules: what the engine did for this scenario, and how long after the last ack it was done. */
  rules?: { evaluations: number; eventsDropped: number; errors: number; catchUpMs: number };
  error?: string;
}

/** Waits for the rule engine's queue to empty after a scenario; its counters' change since `before`. */
async function ruleCatchUp(api: Api, before: { evaluations: number; eventsDropped: number; errors: number }): Promise<NonNullable<Row['rules']>> {
  const t0 = performance.now();
  while ((await api.counter('thingstead_rules_queued_events')) > 0 && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
  const catchUpMs = performance.now() - t0;
  const now = await ruleCounters(api);
  return {
    evaluations: now.evaluations - before.evaluations,
    eventsDropped: now.eventsDropped - before.eventsDropped,
    errors: now.errors - before.errors,
    catchUpMs,
  };
}
async function ruleCounters(api: Api): Promise<{ evaluations: number; eventsDropped: number; errors: number }> {
  return {
    evaluations: await api.counter('thingstead_rules_evaluations_total'),
    eventsDropped: await api.counter('thingstead_rules_events_dropped_total'),
    errors: await api.counter('thingstead_rules_errors_total'),
  };
}

const configs: Config[] = syncModes.flatMap((sync) =>
  groupDelays.flatMap((groupDelay) =>
    groupRows.flatMap((rows) =>
      seedPoints.flatMap((seed) => ruleCounts.flatMap((rules) => repos.map((repo) => ({ repo, sync, groupDelay, groupRows: rows, seedPoints: seed, rules })))),
    ),
  ),
);
const configName = (c: Config): string =>
  `${c.repo.name === undefined ? '' : `${c.repo.name} `}${c.sync}${c.groupDelay === undefined ? '' : `, delay ${c.groupDelay} ms`}` +
  `${c.groupRows === undefined ? '' : `, batch ${c.groupRows} rows`}${seeded ? `, ${fmtInt(c.seedPoints)} stored` : ''}` +
  (withRules ? `, ${c.rules} rules${ruleProfiles > 0 && c.rules > 0 ? ` over ${ruleProfiles} profiles` : ''}` : '');

/**
 * A data directory holding `points` points, filled once per checkout and size by bench/tsdb/seed.ts in a child
 * process started in that checkout (its own createSqliteStore), then copied into each run's fresh directory.
 */
const seedTemplates = new Map<string, string>();
const templateRoot = seeded ? mkdtempSync(join(tmpdir(), 'thingstead-bench-seed-')) : undefined;
process.on('exit', () => {
  if (templateRoot !== undefined) rmSync(templateRoot, { recursive: true, force: true });
});
async function seedInto(dataDir: string, repoRootDir: string, points: number): Promise<void> {
  const key = `${repoRootDir}|${points}`;
  let template = seedTemplates.get(key);
  if (template === undefined) {
    template = join(templateRoot!, String(seedTemplates.size));
    mkdirSync(template, { recursive: true, mode: 0o700 });
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'bench/tsdb/seed.ts'), '--repo', repoRootDir, '--db', join(template, 'thingstead.db'), '--points', String(points)],
      { cwd: repoRootDir, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.add(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    children.delete(child);
    if (code !== 0) throw new Error(`seeding ${points} points failed (exit code ${String(code)}): ${out.slice(-500)}`);
    const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { pointsPerSec?: number; bytes?: number };
    console.log(
      `  seeded ${fmtInt(points)} points for ${repoRootDir} in ${fmtInt((performance.now() - t0) / 1000)} s ` +
        `(${fmtInt(r.pointsPerSec ?? Number.NaN)} points/s, data dir ${fmtInt((r.bytes ?? Number.NaN) / 1e6)} MB)`,
    );
    seedTemplates.set(key, template);
  }
  cpSync(template, dataDir, { recursive: true });
}
const perDeviceOf = (s: Scenario): number => Math.max(1, Math.floor((s === 'http' ? httpRequests : messages) / deviceCount));

installCleanup();
if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true });
console.log(
  `# Thingstead ingest benchmark: ${runs} run(s); ${cpus().length} CPUs; node ${process.version}; MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}\n` +
    `# ${deviceCount} devices; MQTT ${perDeviceOf('mqtt-qos1') * deviceCount} messages per scenario (QoS 1 window ${window} per connection); ` +
    `HTTP ${perDeviceOf('http') * deviceCount} requests, ${httpConcurrency} concurrent; values per message ${valuesList.join(', ')}; ` +
    `configs: ${configs.map(configName).join(' | ')}; MQTT load in ${loadProcs} process(es); load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}\n`,
);

const rows: Row[] = [];
for (let run = 1; run <= runs; run++) {
  for (const config of configs) {
    let server: RunningServer | undefined;
    try {
      const env: Record<string, string> = { THINGSTEAD_STORAGE_SQLITE_SYNCHRONOUS: config.sync };
      if (config.groupDelay !== undefined) env.THINGSTEAD_TELEMETRY_GROUP_COMMIT_MAX_DELAY_MS = String(config.groupDelay);
      if (config.groupRows !== undefined) env.THINGSTEAD_TELEMETRY_GROUP_COMMIT_MAX_ROWS = String(config.groupRows);
      const seed = config.seedPoints;
      server = await startServer({
        repoRoot: config.repo.root,
        env,
        cpuProfDir,
        timeoutMs: seed > 0 ? 180_000 : 30_000,
        prepare: seed > 0 ? (dir) => seedInto(dir, config.repo.root, seed) : undefined,
      });
      const srv = server;
      const api = new Api(`http://127.0.0.1:${srv.httpPort}`);
      await api.login();
      const profiles = ruleProfiles > 0 ? await api.createProfiles(ruleProfiles) : [];
      const devices = await api.createDevices(deviceCount, 8, profiles);
      await api.createRules(Array.from({ length: config.rules }, (_, i) => benchRule(i, profiles)));
      let slot = 0;
      const tsStart = Date.now() - 30 * 86_400_000;
      const base = {
        api,
        mqttPort: srv.mqttPort,
        httpPort: srv.httpPort,
        devices,
        window,
        rate,
        httpConcurrency,
        protocolVersion,
        checkDevices,
        serverCpuSeconds: () => srv.cpuSeconds(),
        loadProcs,
        timeoutMs: 180_000,
        stallMs: 15_000,
      };
      // Warm-up (not reported): JIT, caches, the first pages of the tables.
      for (const s of ['mqtt-qos1', 'http'] as const) {
        await runScenario(s, { ...base, perDevice: 20, values: 2, tsBase: tsStart + slot++ * TS_SLOT });
      }
      for (const values of valuesList) {
        for (const scenario of scenarios) {
          const row: Row = { run, config, scenario, values };
          rows.push(row);
          const other = await waitForQuiet([process.pid, srv.pid], QUIET_PCT, quietWaitMs);
          if (other >= QUIET_PCT) console.log(`  (other processes use ${Math.round(other)}% of a core; measuring anyway)`);
          try {
            const rulesBefore = config.rules > 0 ? await ruleCounters(api) : undefined;
            row.result = await runScenario(scenario, { ...base, perDevice: perDeviceOf(scenario), values, tsBase: tsStart + slot++ * TS_SLOT });
            if (rulesBefore !== undefined) row.rules = await ruleCatchUp(api, rulesBefore);
          } catch (err) {
            row.error = err instanceof Error ? err.message : String(err);
          }
          console.log(line(row));
        }
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      console.log(`run ${run} ${configName(config)}: ${error}`);
      rows.push({ run, config, scenario: scenarios[0]!, values: valuesList[0]!, error });
    } finally {
      if (server !== undefined && server.warnings.length > 0) console.log(`  server warnings:\n    ${server.warnings.slice(0, 5).join('\n    ')}`);
      await server?.stop();
    }
  }
}

function line(r: Row): string {
  const head = `run ${r.run} ${configName(r.config)} ${r.scenario} ${r.values}v:`;
  if (r.error !== undefined) return `${head} ERROR ${r.error}`;
  const x = r.result!;
  return (
    `${head} ${fmtInt(x.msgPerSec)} msg/s, ${fmtInt(x.valuesPerSec)} values/s, p50 ${fmtMs(x.p50)} ms, p99 ${fmtMs(x.p99)} ms, ` +
    `${fmtInt(x.messages)} msgs in ${fmtInt(x.elapsedMs)} ms, not committed ${x.notCommitted}, REST check ${x.checked.stored}/${x.checked.expected}, ` +
    `CPU gen/server/other ${fmtPct(x.cpu.generator)}/${fmtPct(x.cpu.broker)}/${fmtPct(x.cpu.other)}` +
    (r.scenario !== 'http' && x.cpu.generator >= x.cpu.broker ? '; the load generator used as much CPU as the server (generator-bound?)' : '') +
    (x.problems.length > 0 ? `; PROBLEMS: ${x.problems.join('; ')}` : '') +
    (r.rules === undefined
      ? ''
      : `; rules: ${fmtInt(r.rules.evaluations)} evaluations, ${fmtInt(r.rules.eventsDropped)} events dropped, ` +
        `${fmtInt(r.rules.errors)} errors, queue empty ${fmtInt(r.rules.catchUpMs)} ms after the last ack`)
  );
}

// Medians over runs; quiet runs only when there are any (`*` marks a figure from noisy runs only).
const table: string[] = [
  '| scenario | values/msg | config | msg/s | values/s | p50 ms | p99 ms | not committed | REST check | CPU gen / server / other | runs (quiet) |',
  '|---|--:|---|--:|--:|--:|--:|--:|---|--:|--:|',
];
// The issue's table: ingest per number of points already stored.
const byStore: string[] = [
  '| rows already stored | scenario | values/msg | config | msg/s | data points/s | PUBACK p50 / p99 ms | CPU gen / server |',
  '|--:|---|--:|---|--:|--:|--:|--:|',
];
for (const config of configs) {
  for (const values of valuesList) {
    for (const scenario of scenarios) {
      const all = rows.filter((r) => r.config === config && r.values === values && r.scenario === scenario && r.result !== undefined).map((r) => r.result!);
      if (all.length === 0) {
        table.push(`| ${scenario} | ${values} | ${configName(config)} | failed | | | | | | | 0 |`);
        continue;
      }
      const quiet = all.filter((x) => x.cpu.other < NOISY_PCT);
      const use = quiet.length > 0 ? quiet : all;
      const star = quiet.length > 0 ? '' : '*';
      const m = (f: (x: ScenarioResult) => number): number => median(use.map(f));
      const checkOk = all.every((x) => x.checked.stored === x.checked.expected && x.problems.length === 0);
      const checks = all.reduce((a, x) => a + x.checked.stored, 0);
      const expected = all.reduce((a, x) => a + x.checked.expected, 0);
      table.push(
        `| ${scenario} | ${values} | ${configName(config)} | ${fmtInt(m((x) => x.msgPerSec))}${star} | ${fmtInt(m((x) => x.valuesPerSec))}${star} | ` +
          `${scenario === 'mqtt-qos0' ? '-' : fmtMs(m((x) => x.p50))} | ${scenario === 'mqtt-qos0' ? '-' : fmtMs(m((x) => x.p99))} | ` +
          `${fmtInt(all.reduce((a, x) => a + x.notCommitted, 0))} | ${checkOk ? 'ok' : 'MISMATCH'} (${fmtInt(checks)}/${fmtInt(expected)}) | ` +
          `${fmtPct(m((x) => x.cpu.generator))} / ${fmtPct(m((x) => x.cpu.broker))} / ${fmtPct(m((x) => x.cpu.other))} | ${all.length} (${quiet.length}) |`,
      );
      byStore.push(
        `| ${fmtInt(config.seedPoints)} | ${scenario} | ${values} | ${configName(config)} | ${fmtInt(m((x) => x.msgPerSec))}${star} | ` +
          `${fmtInt(m((x) => x.valuesPerSec))}${star} | ${scenario === 'mqtt-qos0' ? '-' : `${fmtMs(m((x) => x.p50))} / ${fmtMs(m((x) => x.p99))}`} | ` +
          `${fmtPct(m((x) => x.cpu.generator))} / ${fmtPct(m((x) => x.cpu.broker))} |`,
      );
    }
  }
}
console.log(`\n${table.join('\n')}`);
if (seeded) console.log(`\n${byStore.join('\n')}`);
console.log(
  '\nmsg/s: MQTT messages or HTTP requests committed per second (QoS 1: first PUBLISH to last PUBACK; QoS 0: first PUBLISH until ' +
    '/metrics counted every value; HTTP: first request to last 200). values/s = msg/s x values/msg. p50/p99: PUBLISH -> PUBACK or ' +
    'request -> 200 under full load (queueing included). not committed: sum over runs. REST check: temperature values counted ' +
    `through GET /api/devices/{id}/telemetry for ${checkDevices} devices per scenario and run. CPU in % of one core (2 cores = 200%).`,
);
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ argv: process.argv.slice(2), rows }, null, 2));
if (cpuProfDir !== undefined) console.log(`\nCPU profiles of the server in ${cpuProfDir} (summarize with bench/broker/profile-summary.ts)`);

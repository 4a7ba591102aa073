// Replay speed: POST /api/rules/test over a real Thingstead (SQLite) holding `--points` stored values of
// `--devices` meters (voltage, current, power, one instant a second), for rules of several kinds; stored points
// evaluated per second as the answer reports them and as the wall time of the request gives them. Measures and
// prints; asserts nothing. See bench/README.md.
//
//   node --import tsx bench/rules/replay.ts [--points 3000000] [--devices 10] [--runs 3]
import { parseArgs } from 'node:util';
import { mulberry32 } from '@thingstead/core/testing';
import { startHarness } from '../../tests/e2e/harness';
import { int, median } from '../ingest/stats';
import { fleetInstant } from '../tsdb/fleet';

const { values: args } = parseArgs({
  options: { points: { type: 'string', default: '3000000' }, devices: { type: 'string', default: '10' }, runs: { type: 'string', default: '3' } },
  strict: true,
});
const points = int('points', args.points, 3_000_000);
const deviceCount = int('devices', args.devices, 10);
const runs = int('runs', args.runs, 3);

const h = await startHarness();
try {
  const token = await h.login();
  const ids: string[] = [];
  for (let i = 0; i < deviceCount; i++) ids.push((await h.createDevice(token, `meter-${i}`)).id);
  const instants = Math.ceil(points / (deviceCount * 3));
  const from = Date.now() - instants * 1000 - 120_000;
  const rnd = mulberry32(3);
  const t0 = performance.now();
  for (let b = 0; b < instants; b++) await h.app.store.telemetry.append(fleetInstant(ids, from + b * 1000, rnd, false));
  console.log(
    `# replay benchmark: ${(instants * deviceCount * 3).toLocaleString('en-US')} points stored for ${deviceCount} devices ` +
      `(${Math.round((performance.now() - t0) / 1000)} s to seed), ${runs} run(s)\n`,
  );
  const to = from + instants * 1000 + 60_000;
  const rules: Record<string, Record<string, unknown>> = {
    threshold: { condition: { type: 'threshold', key: 'voltage', op: '>', value: 231.5, hysteresis: 0.5 } },
    duration: {
      condition: { type: 'duration', forMs: 10_000, condition: { type: 'threshold', key: 'voltage', op: '>', value: 231.5, hysteresis: 0.5 } },
    },
    'window avg': { condition: { type: 'window', key: 'power', fn: 'avg', windowMs: 300_000, op: '>', value: 277 } },
    expression: { condition: { type: 'expression', expression: 'voltage * current > 278 and $device.name != "x"' } },
    'anomaly (z-score)': { condition: { type: 'anomaly', key: 'power', method: 'zscore', windowMs: 600_000, threshold: 3.5 } },
  };
  const table = ['| rule | points | evaluations | points/s (server-reported) | request ms | alarms |', '|---|--:|--:|--:|--:|--:|'];
  for (const [name, parts] of Object.entries(rules)) {
    const reported: number[] = [];
    const wall: number[] = [];
    let last: { points: number; evaluations: number; alarms: unknown[]; truncated: boolean } | undefined;
    for (let run = 0; run < runs; run++) {
      const t = performance.now();
      const r = await h.call('POST', '/api/rules/test', {
        token,
        body: {
          rule: { name, trigger: { type: 'telemetry' }, ...parts, actions: [{ type: 'alarm', alarmType: name, severity: 'MINOR' }] },
          devices: ids,
          from,
          to,
        },
      });
      if (r.status !== 200) throw new Error(`${name}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      wall.push(performance.now() - t);
      reported.push(r.body.pointsPerSecond as number);
      last = r.body;
      console.log(
        `${name} run ${run + 1}: ${Math.round(r.body.pointsPerSecond as number).toLocaleString('en-US')} points/s, ${Math.round(wall.at(-1) ?? 0)} ms`,
      );
    }
    table.push(
      `| ${name} | ${last?.points.toLocaleString('en-US')} | ${last?.evaluations.toLocaleString('en-US')} | ` +
        `${Math.round(median(reported)).toLocaleString('en-US')} | ${Math.round(median(wall)).toLocaleString('en-US')} | ${last?.alarms.length}${last?.truncated ? '+' : ''} |`,
    );
  }
  console.log(`\n${table.join('\n')}\n\nMedians of ${runs} runs. points/s: stored values read and evaluated per second of the replay.`);
} finally {
  await h.stop();
}

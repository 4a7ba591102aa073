// The rule engine alone: committed telemetry events for a fleet, as the bus delivers them, through N rules
// (bench/ingest/rules.ts); evaluations per second and CPU per message. Measures and prints; asserts nothing.
//
//   node --import tsx bench/rules/engine.ts [--rules 100] [--devices 1000] [--messages 100000] [--runs 3] [--profiles P]
//
// With --profiles P the devices are spread over P profiles and rule i is scoped to profile i % P.
import { parseArgs } from 'node:util';
import { createTestCore } from '@thingstead/core/testing';
import { benchRule } from '../ingest/rules';
import { median } from '../ingest/stats';

const { values: args } = parseArgs({
  options: {
    rules: { type: 'string', default: '100' },
    devices: { type: 'string', default: '1000' },
    messages: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    profiles: { type: 'string', default: '0' },
  },
});
const ruleCount = Number(args.rules);
const deviceCount = Number(args.devices);
const messages = Number(args.messages);
const runs = Number(args.runs);
const profileCount = Number(args.profiles);

const results: number[] = [];
for (let run = 1; run <= runs; run++) {
  const t = await createTestCore();
  const profiles: string[] = [];
  for (let i = 0; i < profileCount; i++) profiles.push((await t.core.profiles.create(t.asAdmin, { name: `p-${i}` })).id);
  const devices: string[] = [];
  for (let i = 0; i < deviceCount; i++) {
    const profileId = profiles.length > 0 ? profiles[i % profiles.length] : undefined;
    devices.push((await t.core.devices.create(t.asAdmin, { name: `d-${i}`, ...(profileId === undefined ? {} : { profileId }) })).id);
  }
  for (let i = 0; i < ruleCount; i++) await t.core.rules.create(t.asAdmin, benchRule(i, profiles));
  const tenantId = t.home.id;
  const send = async (n: number, from: number): Promise<void> => {
    const batch = [];
    for (let i = 0; i < n; i++) {
      const ts = t.clock.now() + from + i;
      const deviceId = devices[(from + i) % devices.length] ?? '';
      batch.push({
        tenantId,
        deviceId,
        points: [
          { deviceId, key: 'temperature', ts, value: 21.5 },
          { deviceId, key: 'humidity', ts, value: 24.75 },
          { deviceId, key: 'v2', ts, value: 28 },
        ],
      });
      if (batch.length === 50) await t.bus.publish('telemetry', { messages: batch.splice(0) });
    }
    if (batch.length > 0) await t.bus.publish('telemetry', { messages: batch });
    await t.core.ruleEngine.idle();
  };
  // Warm-up: every (rule, device) state exists, JIT done.
  await send(deviceCount * 2, 0);
  t.bus.published.length = 0;
  const before = t.core.ruleEngine.totals.evaluations;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let done = 0; done < messages; done += 5000) {
    await send(Math.min(5000, messages - done), deviceCount * 2 + done);
    t.bus.published.length = 0;
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const evaluations = t.core.ruleEngine.totals.evaluations - before;
  const usPerMsg = (cpu.user + cpu.system) / messages;
  results.push(messages / (ms / 1000));
  console.log(
    `run ${run}: ${ruleCount} rules${profileCount > 0 ? ` over ${profileCount} profiles` : ''}, ${deviceCount} devices: ${Math.round(messages / (ms / 1000))} msg/s, ` +
      `${Math.round(evaluations / (ms / 1000))} evaluations/s (${evaluations} of ${messages * ruleCount}), ${usPerMsg.toFixed(1)} µs CPU per message`,
  );
  await t.core.close();
}
console.log(`median: ${Math.round(median(results))} msg/s through ${ruleCount} rules`);

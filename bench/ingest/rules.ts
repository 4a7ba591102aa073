// Rules for the ingest benchmark's `--rules N` (bench/README.md): N active rules of the kinds the demo and the
// reference's examples use, triggered by the benchmark's keys (temperature, humidity, v2). Unscoped, every rule is
// in scope of every device, so every message is evaluated by every rule that reads one of its keys; with
// `--rule-profiles P` rule i is scoped to profile i % P (the devices are spread over the P profiles), so a message
// is evaluated by N / P rules, as in a fleet whose rules are written per kind of device.

const keys = ['temperature', 'humidity', 'v2'] as const;

/**
 * The i-th rule: threshold with hysteresis, duration, window average, JSONata expression, forecast, in turn; in
 * scope of profile i % profileIds.length when profiles are given, else of every device.
 */
export function benchRule(i: number, profileIds: readonly string[] = []): Record<string, unknown> {
  const profileId = profileIds.length > 0 ? profileIds[i % profileIds.length] : undefined;
  const rule = kindOf(i);
  return profileId === undefined ? rule : { ...rule, scope: { profileIds: [profileId] } };
}

function kindOf(i: number): Record<string, unknown> {
  const key = keys[i % keys.length] ?? 'temperature';
  const name = `bench rule ${i}`;
  const alarm = { type: 'alarm', alarmType: `bench ${i}`, severity: 'MINOR' };
  // Two rules hold all the time (their alarms stay active and are extended), the others never fire: the
  // benchmark's values are constant (21.5, 24.75, 28).
  const limit = i < 2 ? 0 : 1000;
  switch (i % 5) {
    case 0:
      return {
        name,
        trigger: { type: 'telemetry', keys: [key] },
        condition: { type: 'threshold', key, op: '>', value: limit, hysteresis: 2 },
        actions: [alarm],
      };
    case 1:
      return {
        name,
        trigger: { type: 'telemetry', keys: [key] },
        condition: { type: 'duration', forMs: 60_000, condition: { type: 'threshold', key, op: '>', value: limit } },
        actions: [{ type: 'rpc', method: 'cool', persistent: true }],
      };
    case 2:
      return {
        name,
        trigger: { type: 'telemetry', keys: [key] },
        condition: { type: 'window', key, fn: 'avg', windowMs: 300_000, op: '>', value: limit },
        actions: [alarm],
      };
    case 3:
      return {
        name,
        trigger: { type: 'telemetry', keys: [key] },
        condition: { type: 'expression', expression: `${key} > ${limit} and $device.name != 'x'` },
        actions: [alarm],
      };
    default:
      return {
        name,
        trigger: { type: 'telemetry', keys: [key] },
        condition: { type: 'forecast', key, windowMs: 600_000, horizonMs: 1_800_000, op: '>', value: limit },
        actions: [alarm],
      };
  }
}

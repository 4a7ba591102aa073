import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestCore } from '../testing/test-core';
import type { RuleDocument } from './model';

const minute = 60_000;

const forecastRule: RuleDocument = {
  name: 'overheating ahead',
  enabled: true,
  trigger: { type: 'telemetry', keys: ['temperature'] },
  condition: { type: 'forecast', key: 'temperature', windowMs: 10 * minute, horizonMs: 30 * minute, op: '>=', value: 80 },
  analytics: { minutesTo80: { type: 'until', key: 'temperature', windowMs: 10 * minute, threshold: 80 } },
  actions: [
    { type: 'alarm', alarmType: 'Overheating forecast', severity: 'WARNING' },
    { type: 'attributes', scope: 'server', values: { coolDown: true } },
  ],
};

describe('rules: replay', () => {
  it('a forecast rule warns before a linear rise crosses its threshold (clock-driven), and its replay reports the same warning at the same time', async () => {
    const t = await createTestCore();
    const d = await t.core.devices.create(t.asAdmin, { name: 'motor-1' });
    const rule = await t.core.rules.create(t.asAdmin, forecastRule);
    const start = t.clock.now();
    // 50 °C rising 0.5 °C a minute: it reaches 80 after 60 minutes.
    let crossedAt = 0;
    for (let i = 0; i <= 70; i++) {
      const temperature = 50 + 0.5 * i;
      if (temperature >= 80 && crossedAt === 0) crossedAt = t.clock.now();
      await t.core.telemetry.ingest({
        tenantId: t.home.id,
        deviceId: d.id,
        receivedAt: t.clock.now(),
        payload: { ts: t.clock.now(), values: { temperature } },
      });
      await t.core.ruleEngine.idle();
      t.clock.advance(minute);
    }
    const rises = (await t.core.rules.trace(t.asAdmin, rule.id)).filter((e) => e.change === 'rise');
    assert.equal(rises.length, 1, 'it warned once');
    const warnedAt = rises[0]?.at ?? 0;
    assert.ok(warnedAt < crossedAt - 20 * minute, `warned at +${(warnedAt - start) / minute} min, the value crossed at +${(crossedAt - start) / minute} min`);
    // The line of the last 10 minutes reaches 80 within 30 minutes from +30 min on.
    assert.ok(Math.abs(warnedAt - (start + 30 * minute)) <= minute, `warned at +${(warnedAt - start) / minute} min`);
    const until = rises[0]?.analytics.minutesTo80;
    assert.ok(typeof until === 'number' && Math.abs(until - 30 * minute) <= 2 * minute, `until ${until}`);

    const replay = await t.core.rules.test(t.asAdmin, { ruleId: rule.id, from: start, to: t.clock.now() });
    assert.equal(replay.devices, 1);
    assert.equal(replay.points, 71);
    assert.deepEqual(replay.transitions, [{ at: warnedAt, deviceId: d.id, result: true }]);
    assert.equal(replay.alarms.length, 1);
    const [alarm] = replay.alarms;
    assert.ok(alarm, 'one alarm');
    assert.equal(alarm.startTs, warnedAt);
    assert.equal(alarm.severity, 'WARNING');
    assert.equal(alarm.clearedAt, null);
    assert.equal(replay.actionCounts.attributes, 1);
    assert.ok(replay.pointsPerSecond > 0);
  });

  it('a draft is replayed without acting: a duration alarm raised and cleared with hysteresis, at simulated times', async () => {
    const t = await createTestCore();
    const d = await t.core.devices.create(t.asAdmin, { name: 'field-1' });
    const start = t.clock.now() - 40 * minute;
    // Moisture: 40 for 10 min, 20 for 10 min (dry), 27 for 5 min (still dry with hysteresis), then 40.
    const series = [...Array(10).fill(40), ...Array(10).fill(20), ...Array(5).fill(27), ...Array(10).fill(40)] as number[];
    const points = series.map((moisture, i) => ({ ts: start + i * minute, values: { moisture } }));
    await t.core.telemetry.ingest({ tenantId: t.home.id, deviceId: d.id, receivedAt: t.clock.now(), payload: points });
    const draft = {
      name: 'dry',
      trigger: { type: 'telemetry' },
      condition: { type: 'duration', forMs: 2 * minute, condition: { type: 'threshold', key: 'moisture', op: '<', value: 25, hysteresis: 5 } },
      actions: [
        { type: 'alarm', alarmType: 'Soil dry', severity: 'MINOR', escalation: [{ afterMs: 5 * minute, severity: 'MAJOR' }] },
        { type: 'rpc', method: 'setPump', params: { on: true } },
      ],
    };
    const r = await t.core.rules.test(t.asAdmin, { rule: draft, from: start, to: start + series.length * minute });
    assert.equal(r.alarms.length, 1);
    const alarm = r.alarms[0];
    assert.ok(alarm, 'one alarm');
    assert.equal(alarm.startTs, start + 12 * minute, 'dry from +10, true for 2 minutes at +12');
    assert.deepEqual(alarm.escalations, [{ at: start + 17 * minute, severity: 'MAJOR' }]);
    assert.equal(alarm.clearedAt, start + 25 * minute, 'cleared when moisture came back above 25 + 5');
    assert.equal(r.actionCounts.rpc, 1);
    assert.equal(t.bus.of('rpc.request').length, 0, 'nothing was sent');
    assert.equal((await t.core.rules.list(t.asAdmin, { limit: 10, offset: 0 })).total, 0, 'a draft is not saved');
  });

  it('replay refuses what it cannot run, naming the field', async () => {
    const t = await createTestCore();
    const now = t.clock.now();
    const rule = { name: 'c', trigger: { type: 'connectivity' }, actions: [{ type: 'rpc', method: 'x' }] };
    await assert.rejects(t.core.rules.test(t.asAdmin, { rule, from: now - 1000, to: now }), /connectivity events are not stored/);
    await assert.rejects(t.core.rules.test(t.asAdmin, { rule: { ...rule, trigger: { type: 'telemetry' } }, from: now, to: now - 1 }), /from must be before to/);
  });
});

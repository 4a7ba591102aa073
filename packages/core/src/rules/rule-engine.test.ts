import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestCore, type TestCore } from '../testing/test-core';
import { maxRulesPerTenant, type RuleDocument } from './model';

async function setup(): Promise<TestCore & { deviceId: string; send: (values: Record<string, unknown>) => Promise<void> }> {
  const t = await createTestCore();
  const d = await t.core.devices.create(t.asAdmin, { name: 'pump-1' });
  const send = async (values: Record<string, unknown>) => {
    await t.core.telemetry.ingest({ tenantId: t.home.id, deviceId: d.id, receivedAt: t.clock.now(), payload: { ts: t.clock.now(), values } });
    await t.core.ruleEngine.idle();
  };
  return { ...t, deviceId: d.id, send };
}

const base = (o: Partial<RuleDocument>): RuleDocument => ({ name: 'r', enabled: true, trigger: { type: 'telemetry' }, actions: [], ...o });

describe('rules: saving', () => {
  it('a broken JSONata expression is refused at save time with the field named', async () => {
    const t = await setup();
    await assert.rejects(
      t.core.rules.create(t.asAdmin, base({ condition: { type: 'expression', expression: 'temperature > (' }, actions: [{ type: 'rpc', method: 'x' }] })),
      (e: Error & { kind?: string; details?: { problems: { path: string; message: string }[] } }) => {
        assert.equal(e.kind, 'RULE_INVALID');
        const [problem] = e.details?.problems ?? [];
        assert.ok(problem, 'a problem');
        assert.equal(problem.path, '/condition/expression');
        assert.match(problem.message, /not a valid JSONata expression/);
        return true;
      },
    );
  });

  it('every bad field is named at once, nested ones by their JSON Pointer', async () => {
    const t = await setup();
    const doc = {
      name: '',
      trigger: { type: 'schedule', cron: 'every day' },
      condition: {
        type: 'all',
        conditions: [
          { type: 'threshold', key: 't', op: '=>', value: 1 },
          { type: 'duration', forMs: -1, condition: { type: 'nope' } },
        ],
      },
      actions: [{ type: 'alarm', alarmType: 'x', severity: 'HUGE', extra: 1 }],
    };
    const e = await t.core.rules.create(t.asAdmin, doc).then(
      () => assert.fail('saved'),
      (x: unknown) => x as { details: { problems: { path: string }[] } },
    );
    const paths = e.details.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, [
      '/actions/0/extra',
      '/actions/0/severity',
      '/condition/conditions/0/op',
      '/condition/conditions/1/condition/type',
      '/condition/conditions/1/forMs',
      '/name',
      '/trigger/cron',
    ]);
  });

  it('editing keeps the history; export and import round-trip (an unchanged rule stays at its version)', async () => {
    const t = await setup();
    const r = await t.core.rules.create(
      t.asAdmin,
      base({ name: 'hot', condition: { type: 'threshold', key: 't', op: '>', value: 30 }, actions: [{ type: 'rpc', method: 'fan' }] }),
    );
    await t.core.rules.update(t.asAdmin, r.id, {
      ...base({ name: 'hot' }),
      condition: { type: 'threshold', key: 't', op: '>', value: 35 },
      actions: [{ type: 'rpc', method: 'fan' }],
    });
    const versions = await t.core.rules.versions(t.asAdmin, r.id);
    assert.deepEqual(
      versions.map((v) => [v.version, (v.document.condition as { value: number }).value]),
      [
        [2, 35],
        [1, 30],
      ],
    );
    const file = await t.core.rules.export(t.asAdmin);
    assert.equal(file.rules.length, 1);
    assert.deepEqual(await t.core.rules.import(t.asAdmin, file), { created: 0, updated: 0, unchanged: 1 });
    const changed = {
      ...file,
      rules: [
        { ...file.rules[0], description: 'tuned' },
        { ...base({ name: 'new' }), actions: [{ type: 'rpc', method: 'x' }] },
      ],
    };
    assert.deepEqual(await t.core.rules.import(t.asAdmin, changed), { created: 1, updated: 1, unchanged: 0 });
    assert.equal((await t.core.rules.get(t.asAdmin, r.id)).version, 3);
    await assert.rejects(
      t.core.rules.import(t.asAdmin, { ...file, rules: [{ name: 'bad', trigger: { type: 'telemetry' }, actions: [] }] }),
      (e: { details: { problems: { path: string }[] } }) => {
        assert.equal(e.details.problems[0]?.path, '/rules/0/actions');
        return true;
      },
    );
  });
});

describe('rules: limits', () => {
  it('a tenant holds at most maxRulesPerTenant rules; an import that would pass it writes nothing', async () => {
    const t = await setup();
    const doc = (name: string) => base({ name, enabled: false, actions: [{ type: 'rpc', method: 'x' }] });
    const file = { format: 'thingstead.rules', version: 1, exportedAt: 0, rules: Array.from({ length: maxRulesPerTenant }, (_, i) => doc(`r${i}`)) };
    assert.equal((await t.core.rules.import(t.asAdmin, file)).created, maxRulesPerTenant);
    await assert.rejects(t.core.rules.create(t.asAdmin, doc('one more')), (e: Error & { kind?: string }) => e.kind === 'LIMIT_REACHED');
    const changed = { ...file, rules: [{ ...doc('r0'), description: 'changed' }, doc('new')] };
    await assert.rejects(t.core.rules.import(t.asAdmin, changed), (e: Error & { kind?: string }) => e.kind === 'LIMIT_REACHED');
    const r0 = (await t.core.rules.list(t.asAdmin, { search: 'r0', limit: 1, offset: 0 })).items[0];
    assert.equal(r0?.version, 1, 'the file was refused before anything was written');
    assert.deepEqual(await t.core.rules.import(t.asAdmin, { ...file, rules: [{ ...doc('r0'), description: 'changed' }] }), {
      created: 0,
      updated: 1,
      unchanged: 0,
    });
  });
});

describe('rules: live evaluation', () => {
  it('calculated telemetry is stored as its own series at the trigger time, and does not trigger its own rule again', async () => {
    const t = await setup();
    await t.core.rules.create(t.asAdmin, base({ name: 'power', actions: [{ type: 'telemetry', values: { power: 'voltage * current' } }] }));
    await t.send({ voltage: 230, current: 2 });
    await t.core.ruleEngine.idle();
    await t.core.ruleEngine.idle();
    const latest = await t.core.telemetry.latest(t.asAdmin, t.deviceId, ['power']);
    assert.deepEqual(latest.power, { ts: t.clock.now(), value: 460 });
    const [rule] = (await t.core.rules.list(t.asAdmin, { limit: 10, offset: 0 })).items;
    assert.equal(rule?.stats?.evaluations, 1, 'the power value did not trigger the rule again');
  });

  it('a threshold with hysteresis sets a shared attribute on rise and again on fall, and a value near the threshold does not flap', async () => {
    const t = await setup();
    await t.core.rules.create(
      t.asAdmin,
      base({
        name: 'irrigate',
        condition: { type: 'threshold', key: 'moisture', op: '<', valueFrom: 'shared.moistureMin', value: 30, hysteresis: 5 },
        actions: [
          { type: 'attributes', scope: 'shared', values: { pump: true }, cooldownMs: 0 },
          { type: 'attributes', scope: 'shared', values: { pump: false }, on: 'fall', cooldownMs: 0 },
        ],
      }),
    );
    const pump = async () => (await t.core.attributes.read(t.asAdmin, t.deviceId, { scope: 'shared' })).shared?.pump?.value;
    for (const [moisture, expected] of [
      [40, undefined],
      [29, true],
      [31, true],
      [34, true],
      [36, false],
      [32, false],
    ] as const) {
      t.clock.advance(1000);
      await t.send({ moisture });
      await new Promise((r) => setImmediate(r));
      assert.equal(await pump(), expected, `moisture ${moisture}`);
    }
  });

  it('scope: a rule runs for the devices of its profiles, of its device list, and those its filter takes; a device moved to another profile follows', async () => {
    const t = await createTestCore();
    const a = await t.core.profiles.create(t.asAdmin, { name: 'pumps' });
    const b = await t.core.profiles.create(t.asAdmin, { name: 'valves' });
    const pump = await t.core.devices.create(t.asAdmin, { name: 'pump-1', profileId: a.id });
    const valve = await t.core.devices.create(t.asAdmin, { name: 'valve-1', profileId: b.id });
    const other = await t.core.devices.create(t.asAdmin, { name: 'valve-2', profileId: b.id });
    const rule = async (name: string, scope?: NonNullable<RuleDocument['scope']>) =>
      t.core.rules.create(
        t.asAdmin,
        base({ name, ...(scope ? { scope } : {}), trigger: { type: 'telemetry', keys: ['x'] }, actions: [{ type: 'telemetry', values: { [name]: 'x' } }] }),
      );
    await rule('byProfile', { profileIds: [a.id] });
    await rule('byList', { profileIds: [a.id], deviceIds: [valve.id] });
    await rule('byFilter', { filter: "name = 'valve-2'" });
    await rule('everyone');
    const send = async (deviceId: string, x: number) => {
      await t.core.telemetry.ingest({ tenantId: t.home.id, deviceId, receivedAt: t.clock.now(), payload: { ts: t.clock.now(), values: { x } } });
      await t.core.ruleEngine.idle();
      await t.core.ruleEngine.idle();
    };
    const written = async (deviceId: string) =>
      Object.keys(await t.core.telemetry.latest(t.asAdmin, deviceId))
        .filter((k) => k !== 'x')
        .sort();
    await send(pump.id, 1);
    await send(valve.id, 2);
    await send(other.id, 3);
    assert.deepEqual(await written(pump.id), ['byList', 'byProfile', 'everyone'], 'the pump: its profile, the list by profile, every device');
    assert.deepEqual(await written(valve.id), ['byList', 'everyone'], 'valve-1: on the list by id, not of the profile');
    assert.deepEqual(await written(other.id), ['byFilter', 'everyone'], 'valve-2: taken by the filter only');
    await t.core.devices.update(t.asAdmin, other.id, { profileId: a.id });
    t.clock.advance(1000);
    await send(other.id, 4);
    const latest = await t.core.telemetry.latest(t.asAdmin, other.id);
    assert.equal(latest.byProfile?.value, 4, 'valve-2 moved to the pumps profile: the profile rule runs for it now');
    assert.equal(latest.byFilter?.value, 4, 'and its filter still takes it');
  });

  it('rules that feed each other calculated telemetry stop after maxChainedWrites writes to one instant, counted', { timeout: 30_000 }, async () => {
    const t = await setup();
    // Each is triggered by any key but its own, so each one's write triggers the other: without a bound, for ever.
    await t.core.rules.create(t.asAdmin, base({ name: 'a', actions: [{ type: 'telemetry', values: { a: '$exists(b) ? b + 1 : 1' } }] }));
    await t.core.rules.create(t.asAdmin, base({ name: 'b', actions: [{ type: 'telemetry', values: { b: '$exists(a) ? a + 1 : 1' } }] }));
    await t.send({ x: 1 });
    for (let i = 0; i < 40; i++) {
      await t.core.ruleEngine.idle();
      await new Promise((r) => setImmediate(r));
    }
    const { totals } = t.core.ruleEngine;
    assert.ok(totals.chainsStopped > 0, `the chain was stopped (${totals.chainsStopped})`);
    assert.ok(totals.actionsRun <= 2 + 16, `at most the first two writes and 16 chained ones, got ${totals.actionsRun}`);
    const latest = await t.core.telemetry.latest(t.asAdmin, t.deviceId, ['a', 'b']);
    assert.equal(latest.a?.ts, t.clock.now(), 'the calculated values are stored at the trigger instant');
    const runs = totals.actionsRun;
    await t.send({ x: 2 });
    for (let i = 0; i < 5; i++) await t.core.ruleEngine.idle();
    assert.equal(totals.actionsRun, runs, 'a new message at the same instant triggers nothing either: the instant is spent');
    t.clock.advance(1000);
    await t.send({ x: 3 });
    await t.core.ruleEngine.idle();
    assert.ok(totals.actionsRun > runs, 'a message at a new instant runs the rules again');
  });

  it('a duration condition fires when its time elapses, with no further message (a clock timer)', async () => {
    const t = await setup();
    const r = await t.core.rules.create(
      t.asAdmin,
      base({
        name: 'dry for 2 min',
        condition: { type: 'duration', forMs: 120_000, condition: { type: 'threshold', key: 'moisture', op: '<', value: 30 } },
        actions: [{ type: 'attributes', scope: 'server', values: { dry: true } }],
      }),
    );
    await t.send({ moisture: 20 });
    t.clock.advance(119_000);
    await t.core.ruleEngine.idle();
    assert.equal((await t.core.attributes.read(t.asAdmin, t.deviceId, { scope: 'server' })).server?.dry, undefined);
    t.clock.advance(1000);
    await t.core.ruleEngine.idle();
    await new Promise((r) => setImmediate(r));
    assert.equal((await t.core.attributes.read(t.asAdmin, t.deviceId, { scope: 'server' })).server?.dry?.value, true);
    const trace = await t.core.rules.trace(t.asAdmin, r.id);
    const [last] = trace;
    assert.ok(last, 'a trace entry');
    assert.equal(last.trigger, 'timer');
    assert.equal(last.change, 'rise');
    assert.equal(last.actions[0]?.status, 'done');
  });

  it('an alarm trigger runs on the alarm changes it names: raising and clearing run it, an acknowledgement does not', async () => {
    const t = await setup();
    await t.core.rules.create(
      t.asAdmin,
      base({
        name: 'hot',
        condition: { type: 'threshold', key: 't', op: '>', value: 30 },
        actions: [{ type: 'alarm', alarmType: 'Overheating', severity: 'MAJOR' }],
      }),
    );
    const follow = await t.core.rules.create(
      t.asAdmin,
      base({
        name: 'on overheating',
        trigger: { type: 'alarm', alarmTypes: ['Overheating'], changes: ['created', 'cleared'] },
        actions: [{ type: 'telemetry', values: { alarmChanges: '$count($string(event.change))' } }],
      }),
    );
    await t.send({ t: 35 });
    await t.core.ruleEngine.idle();
    await t.core.ruleEngine.idle();
    const [alarm] = (await t.core.alarms.list(t.asAdmin, { limit: 10, offset: 0 })).items;
    assert.ok(alarm, 'the alarm was raised');
    await t.core.alarms.acknowledge(t.asAdmin, alarm.id);
    t.clock.advance(1000);
    await t.send({ t: 20 });
    await t.core.ruleEngine.idle();
    await t.core.ruleEngine.idle();
    const trace = await t.core.rules.trace(t.asAdmin, follow.id);
    assert.deepEqual(
      trace.map((e) => e.trigger),
      ['alarm', 'alarm'],
      'created and cleared, not acknowledged',
    );
    assert.equal((await t.core.rules.get(t.asAdmin, follow.id)).stats?.evaluations, 2);
  });

  it('a rule that throws at run time is traced, counted and disabled after 10 failures in a row; another rule keeps working', async () => {
    const t = await setup();
    const bad = await t.core.rules.create(
      t.asAdmin,
      base({ name: 'bad', condition: { type: 'expression', expression: '$error("boom " & $string(x))' }, actions: [{ type: 'rpc', method: 'never' }] }),
    );
    await t.core.rules.create(t.asAdmin, base({ name: 'good', actions: [{ type: 'telemetry', values: { doubled: 'x * 2' } }] }));
    for (let i = 0; i < 12; i++) {
      t.clock.advance(10);
      await t.send({ x: i });
    }
    await t.core.ruleEngine.idle();
    const after = await t.core.rules.get(t.asAdmin, bad.id);
    assert.equal(after.enabled, false);
    assert.match(after.disabledReason ?? '', /^disabled after 10 failed evaluations in a row; the last: .*boom \d+$/);
    const versions = await t.core.rules.versions(t.asAdmin, bad.id);
    assert.equal(versions[0]?.createdBy, 'engine');
    const trace = await t.core.rules.trace(t.asAdmin, bad.id);
    assert.equal(trace.length, 10, 'the disabled rule still shows its failures');
    assert.equal(after.stats?.errors, 10);
    await t.core.rules.setEnabled(t.asAdmin, bad.id, true);
    const again = await t.core.rules.get(t.asAdmin, bad.id);
    assert.deepEqual(
      [again.enabled, again.stats?.errors, again.stats?.consecutiveErrors],
      [true, 10, 0],
      're-enabled: counts kept, errors in a row start again',
    );
    const disabled = t.bus.of('rule.changed').filter((e) => e.change === 'disabled');
    assert.equal(disabled.length, 1);
    assert.equal((await t.core.telemetry.latest(t.asAdmin, t.deviceId, ['doubled'])).doubled?.value, 22);
  });

  it('an expression that never ends is stopped by its step budget and reported as the rule error', async () => {
    const t = await setup();
    const r = await t.core.rules.create(
      t.asAdmin,
      base({
        name: 'loop',
        condition: { type: 'expression', expression: '($f := function($n){ $f($n + 1) }; $f(0))' },
        actions: [{ type: 'rpc', method: 'x' }],
      }),
    );
    await t.send({ x: 1 });
    const trace = await t.core.rules.trace(t.asAdmin, r.id);
    assert.match(trace[0]?.error ?? '', /nested deeper than|evaluation steps|longer than/);
    assert.equal((await t.core.rules.get(t.asAdmin, r.id)).stats?.errors, 1);
  });
});

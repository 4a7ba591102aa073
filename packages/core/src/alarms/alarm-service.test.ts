import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorName } from '../errors';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore, principal } from '../testing/test-core';

const refused = (p: Promise<unknown>, kind: ErrorName) => assert.rejects(p, rejectsWith(kind));

async function setup() {
  const t = await createTestCore();
  const d = await t.core.devices.create(t.asAdmin, { name: 'boiler-1' });
  const key = { tenantId: d.tenantId, deviceId: d.id, type: 'High temperature' };
  return { ...t, d, key };
}

test('a raise creates an alarm; raising it again extends it (endTs, details), escalates and lowers it; never a second one', async () => {
  const { core, clock, bus, asAdmin, key } = await setup();
  const t0 = clock.now();
  const first = await core.alarms.raise({ ...key, severity: 'MAJOR', at: t0, details: { temp: 81 }, ruleId: 'r1' });
  assert.equal(first.change, 'created');
  assert.deepEqual(
    [first.alarm.status, first.alarm.startTs, first.alarm.endTs, first.alarm.ruleId, first.alarm.ackTs, first.alarm.clearTs],
    ['ACTIVE_UNACK', t0, t0, 'r1', null, null],
  );
  clock.advance(1000);
  const again = await core.alarms.raise({ ...key, severity: 'MAJOR', at: t0 + 1000, details: { temp: 83 } });
  assert.equal(again.change, 'updated');
  assert.equal(again.alarm.id, first.alarm.id);
  assert.deepEqual([again.alarm.startTs, again.alarm.endTs, again.alarm.details], [t0, t0 + 1000, { temp: 83 }]);
  clock.advance(1000);
  const up = await core.alarms.raise({ ...key, severity: 'CRITICAL', at: t0 + 2000 });
  assert.deepEqual([up.change, up.alarm.severity, up.alarm.id], ['escalated', 'CRITICAL', first.alarm.id]);
  const down = await core.alarms.raise({ ...key, severity: 'WARNING', at: t0 + 1500 });
  assert.deepEqual([down.change, down.alarm.endTs], ['deescalated', t0 + 2000], 'a late raise does not move endTs back');
  const page = await core.alarms.list(asAdmin, { deviceId: key.deviceId });
  assert.equal(page.total, 1);
  assert.deepEqual(page.items[0], await core.alarms.get(asAdmin, first.alarm.id));
  const comments = (await core.alarms.comments(asAdmin, first.alarm.id)).items.map((c) => [c.userId, c.text]);
  assert.deepEqual(comments, [
    [null, 'Severity escalated from MAJOR to CRITICAL.'],
    [null, 'Severity lowered from CRITICAL to WARNING.'],
  ]);
  await bus.drain();
  assert.deepEqual(
    bus.of('alarm').map((e) => [e.change, e.severity, e.previousSeverity]),
    [
      ['created', 'MAJOR', undefined],
      ['updated', 'MAJOR', undefined],
      ['escalated', 'CRITICAL', 'MAJOR'],
      ['deescalated', 'WARNING', 'CRITICAL'],
    ],
  );
  const created = bus.of('alarm')[0];
  assert.deepEqual(created && [created.tenantId, created.deviceId, created.alarmId, created.type, created.at], [
    key.tenantId,
    key.deviceId,
    first.alarm.id,
    key.type,
    t0,
  ]);
});

test('clear ends the active alarm (undefined when none); a raise after it creates a new alarm', async () => {
  const { core, clock, bus, asAdmin, key } = await setup();
  const t0 = clock.now();
  assert.equal(await core.alarms.clear({ ...key, at: t0 }), undefined);
  const { alarm } = await core.alarms.raise({ ...key, severity: 'MINOR', at: t0 });
  clock.advance(500);
  const cleared = await core.alarms.clear({ ...key, at: t0 + 500, details: { temp: 60 }, ruleId: 'r1' });
  assert.deepEqual(
    [cleared?.id, cleared?.status, cleared?.clearTs, cleared?.clearedBy, cleared?.details],
    [alarm.id, 'CLEARED_UNACK', t0 + 500, 'rule:r1', { temp: 60 }],
  );
  assert.equal(await core.alarms.clear({ ...key, at: t0 + 600 }), undefined, 'nothing active any more');
  const next = await core.alarms.raise({ ...key, severity: 'MINOR', at: t0 + 700 });
  assert.equal(next.change, 'created');
  assert.notEqual(next.alarm.id, alarm.id);
  assert.deepEqual(
    (await core.alarms.list(asAdmin, { deviceId: key.deviceId })).items.map((a) => [a.id, a.status]),
    [
      [next.alarm.id, 'ACTIVE_UNACK'],
      [alarm.id, 'CLEARED_UNACK'],
    ],
  );
  await bus.drain();
  assert.deepEqual(
    bus.of('alarm').map((e) => e.change),
    ['created', 'cleared', 'created'],
  );
});

test('parallel raises of one device and type make one alarm; of other types one each', async () => {
  const { core, clock, asAdmin, key } = await setup();
  const at = clock.now();
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => core.alarms.raise({ ...key, severity: i % 2 ? 'MAJOR' : 'MINOR', at: at + i })));
  assert.equal(results.filter((r) => r.change === 'created').length, 1);
  assert.equal(new Set(results.map((r) => r.alarm.id)).size, 1);
  await Promise.all([core.alarms.raise({ ...key, type: 'Door open', severity: 'WARNING', at }), core.alarms.clear({ ...key, at: at + 50 })]);
  const page = await core.alarms.list(asAdmin, { deviceId: key.deviceId });
  assert.deepEqual(page.items.map((a) => [a.type, a.status, a.endTs]).sort(), [
    ['Door open', 'ACTIVE_UNACK', at],
    ['High temperature', 'CLEARED_UNACK', at + 19],
  ]);
});

test('acknowledge and clear by a user are idempotent; comments by users and the platform; counts', async () => {
  const { core, clock, bus, asAdmin, key, home } = await setup();
  const { alarm } = await core.alarms.raise({ ...key, severity: 'CRITICAL', at: clock.now() });
  await core.alarms.raise({ ...key, type: 'Low battery', severity: 'WARNING', at: clock.now() });
  const tenantAdmin = principal(home.id, 'tenant-admin', 'user-ta');
  clock.advance(10);
  const acked = await core.alarms.acknowledge(tenantAdmin, alarm.id);
  assert.deepEqual([acked.status, acked.ackTs, acked.ackBy], ['ACTIVE_ACK', clock.now(), 'user-ta']);
  clock.advance(10);
  assert.deepEqual(await core.alarms.acknowledge(asAdmin, alarm.id), acked, 'acknowledged already: unchanged');
  const note = await core.alarms.addComment(tenantAdmin, alarm.id, 'Technician on the way');
  assert.deepEqual(await core.alarms.counts(asAdmin, {}), {
    active: { CRITICAL: 1, MAJOR: 0, MINOR: 0, WARNING: 1, INDETERMINATE: 0 },
    activeTotal: 2,
    unacknowledged: 1,
    activeUnacknowledged: 1,
  });
  const cleared = await core.alarms.clearByUser(tenantAdmin, alarm.id);
  assert.deepEqual([cleared.status, cleared.clearTs, cleared.clearedBy], ['CLEARED_ACK', clock.now(), 'user-ta']);
  clock.advance(10);
  assert.deepEqual(await core.alarms.clearByUser(tenantAdmin, alarm.id), cleared, 'cleared already: unchanged');
  assert.deepEqual((await core.alarms.counts(asAdmin, { deviceId: key.deviceId })).active.CRITICAL, 0);
  assert.deepEqual(
    (await core.alarms.comments(asAdmin, alarm.id)).items.map((c) => [c.userId, c.text]),
    [
      [null, 'Acknowledged by user user-ta.'],
      ['user-ta', note.text],
      [null, 'Cleared by user user-ta.'],
    ],
  );
  await refused(core.alarms.addComment(tenantAdmin, alarm.id, '   '), 'VALIDATION');
  await refused(core.alarms.addComment(tenantAdmin, alarm.id, 'x'.repeat(4097)), 'VALIDATION');
  await core.alarms.delete(tenantAdmin, alarm.id);
  await refused(core.alarms.get(asAdmin, alarm.id), 'NOT_FOUND');
  await bus.drain();
  assert.deepEqual(
    bus.of('alarm').map((e) => e.change),
    ['created', 'created', 'acknowledged', 'cleared', 'deleted'],
  );
});

test('list filters by status, severities, type and start range; bad filters name their field', async () => {
  const { core, clock, asAdmin, key } = await setup();
  const t0 = clock.now();
  await core.alarms.raise({ ...key, type: 'A', severity: 'CRITICAL', at: t0 });
  await core.alarms.raise({ ...key, type: 'B', severity: 'MINOR', at: t0 + 10 });
  await core.alarms.raise({ ...key, type: 'C', severity: 'WARNING', at: t0 + 20 });
  await core.alarms.clear({ ...key, type: 'C', at: t0 + 30 });
  const types = async (f: Parameters<typeof core.alarms.list>[1]) => (await core.alarms.list(asAdmin, f)).items.map((a) => a.type);
  assert.deepEqual(await types({}), ['C', 'B', 'A']);
  assert.deepEqual(await types({ status: 'ACTIVE' }), ['B', 'A']);
  assert.deepEqual(await types({ status: 'CLEARED_UNACK' }), ['C']);
  assert.deepEqual(await types({ severity: 'CRITICAL,WARNING' }), ['C', 'A']);
  assert.deepEqual(await types({ severity: ['MINOR'] }), ['B']);
  assert.deepEqual(await types({ type: 'B' }), ['B']);
  assert.deepEqual(await types({ from: t0 + 5, to: t0 + 20 }), ['C', 'B']);
  assert.deepEqual(await types({ limit: 1, offset: 1 }), ['B']);
  for (const [f, field] of [
    [{ status: 'OPEN' }, 'status'],
    [{ severity: 'CRITICAL,HIGH' }, 'severity'],
    [{ limit: 0 }, 'limit'],
    [{ from: 1.5 }, 'from'],
    [{ type: '' }, 'type'],
  ] as const)
    await assert.rejects(
      core.alarms.list(asAdmin, f),
      (e: unknown) => rejectsWith('VALIDATION')(e) && (e as { details?: { field?: string } }).details?.field === field,
    );
});

test('raise validates its input: type, severity, details size, time, and the device of the tenant', async () => {
  const { core, clock, key } = await setup();
  const at = clock.now();
  await refused(core.alarms.raise({ ...key, type: '', severity: 'MAJOR', at }), 'VALIDATION');
  await refused(core.alarms.raise({ ...key, type: 'x'.repeat(129), severity: 'MAJOR', at }), 'VALIDATION');
  await refused(core.alarms.raise({ ...key, severity: 'HIGH' as never, at }), 'VALIDATION');
  await refused(core.alarms.raise({ ...key, severity: 'MAJOR', at, details: { big: 'y'.repeat(17_000) } }), 'VALIDATION');
  await refused(core.alarms.raise({ ...key, severity: 'MAJOR', at: Number.NaN }), 'VALIDATION');
  await refused(core.alarms.raise({ ...key, tenantId: 'another-tenant', severity: 'MAJOR', at }), 'NOT_FOUND');
  await refused(core.alarms.raise({ ...key, deviceId: 'no-such-device', severity: 'MAJOR', at }), 'NOT_FOUND');
  await refused(core.alarms.clear({ ...key, tenantId: 'another-tenant', at }), 'NOT_FOUND');
});

test('tenancy and roles: another tenant gets NOT_FOUND, a viewer reads but cannot act', async () => {
  const { core, clock, key, home, d } = await setup();
  const { alarm } = await core.alarms.raise({ ...key, severity: 'MAJOR', at: clock.now() });
  const viewer = principal(home.id, 'viewer');
  assert.equal((await core.alarms.get(viewer, alarm.id)).id, alarm.id);
  assert.equal((await core.alarms.list(viewer, {})).total, 1);
  await refused(core.alarms.acknowledge(viewer, alarm.id), 'FORBIDDEN');
  await refused(core.alarms.clearByUser(viewer, alarm.id), 'FORBIDDEN');
  await refused(core.alarms.addComment(viewer, alarm.id, 'hi'), 'FORBIDDEN');
  await refused(core.alarms.delete(viewer, alarm.id), 'FORBIDDEN');
  const stranger = principal('another-tenant', 'tenant-admin');
  await refused(core.alarms.get(stranger, alarm.id), 'NOT_FOUND');
  await refused(core.alarms.acknowledge(stranger, alarm.id), 'NOT_FOUND');
  await refused(core.alarms.comments(stranger, alarm.id), 'NOT_FOUND');
  await refused(core.alarms.list(stranger, { deviceId: d.id }), 'NOT_FOUND');
  await refused(core.alarms.list(stranger, { tenantId: home.id }), 'NOT_FOUND');
  await refused(core.alarms.counts(stranger, { deviceId: d.id }), 'NOT_FOUND');
  assert.equal((await core.alarms.list(stranger, {})).total, 0);
});

test('alarms go with their device', async () => {
  const { core, clock, asAdmin, key, d } = await setup();
  const { alarm } = await core.alarms.raise({ ...key, severity: 'MAJOR', at: clock.now() });
  await core.devices.delete(asAdmin, d.id);
  await refused(core.alarms.get(asAdmin, alarm.id), 'NOT_FOUND');
  assert.equal((await core.alarms.counts(asAdmin, {})).activeTotal, 0);
});

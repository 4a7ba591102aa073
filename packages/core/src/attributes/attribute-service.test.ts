import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore, principal } from '../testing/test-core';

async function setup() {
  const t = await createTestCore({ attributes: { maxKeysPerDevice: 8, maxScopeBytes: 200 } });
  const acme = await t.core.tenants.create(t.asAdmin, { name: 'Acme' });
  const other = await t.core.tenants.create(t.asAdmin, { name: 'Other' });
  const ta = principal(acme.id, 'tenant-admin');
  const device = await t.core.devices.create(ta, { name: 'boiler' });
  const asDevice = { deviceId: device.id, tenantId: acme.id };
  return { ...t, acme, ta, device, asDevice, viewer: principal(acme.id, 'viewer'), otherAdmin: principal(other.id, 'tenant-admin') };
}

test('users set and delete server and shared attributes, read every scope with update times; each change is one attributes event after commit', async () => {
  const { core, bus, clock, ta, device, acme } = await setup();
  const t0 = clock.now();
  assert.deepEqual(await core.attributes.set(ta, device.id, 'shared', { target: 21.5, mode: 'eco' }), { version: 1, updated: ['target', 'mode'], deleted: [] });
  clock.advance(10);
  await core.attributes.set(ta, device.id, 'server', { note: { installed: 2024 } });
  assert.deepEqual(await core.attributes.read(ta, device.id), {
    version: 2,
    client: {},
    server: { note: { value: { installed: 2024 }, updatedAt: t0 + 10 } },
    shared: { target: { value: 21.5, updatedAt: t0 }, mode: { value: 'eco', updatedAt: t0 } },
  });
  assert.deepEqual(await core.attributes.read(ta, device.id, { scope: 'shared', keys: ['mode', 'absent'] }), {
    version: 2,
    shared: { mode: { value: 'eco', updatedAt: t0 } },
  });
  assert.deepEqual(await core.attributes.delete(ta, device.id, 'shared', ['mode', 'absent']), { version: 3, updated: [], deleted: ['mode'] });
  assert.deepEqual(await core.attributes.delete(ta, device.id, 'shared', ['absent']), { version: 3, updated: [], deleted: [] }, 'nothing changed');
  assert.deepEqual(bus.of('attributes'), [
    { tenantId: acme.id, deviceId: device.id, scope: 'shared', updated: { target: 21.5, mode: 'eco' }, deleted: [], updatedAt: t0, version: 1 },
    { tenantId: acme.id, deviceId: device.id, scope: 'server', updated: { note: { installed: 2024 } }, deleted: [], updatedAt: t0 + 10, version: 2 },
    { tenantId: acme.id, deviceId: device.id, scope: 'shared', updated: {}, deleted: ['mode'], updatedAt: t0 + 10, version: 3 },
  ]);
});

test('client attributes are the device’s: users read them but setting or deleting them is ATTRIBUTE_SCOPE_READ_ONLY', async () => {
  const { core, bus, ta, device, asDevice } = await setup();
  assert.deepEqual(await core.attributes.report(asDevice, { fw: '1.2.0', battery: 87 }), { version: 1, updated: ['fw', 'battery'], deleted: [] });
  assert.equal(bus.of('attributes')[0]?.scope, 'client');
  await assert.rejects(core.attributes.set(ta, device.id, 'client', { fw: 'forged' }), rejectsWith('ATTRIBUTE_SCOPE_READ_ONLY'));
  await assert.rejects(core.attributes.delete(ta, device.id, 'client', ['fw']), rejectsWith('ATTRIBUTE_SCOPE_READ_ONLY'));
  assert.equal((await core.attributes.read(ta, device.id, { scope: 'client' })).client?.fw?.value, '1.2.0');
});

test('tenancy and roles as for devices: another tenant gets NOT_FOUND for everything, a viewer reads but changes nothing', async () => {
  const { core, ta, viewer, otherAdmin, device } = await setup();
  await core.attributes.set(ta, device.id, 'shared', { a: 1 });
  for (const op of [
    () => core.attributes.read(otherAdmin, device.id),
    () => core.attributes.set(otherAdmin, device.id, 'shared', { a: 2 }),
    () => core.attributes.delete(otherAdmin, device.id, 'shared', ['a']),
    () => core.attributes.twin(otherAdmin, device.id),
    () => core.attributes.patchDesired(otherAdmin, device.id, { version: 1, desired: { a: 2 } }),
  ])
    await assert.rejects(op(), rejectsWith('NOT_FOUND'));
  assert.equal((await core.attributes.twin(viewer, device.id)).version, 1);
  assert.equal((await core.attributes.read(viewer, device.id)).shared?.a?.value, 1);
  await assert.rejects(core.attributes.set(viewer, device.id, 'shared', { a: 2 }), rejectsWith('FORBIDDEN'));
  await assert.rejects(core.attributes.delete(viewer, device.id, 'server', ['a']), rejectsWith('FORBIDDEN'));
  await assert.rejects(core.attributes.patchDesired(viewer, device.id, { version: 1, desired: { a: 2 } }), rejectsWith('FORBIDDEN'));
  assert.equal((await core.attributes.read(ta, device.id)).shared?.a?.value, 1, 'nothing changed');
});

test('keys and values follow the telemetry rules (ATTRIBUTES_INVALID naming the path); nothing of a bad request is stored', async () => {
  const { core, ta, device, asDevice, bus } = await setup();
  const bad: [unknown, RegExp][] = [
    [[1, 2], /^\$: expected a JSON object/],
    ['text', /^\$: expected a JSON object/],
    [{ '': 1 }, /^\$: keys must not be empty/],
    [{ ['k'.repeat(129)]: 1 }, /^\$: key is longer than 128 characters/],
    [{ 'a\u0000b': 1 }, /^\$: keys must not contain control characters/],
    [{ '\ud800': 1 }, /unpaired surrogate/],
    [{ ok: 1, v: null }, /^\$\.v: value must not be null/],
    [{ v: 's'.repeat(1025) }, /^\$\.v: string value is longer than 1024 bytes/],
    [{ v: { deep: 'x'.repeat(1100) } }, /^\$\.v: JSON value is larger than 1024 bytes/],
    [{ v: Infinity }, /out of range/],
    [Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, i])), /more than 8 keys in one request/],
  ];
  for (const [values, message] of bad) {
    await assert.rejects(
      core.attributes.set(ta, device.id, 'shared', values),
      (e) => rejectsWith('ATTRIBUTES_INVALID')(e) && message.test((e as Error).message),
    );
    await assert.rejects(core.attributes.report(asDevice, values), rejectsWith('ATTRIBUTES_INVALID'));
  }
  await assert.rejects(core.attributes.delete(ta, device.id, 'shared', ['ok', 'k'.repeat(129)]), rejectsWith('ATTRIBUTES_INVALID'));
  await assert.rejects(core.attributes.delete(ta, device.id, 'shared', []), rejectsWith('VALIDATION'));
  assert.deepEqual(await core.attributes.read(ta, device.id), { version: 0, client: {}, server: {}, shared: {} });
  assert.equal(bus.of('attributes').length, 0);
  // A key named like an Object.prototype property is an ordinary key.
  await core.attributes.report(asDevice, JSON.parse('{"__proto__": 1, "constructor": 2}'));
  assert.deepEqual(Object.keys((await core.attributes.read(ta, device.id)).client ?? {}).sort(), ['__proto__', 'constructor']);
});

test('limits: keys per device over all scopes and bytes per scope, against what is stored (ATTRIBUTE_LIMIT); a refused write changes nothing', async () => {
  const { core, ta, device, asDevice, bus } = await setup();
  await core.attributes.report(asDevice, { a: 1, b: 2, c: 3, d: 4 });
  await core.attributes.set(ta, device.id, 'server', { e: 5, g: 6, h: 7 });
  await assert.rejects(
    core.attributes.set(ta, device.id, 'shared', { i: 8, f: 9 }),
    (e) => rejectsWith('ATTRIBUTE_LIMIT')(e) && /would have 9 attributes; at most 8/.test((e as Error).message),
  );
  await core.attributes.set(ta, device.id, 'shared', { f: 'x'.repeat(150) });
  await assert.rejects(
    core.attributes.set(ta, device.id, 'shared', { f: 'x'.repeat(1100) }),
    (e) => rejectsWith('ATTRIBUTES_INVALID')(e),
    'a value over telemetry.maxValueBytes is invalid on its own',
  );
  await assert.rejects(
    core.attributes.patchDesired(ta, device.id, { version: 3, desired: { f: 'y'.repeat(199) } }),
    (e) => rejectsWith('ATTRIBUTE_LIMIT')(e) && /shared attributes would take 202 bytes; at most 200/.test((e as Error).message),
  );
  assert.equal((await core.attributes.twin(ta, device.id)).desired.f?.value, 'x'.repeat(150));
  assert.equal(bus.of('attributes').length, 3);
});

test('the device reads its client and shared attributes (named keys, or all of a scope), never server ones; always the current state', async () => {
  const { core, ta, device, asDevice } = await setup();
  await core.attributes.report(asDevice, { fw: '1.0' });
  await core.attributes.set(ta, device.id, 'shared', { interval: 60, mode: 'eco' });
  await core.attributes.set(ta, device.id, 'server', { secret: 'not for the device' });
  assert.deepEqual(await core.attributes.forDevice(asDevice), { client: { fw: '1.0' }, shared: { interval: 60, mode: 'eco' } });
  assert.deepEqual(await core.attributes.forDevice(asDevice, { clientKeys: [], sharedKeys: ['mode', 'secret'] }), { client: {}, shared: { mode: 'eco' } });
  await core.attributes.set(ta, device.id, 'shared', { mode: 'boost' });
  assert.deepEqual((await core.attributes.forDevice(asDevice, { sharedKeys: ['mode'] })).shared, { mode: 'boost' }, 'what changed while it was away');
});

test('the twin: desired (shared), reported (client), delta of desired keys reported missing or different; PATCH with the current version, else TWIN_VERSION_CONFLICT', async () => {
  const { core, ta, device, asDevice, clock, bus } = await setup();
  const t0 = clock.now();
  assert.deepEqual(await core.attributes.twin(ta, device.id), { version: 0, desired: {}, reported: {}, delta: {} });
  let twin = await core.attributes.patchDesired(ta, device.id, { version: 0, desired: { interval: 60, cfg: { a: 1, b: [1, 2] }, mode: 'eco' } });
  assert.equal(twin.version, 1);
  assert.deepEqual(Object.keys(twin.delta).sort(), ['cfg', 'interval', 'mode']);
  clock.advance(5);
  await core.attributes.report(asDevice, { interval: 60, cfg: { b: [1, 2], a: 1 }, mode: 'normal', uptime: 9 });
  twin = await core.attributes.twin(ta, device.id);
  assert.deepEqual(twin, {
    version: 2,
    desired: {
      interval: { value: 60, updatedAt: t0 },
      cfg: { value: { a: 1, b: [1, 2] }, updatedAt: t0 },
      mode: { value: 'eco', updatedAt: t0 },
    },
    reported: {
      interval: { value: 60, updatedAt: t0 + 5 },
      cfg: { value: { b: [1, 2], a: 1 }, updatedAt: t0 + 5 },
      mode: { value: 'normal', updatedAt: t0 + 5 },
      uptime: { value: 9, updatedAt: t0 + 5 },
    },
    delta: { mode: { value: 'eco', updatedAt: t0 } },
  });
  // The device's report moved the version: an editor who read version 1 is refused, and nothing changes.
  await assert.rejects(core.attributes.patchDesired(ta, device.id, { version: 1, desired: { mode: 'normal' } }), (e) => {
    rejectsWith('TWIN_VERSION_CONFLICT')(e);
    assert.deepEqual((e as { details?: unknown }).details, { version: 2 });
    return /at version 2, not 1/.test((e as Error).message);
  });
  const events = bus.of('attributes').length;
  twin = await core.attributes.patchDesired(ta, device.id, { version: 2, desired: { mode: 'normal', interval: null } });
  assert.equal(twin.version, 3);
  assert.deepEqual(Object.keys(twin.desired).sort(), ['cfg', 'mode']);
  assert.deepEqual(twin.delta, {});
  assert.deepEqual(bus.of('attributes').slice(events), [
    { tenantId: device.tenantId, deviceId: device.id, scope: 'shared', updated: { mode: 'normal' }, deleted: ['interval'], updatedAt: t0 + 5, version: 3 },
  ]);
  await assert.rejects(core.attributes.patchDesired(ta, device.id, { version: -1, desired: {} }), rejectsWith('VALIDATION'));
  await assert.rejects(core.attributes.patchDesired(ta, device.id, { version: 3, desired: { ok: 1, '': 2 } }), rejectsWith('ATTRIBUTES_INVALID'));
  await assert.rejects(core.attributes.patchDesired(ta, device.id, { version: 3, desired: [] }), rejectsWith('ATTRIBUTES_INVALID'));
});

test('two editors of one version: exactly one PATCH wins, the other gets TWIN_VERSION_CONFLICT', async () => {
  const { core, ta, device } = await setup();
  const results = await Promise.allSettled(['a', 'b', 'c'].map((v) => core.attributes.patchDesired(ta, device.id, { version: 0, desired: { v } })));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) if (r.status === 'rejected') rejectsWith('TWIN_VERSION_CONFLICT')(r.reason);
});

test('a deleted device: its attributes go with it, and a write for it is NOT_FOUND', async () => {
  const { core, ta, device, asDevice, store } = await setup();
  await core.attributes.report(asDevice, { a: 1 });
  await core.devices.delete(ta, device.id);
  await assert.rejects(core.attributes.report(asDevice, { a: 2 }), rejectsWith('NOT_FOUND'));
  assert.deepEqual(await store.attributes.read(device.id), { version: 0, client: {}, server: {}, shared: {} });
});

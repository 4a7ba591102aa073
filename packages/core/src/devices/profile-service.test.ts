import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore, principal } from '../testing/test-core';

async function setup() {
  const t = await createTestCore();
  const acme = await t.core.tenants.create(t.asAdmin, { name: 'Acme' });
  const other = await t.core.tenants.create(t.asAdmin, { name: 'Other' });
  return { ...t, acme, ta: principal(acme.id, 'tenant-admin'), viewer: principal(acme.id, 'viewer'), otherAdmin: principal(other.id, 'tenant-admin') };
}

test('create and update: names are unique per tenant (PROFILE_NAME_TAKEN), not across tenants', async () => {
  const { core, ta, otherAdmin } = await setup();
  const p = await core.profiles.create(ta, { name: 'sensors', description: 'd', defaultSettings: { a: 1 } });
  assert.deepEqual([p.name, p.description, p.defaultSettings, p.isDefault], ['sensors', 'd', { a: 1 }, false]);
  await assert.rejects(core.profiles.create(ta, { name: 'sensors' }), rejectsWith('PROFILE_NAME_TAKEN'));
  await assert.rejects(core.profiles.create(ta, { name: 'default' }), rejectsWith('PROFILE_NAME_TAKEN'), 'the default profile has that name');
  await core.profiles.create(otherAdmin, { name: 'sensors' });
  const q = await core.profiles.create(ta, { name: 'meters' });
  await assert.rejects(core.profiles.update(ta, q.id, { name: 'sensors' }), rejectsWith('PROFILE_NAME_TAKEN'));
  assert.deepEqual(await core.profiles.update(ta, q.id, { description: 'water' }), { ...q, description: 'water' });
  assert.deepEqual(
    (await core.profiles.list(ta, {})).items.map((x) => x.name),
    ['default', 'meters', 'sensors'],
  );
});

test("tenancy and roles: another tenant's profile is NOT_FOUND; a viewer reads but does not write", async () => {
  const { core, ta, viewer, otherAdmin } = await setup();
  const p = await core.profiles.create(ta, { name: 'p' });
  await assert.rejects(core.profiles.get(otherAdmin, p.id), rejectsWith('NOT_FOUND'));
  await assert.rejects(core.profiles.delete(otherAdmin, p.id), rejectsWith('NOT_FOUND'));
  assert.equal((await core.profiles.get(viewer, p.id)).id, p.id);
  await assert.rejects(core.profiles.update(viewer, p.id, { name: 'q' }), rejectsWith('FORBIDDEN'));
  await assert.rejects(core.profiles.create(viewer, { name: 'q' }), rejectsWith('FORBIDDEN'));
});

test('delete: the default profile never (DEFAULT_PROFILE), a used one not while devices use it (IN_USE)', async () => {
  const { core, store, ta, acme } = await setup();
  const def = await store.profiles.findDefault(acme.id);
  await assert.rejects(core.profiles.delete(ta, def?.id ?? ''), rejectsWith('DEFAULT_PROFILE'));
  const p = await core.profiles.create(ta, { name: 'p' });
  const d = await core.devices.create(ta, { name: 'd', profileId: p.id });
  await assert.rejects(core.profiles.delete(ta, p.id), rejectsWith('IN_USE'));
  await core.devices.update(ta, d.id, { profileId: def?.id });
  await core.profiles.delete(ta, p.id);
  await assert.rejects(core.profiles.get(ta, p.id), rejectsWith('NOT_FOUND'));
});

test('inactivityTimeoutSec: 600 by default, whole seconds from 1 to 30 days; a change is announced on the bus', async () => {
  const { core, ta, acme, store, bus } = await setup();
  assert.equal((await store.profiles.findDefault(acme.id))?.inactivityTimeoutSec, 600, "a tenant's default profile");
  const p = await core.profiles.create(ta, { name: 'p' });
  assert.equal(p.inactivityTimeoutSec, 600);
  assert.equal((await core.profiles.create(ta, { name: 'fast', inactivityTimeoutSec: 1 })).inactivityTimeoutSec, 1);
  for (const bad of [0, -5, 1.5, 30 * 24 * 3600 + 1, Number.NaN]) {
    await assert.rejects(core.profiles.create(ta, { name: `bad ${bad}`, inactivityTimeoutSec: bad }), rejectsWith('VALIDATION'));
    await assert.rejects(core.profiles.update(ta, p.id, { inactivityTimeoutSec: bad }), rejectsWith('VALIDATION'));
  }
  assert.equal((await core.profiles.update(ta, p.id, { description: 'd' })).inactivityTimeoutSec, 600);
  assert.deepEqual(bus.of('profile.updated'), [], 'no event when the timeout stays');
  assert.equal((await core.profiles.update(ta, p.id, { inactivityTimeoutSec: 30 * 24 * 3600 })).inactivityTimeoutSec, 30 * 24 * 3600);
  assert.equal((await core.profiles.get(ta, p.id)).inactivityTimeoutSec, 30 * 24 * 3600);
  assert.deepEqual(bus.of('profile.updated'), [{ profileId: p.id, tenantId: acme.id }]);
});

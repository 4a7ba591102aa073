import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore, principal } from '../testing/test-core';
import { defaultProfileName } from './tenant-service';

test('a system admin creates a tenant, which starts with its default device profile; a taken name is TENANT_NAME_TAKEN', async () => {
  const { core, store, asAdmin, clock } = await createTestCore();
  const t = await core.tenants.create(asAdmin, { name: '  Acme  ' });
  assert.deepEqual(t, { id: t.id, name: 'Acme', createdAt: clock.now() });
  const profile = await store.profiles.findDefault(t.id);
  assert.equal(profile?.name, defaultProfileName);
  assert.equal(profile.isDefault, true);
  await assert.rejects(core.tenants.create(asAdmin, { name: 'Acme' }), rejectsWith('TENANT_NAME_TAKEN'));
  await assert.rejects(core.tenants.create(asAdmin, { name: ' ' }), rejectsWith('VALIDATION'));
});

test('only a system admin creates, renames or deletes tenants; others see their own tenant only', async () => {
  const { core, asAdmin, home } = await createTestCore();
  const acme = await core.tenants.create(asAdmin, { name: 'Acme' });
  const other = await core.tenants.create(asAdmin, { name: 'Other' });
  const tenantAdmin = principal(acme.id, 'tenant-admin');
  await assert.rejects(core.tenants.create(tenantAdmin, { name: 'Mine' }), rejectsWith('FORBIDDEN'));
  await assert.rejects(core.tenants.update(tenantAdmin, acme.id, { name: 'Renamed' }), rejectsWith('FORBIDDEN'));
  await assert.rejects(core.tenants.delete(tenantAdmin, other.id), rejectsWith('FORBIDDEN'));
  assert.deepEqual(
    (await core.tenants.list(tenantAdmin, {})).items.map((t) => t.name),
    ['Acme'],
  );
  assert.equal((await core.tenants.list(tenantAdmin, { search: 'oth' })).total, 0);
  await assert.rejects(core.tenants.get(tenantAdmin, other.id), rejectsWith('NOT_FOUND'));
  assert.deepEqual(
    (await core.tenants.list(asAdmin, { sort: 'name' })).items.map((t) => t.name),
    ['Acme', home.name, 'Other'],
  );
});

test('rename: to a taken name is TENANT_NAME_TAKEN, to its own name is fine', async () => {
  const { core, asAdmin } = await createTestCore();
  const acme = await core.tenants.create(asAdmin, { name: 'Acme' });
  await core.tenants.create(asAdmin, { name: 'Other' });
  await assert.rejects(core.tenants.update(asAdmin, acme.id, { name: 'Other' }), rejectsWith('TENANT_NAME_TAKEN'));
  assert.equal((await core.tenants.update(asAdmin, acme.id, { name: 'Acme' })).name, 'Acme');
  assert.equal((await core.tenants.update(asAdmin, acme.id, { name: 'Acme Inc' })).name, 'Acme Inc');
  assert.equal((await core.tenants.get(asAdmin, acme.id)).name, 'Acme Inc');
});

test('deleting a tenant deletes what it owns and says so on the bus; the home of a system admin cannot be deleted', async () => {
  const { core, store, bus, asAdmin, home } = await createTestCore();
  const acme = await core.tenants.create(asAdmin, { name: 'Acme' });
  const d = await core.devices.create(asAdmin, { name: 'd', tenantId: acme.id });
  await assert.rejects(core.tenants.delete(asAdmin, home.id), rejectsWith('TENANT_HAS_ADMIN'));
  const second = await core.users.create(asAdmin, { email: 'root2@example.com', password: 'password two', role: 'admin', tenantId: acme.id });
  await assert.rejects(core.tenants.delete(asAdmin, acme.id), rejectsWith('TENANT_HAS_ADMIN'), 'another admin lives there');
  await core.users.delete(asAdmin, second.id);
  await core.tenants.delete(asAdmin, acme.id);
  assert.equal(await store.tenants.get(acme.id), undefined);
  assert.equal(await store.devices.get(d.id), undefined);
  assert.deepEqual(bus.of('tenant.deleted'), [{ tenantId: acme.id }]);
  await assert.rejects(core.tenants.get(asAdmin, acme.id), rejectsWith('NOT_FOUND'));
});

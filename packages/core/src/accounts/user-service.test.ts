import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore, principal, testAdmin } from '../testing/test-core';
import { verifyPassword } from './password';

const password = 'a long password';

test('create: email is normalised and unique across tenants (EMAIL_TAKEN); the password is stored hashed, never returned', async () => {
  const { core, store, asAdmin } = await createTestCore();
  const acme = await core.tenants.create(asAdmin, { name: 'Acme' });
  const u = await core.users.create(asAdmin, { email: ' Ann@Example.COM ', password, role: 'viewer', tenantId: acme.id });
  assert.equal(u.email, 'ann@example.com');
  assert.equal('passwordHash' in u, false);
  const stored = await store.users.get(u.id);
  assert.ok(stored && stored.passwordHash !== password && (await verifyPassword(password, stored.passwordHash)));
  await assert.rejects(core.users.create(asAdmin, { email: 'ann@example.com', password, role: 'viewer' }), rejectsWith('EMAIL_TAKEN'), 'in another tenant too');
  await assert.rejects(core.users.create(asAdmin, { email: 'bob@example.com', password: 'short', role: 'viewer' }), rejectsWith('VALIDATION'));
  await assert.rejects(core.users.create(asAdmin, { email: 'not an email', password, role: 'viewer' }), rejectsWith('VALIDATION'));
});

test('a tenant admin manages users of its own tenant only and cannot grant admin; a viewer manages nobody', async () => {
  const { core, asAdmin } = await createTestCore();
  const acme = await core.tenants.create(asAdmin, { name: 'Acme' });
  const other = await core.tenants.create(asAdmin, { name: 'Other' });
  const ta = principal(acme.id, 'tenant-admin');
  const u = await core.users.create(ta, { email: 'v@example.com', password, role: 'viewer' });
  assert.equal(u.tenantId, acme.id);
  await assert.rejects(core.users.create(ta, { email: 'x@example.com', password, role: 'viewer', tenantId: other.id }), rejectsWith('NOT_FOUND'));
  await assert.rejects(core.users.create(ta, { email: 'x@example.com', password, role: 'admin' }), rejectsWith('FORBIDDEN'));
  await assert.rejects(core.users.create(principal(acme.id, 'viewer'), { email: 'x@example.com', password, role: 'viewer' }), rejectsWith('FORBIDDEN'));
  const foreign = await core.users.create(asAdmin, { email: 'o@example.com', password, role: 'viewer', tenantId: other.id });
  await assert.rejects(core.users.get(ta, foreign.id), rejectsWith('NOT_FOUND'));
  await assert.rejects(core.users.update(ta, foreign.id, { role: 'tenant-admin' }), rejectsWith('NOT_FOUND'));
  assert.deepEqual(
    (await core.users.list(ta, {})).items.map((x) => x.email),
    ['v@example.com'],
  );
});

test('anyone changes their own email and password; role and disabling need a tenant admin; email taken is EMAIL_TAKEN', async () => {
  const { core, asAdmin } = await createTestCore();
  const acme = await core.tenants.create(asAdmin, { name: 'Acme' });
  const v = await core.users.create(asAdmin, { email: 'v@example.com', password, role: 'viewer', tenantId: acme.id });
  await core.users.create(asAdmin, { email: 'w@example.com', password, role: 'viewer', tenantId: acme.id });
  const self = principal(acme.id, 'viewer', v.id);
  assert.equal((await core.users.update(self, v.id, { email: 'V2@example.com' })).email, 'v2@example.com');
  await assert.rejects(core.users.update(self, v.id, { email: 'w@example.com' }), rejectsWith('EMAIL_TAKEN'));
  await assert.rejects(core.users.update(self, v.id, { role: 'tenant-admin' }), rejectsWith('FORBIDDEN'));
  await assert.rejects(core.users.update(self, v.id, { disabled: true }), rejectsWith('FORBIDDEN'));
  await assert.rejects(
    core.users.update(principal(acme.id, 'tenant-admin', 'ta'), 'ta', { disabled: true }),
    rejectsWith('NOT_FOUND'),
    'the principal names no stored user',
  );
});

test("a new password, role or disabling ends the user's sessions; role changes and disabling are announced on the bus", async () => {
  const { core, store, bus, asAdmin, clock } = await createTestCore();
  const acme = await core.tenants.create(asAdmin, { name: 'Acme' });
  const v = await core.users.create(asAdmin, { email: 'v@example.com', password, role: 'viewer', tenantId: acme.id });
  const login = await core.auth.login('v@example.com', password, '10.0.0.1');
  await core.users.update(asAdmin, v.id, { role: 'tenant-admin' });
  const [id] = login.refreshToken.split('.');
  assert.equal((await store.refreshTokens.get(id ?? ''))?.revokedAt, clock.now());
  await core.users.update(asAdmin, v.id, { disabled: true });
  assert.deepEqual(
    bus.of('user.access').map((e) => e.change),
    ['role', 'disabled'],
  );
  await assert.rejects(core.auth.login('v@example.com', password, '10.0.0.1'), rejectsWith('ACCOUNT_DISABLED'));
  await core.users.delete(asAdmin, v.id);
  assert.deepEqual(
    bus.of('user.access').map((e) => e.change),
    ['role', 'disabled', 'deleted'],
  );
});

test('the last enabled system admin cannot be deleted, demoted or disabled (LAST_ADMIN); with a second one it can', async () => {
  const { core, asAdmin, admin } = await createTestCore();
  await assert.rejects(core.users.delete(asAdmin, admin.id), rejectsWith('LAST_ADMIN'));
  await assert.rejects(core.users.update(asAdmin, admin.id, { role: 'viewer' }), rejectsWith('LAST_ADMIN'));
  const second = await core.users.create(asAdmin, { email: 'root2@example.com', password, role: 'admin' });
  const asSecond = { ...asAdmin, userId: second.id };
  await assert.rejects(core.users.update(asAdmin, admin.id, { disabled: true }), rejectsWith('FORBIDDEN'), 'not oneself');
  await core.users.update(asSecond, admin.id, { disabled: true });
  await assert.rejects(core.users.delete(asAdmin, second.id), rejectsWith('LAST_ADMIN'), 'the disabled one does not count');
  await assert.rejects(core.auth.login(testAdmin.email, testAdmin.password, '10.0.0.9'), rejectsWith('ACCOUNT_DISABLED'));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore, principal } from '../testing/test-core';
import { maxApiKeysPerUser } from './api-key-service';

async function setup() {
  const t = await createTestCore();
  const acme = await t.core.tenants.create(t.asAdmin, { name: 'Acme' });
  const ann = await t.core.users.create(t.asAdmin, { email: 'ann@example.com', password: 'ann password', role: 'viewer', tenantId: acme.id });
  const bob = await t.core.users.create(t.asAdmin, { email: 'bob@example.com', password: 'bob password', role: 'viewer', tenantId: acme.id });
  return {
    ...t,
    acme,
    asAnn: principal(acme.id, 'viewer', ann.id),
    asBob: principal(acme.id, 'viewer', bob.id),
    asTenantAdmin: principal(acme.id, 'tenant-admin'),
  };
}

test("a key is shown once; only its hash is stored; it authenticates as its owner with the owner's current role", async () => {
  const { core, store, asAnn, asAdmin } = await setup();
  const k = await core.apiKeys.create(asAnn, { name: 'ci' });
  assert.match(k.key, /^tsk_[0-9a-f]{32}_/);
  assert.equal(k.prefix, k.key.slice(0, 12));
  const stored = await store.apiKeys.get(k.id);
  // The secret is everything after tsk_<id>_ (base64url may hold '_' itself: splitting on it once gave a
  // one-letter piece that the stored hash happened to contain).
  const secret = k.key.slice(k.key.indexOf('_', 4) + 1);
  assert.ok(secret.length >= 20);
  assert.ok(stored && !JSON.stringify(stored).includes(secret), 'the secret is not stored');
  assert.deepEqual(await core.auth.authenticate(k.key), { userId: asAnn.userId, tenantId: asAnn.tenantId, role: 'viewer', via: 'api-key', apiKeyId: k.id });
  await core.users.update(asAdmin, asAnn.userId, { role: 'tenant-admin' });
  assert.equal((await core.auth.authenticate(k.key)).role, 'tenant-admin');
  await assert.rejects(core.auth.authenticate(`${k.key.slice(0, -1)}x`), rejectsWith('TOKEN_INVALID'));
});

test('users list and revoke their own keys; a tenant admin sees and revokes every key of the tenant; a revoked key stops working', async () => {
  const { core, bus, asAnn, asBob, asTenantAdmin } = await setup();
  const a = await core.apiKeys.create(asAnn, { name: 'ann-key' });
  const b = await core.apiKeys.create(asBob, { name: 'bob-key' });
  assert.deepEqual(
    (await core.apiKeys.list(asAnn)).map((k) => k.name),
    ['ann-key'],
  );
  assert.deepEqual((await core.apiKeys.list(asTenantAdmin)).map((k) => k.name).sort(), ['ann-key', 'bob-key']);
  assert.equal(JSON.stringify(await core.apiKeys.list(asTenantAdmin)).includes('secretHash'), false);
  await assert.rejects(core.apiKeys.revoke(asAnn, b.id), rejectsWith('NOT_FOUND'), "another user's key is not found");
  await core.apiKeys.revoke(asTenantAdmin, b.id);
  await assert.rejects(core.auth.authenticate(b.key), rejectsWith('TOKEN_INVALID'));
  await core.apiKeys.revoke(asAnn, a.id);
  await core.apiKeys.revoke(asAnn, a.id);
  assert.deepEqual(
    bus.of('apikey.revoked').map((e) => e.keyId),
    [b.id, a.id],
    'revoking twice announces once',
  );
});

test(`at most ${maxApiKeysPerUser} active keys per user (LIMIT_REACHED); a revoked one frees a place`, async () => {
  const { core, asAnn, asBob } = await setup();
  const keys = [];
  for (let i = 0; i < maxApiKeysPerUser; i++) keys.push(await core.apiKeys.create(asAnn, { name: `k${i}` }));
  await assert.rejects(core.apiKeys.create(asAnn, { name: 'one more' }), rejectsWith('LIMIT_REACHED'));
  await core.apiKeys.create(asBob, { name: 'bob is not limited by ann' });
  await core.apiKeys.revoke(asAnn, keys[0]?.id ?? '');
  await core.apiKeys.create(asAnn, { name: 'one more' });
});

test('use is recorded at most once a minute (clock port)', async () => {
  const { core, store, clock, asAnn } = await setup();
  const k = await core.apiKeys.create(asAnn, { name: 'poller' });
  await core.auth.authenticate(k.key);
  const first = clock.now();
  clock.advance(30_000);
  await core.auth.authenticate(k.key);
  assert.equal((await store.apiKeys.get(k.id))?.lastUsedAt, first);
  clock.advance(31_000);
  await core.auth.authenticate(k.key);
  assert.equal((await store.apiKeys.get(k.id))?.lastUsedAt, clock.now());
});

test('a key of a disabled or deleted owner stops working', async () => {
  const { core, asAnn, asBob, asAdmin } = await setup();
  const a = await core.apiKeys.create(asAnn, { name: 'a' });
  const b = await core.apiKeys.create(asBob, { name: 'b' });
  await core.users.update(asAdmin, asAnn.userId, { disabled: true });
  await assert.rejects(core.auth.authenticate(a.key), rejectsWith('ACCOUNT_DISABLED'));
  await core.users.delete(asAdmin, asBob.userId);
  await assert.rejects(core.auth.authenticate(b.key), rejectsWith('TOKEN_INVALID'));
});

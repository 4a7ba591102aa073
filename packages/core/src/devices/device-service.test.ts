import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore, principal } from '../testing/test-core';

async function setup() {
  const t = await createTestCore();
  const acme = await t.core.tenants.create(t.asAdmin, { name: 'Acme' });
  const other = await t.core.tenants.create(t.asAdmin, { name: 'Other' });
  return { ...t, acme, other, ta: principal(acme.id, 'tenant-admin'), viewer: principal(acme.id, 'viewer'), otherAdmin: principal(other.id, 'tenant-admin') };
}

test("create: in the caller's tenant with the default profile and a random access token; a taken name is DEVICE_NAME_TAKEN", async () => {
  const { core, store, bus, ta, acme, clock } = await setup();
  const d = await core.devices.create(ta, { name: ' sensor 1 ', label: ' hall ', metadata: { floor: 2 } });
  assert.deepEqual(d, {
    id: d.id,
    tenantId: acme.id,
    profileId: (await store.profiles.findDefault(acme.id))?.id,
    name: 'sensor 1',
    label: 'hall',
    metadata: { floor: 2 },
    createdAt: clock.now(),
    gateway: false,
    gatewayId: null,
    connected: false,
    active: false,
    lastConnectAt: null,
    lastDisconnectAt: null,
    lastActivityAt: null,
  });
  const c = await core.devices.getCredentials(ta, d.id);
  assert.ok(c.type === 'access-token' && /^[A-Za-z0-9_-]{30}$/.test(c.accessToken));
  assert.deepEqual(bus.of('device.created'), [{ deviceId: d.id, tenantId: acme.id }]);
  await assert.rejects(core.devices.create(ta, { name: 'sensor 1' }), rejectsWith('DEVICE_NAME_TAKEN'));
  const second = await core.devices.create(ta, { name: 'sensor 2' });
  await assert.rejects(core.devices.update(ta, second.id, { name: 'sensor 1' }), rejectsWith('DEVICE_NAME_TAKEN'));
});

test("tenancy: another tenant's device is NOT_FOUND for every operation; the same name in another tenant is fine; a viewer only reads", async () => {
  const { core, ta, viewer, otherAdmin, acme } = await setup();
  const d = await core.devices.create(ta, { name: 'd' });
  await core.devices.create(otherAdmin, { name: 'd' });
  for (const op of [
    () => core.devices.get(otherAdmin, d.id),
    () => core.devices.update(otherAdmin, d.id, { label: 'x' }),
    () => core.devices.delete(otherAdmin, d.id),
    () => core.devices.getCredentials(otherAdmin, d.id),
    () => core.devices.rotateCredentials(otherAdmin, d.id),
    () => core.connectivity.get(otherAdmin, d.id),
  ])
    await assert.rejects(op(), rejectsWith('NOT_FOUND'));
  await assert.rejects(core.devices.list(otherAdmin, { tenantId: acme.id }), rejectsWith('NOT_FOUND'));
  assert.equal((await core.devices.get(viewer, d.id)).id, d.id);
  await assert.rejects(core.devices.update(viewer, d.id, { label: 'x' }), rejectsWith('FORBIDDEN'));
  await assert.rejects(core.devices.getCredentials(viewer, d.id), rejectsWith('FORBIDDEN'), 'credentials let anyone act as the device');
  await assert.rejects(core.devices.create(viewer, { name: 'v' }), rejectsWith('FORBIDDEN'));
  assert.deepEqual(
    (await core.devices.list(viewer, {})).items.map((x) => x.id),
    [d.id],
  );
});

test("profileId must name a profile of the device's tenant (VALIDATION); metadata and label are bounded", async () => {
  const { core, ta, otherAdmin } = await setup();
  const foreign = await core.profiles.create(otherAdmin, { name: 'theirs' });
  await assert.rejects(core.devices.create(ta, { name: 'd', profileId: foreign.id }), rejectsWith('VALIDATION'));
  const mine = await core.profiles.create(ta, { name: 'mine' });
  const d = await core.devices.create(ta, { name: 'd', profileId: mine.id });
  assert.equal(d.profileId, mine.id);
  assert.deepEqual(
    (await core.devices.list(ta, { profileId: mine.id })).items.map((x) => x.id),
    [d.id],
  );
  await assert.rejects(core.devices.create(ta, { name: 'm', metadata: { big: 'x'.repeat(17 * 1024) } }), rejectsWith('VALIDATION'));
  await assert.rejects(core.devices.create(ta, { name: 'l', label: 'x'.repeat(256) }), rejectsWith('VALIDATION'));
});

test('the access token authenticates the device; rotating replaces it and is announced; a chosen token must be well-formed and unique', async () => {
  const { core, bus, ta, otherAdmin, acme } = await setup();
  const d = await core.devices.create(ta, { name: 'd' });
  const before = await core.devices.getCredentials(ta, d.id);
  assert.ok(before.type === 'access-token');
  assert.equal((await core.devices.authenticateToken(before.accessToken)).id, d.id);
  const after = await core.devices.rotateCredentials(ta, d.id);
  assert.ok(after.type === 'access-token' && after.accessToken !== before.accessToken);
  await assert.rejects(core.devices.authenticateToken(before.accessToken), rejectsWith('DEVICE_TOKEN_INVALID'));
  assert.deepEqual(bus.of('device.credentials'), [{ deviceId: d.id, tenantId: acme.id }]);
  await core.devices.rotateCredentials(ta, d.id, { type: 'access-token', accessToken: 'chosen-token-0000000001' });
  assert.equal((await core.devices.authenticateToken('chosen-token-0000000001')).id, d.id);
  await core.devices.rotateCredentials(ta, d.id, { type: 'access-token', accessToken: 'chosen-token-0000000001' });
  const theirs = await core.devices.create(otherAdmin, { name: 'theirs' });
  // ADR 0004: a token another device holds is refused exactly like a malformed one, naming no device or tenant.
  const taken = await core.devices
    .rotateCredentials(otherAdmin, theirs.id, { type: 'access-token', accessToken: 'chosen-token-0000000001' })
    .catch((e: unknown) => e);
  const malformed = await core.devices.rotateCredentials(otherAdmin, theirs.id, { type: 'access-token', accessToken: 'short' }).catch((e: unknown) => e);
  rejectsWith('VALIDATION')(taken);
  assert.deepEqual(
    [(taken as Error).message, (taken as { details?: unknown }).details],
    [(malformed as Error).message, (malformed as { details?: unknown }).details],
  );
});

test('a store conflict on a chosen token (another device took it after the check) answers as the check does (ADR 0004)', async () => {
  const { core, store, ta } = await setup();
  const a = await core.devices.create(ta, { name: 'a' });
  const b = await core.devices.create(ta, { name: 'b' });
  await core.devices.rotateCredentials(ta, a.id, { type: 'access-token', accessToken: 'raced-token-000000000001' });
  // The check finds no holder (as if the other write had not landed yet); the write then conflicts.
  const devices = { ...store.devices };
  store.devices.findByAccessToken = async () => undefined;
  await assert.rejects(core.devices.rotateCredentials(ta, b.id, { type: 'access-token', accessToken: 'raced-token-000000000001' }), (e: unknown) => {
    rejectsWith('VALIDATION')(e);
    assert.deepEqual((e as { details?: unknown }).details, { field: 'accessToken' });
    return true;
  });
  Object.assign(store.devices, devices);
  assert.equal((await core.devices.authenticateToken('raced-token-000000000001')).id, a.id, 'the holder keeps it');
});

test('MQTT basic credentials: username and password, or client id; a wrong password or client id is refused', async () => {
  const { core, ta } = await setup();
  const d = await core.devices.create(ta, { name: 'd' });
  const shown = await core.devices.rotateCredentials(ta, d.id, { type: 'mqtt-basic', clientId: 'client-1', username: 'user-1', password: 'secret password' });
  assert.deepEqual(shown, { deviceId: d.id, type: 'mqtt-basic', clientId: 'client-1', username: 'user-1', hasPassword: true });
  assert.equal((await core.devices.authenticateBasic({ clientId: 'client-1', username: 'user-1', password: 'secret password' }))?.id, d.id);
  assert.equal(await core.devices.authenticateBasic({ clientId: 'client-1', username: 'user-1', password: 'wrong password' }), undefined);
  assert.equal(await core.devices.authenticateBasic({ clientId: 'client-2', username: 'user-1', password: 'secret password' }), undefined);
  assert.equal(await core.devices.authenticateBasic({ clientId: 'client-1' }), undefined, 'the username is part of the credentials');
  await assert.rejects(core.devices.rotateCredentials(ta, d.id, { type: 'mqtt-basic' }), rejectsWith('VALIDATION'));
  await assert.rejects(
    core.devices.rotateCredentials(ta, d.id, { type: 'mqtt-basic', clientId: 'c', password: 'p' }),
    rejectsWith('VALIDATION'),
    'a password needs a username',
  );
  await core.devices.rotateCredentials(ta, d.id, { type: 'mqtt-basic', clientId: 'only-client' });
  assert.equal((await core.devices.authenticateBasic({ clientId: 'only-client' }))?.id, d.id);
});

test('delete: the device, its credentials and telemetry go; the deletion is announced', async () => {
  const { core, store, bus, ta, acme, clock } = await setup();
  const d = await core.devices.create(ta, { name: 'd' });
  await core.telemetry.ingest({ deviceId: d.id, tenantId: acme.id, receivedAt: clock.now(), payload: { t: 1 } });
  await core.devices.delete(ta, d.id);
  assert.equal(await store.devices.get(d.id), undefined);
  assert.deepEqual(await store.telemetry.keys(d.id), []);
  assert.deepEqual(bus.of('device.deleted'), [{ deviceId: d.id, tenantId: acme.id }]);
  await assert.rejects(core.devices.get(ta, d.id), rejectsWith('NOT_FOUND'));
});

test('devices carry their connectivity; the list filters by connected and active and sorts by last activity', async () => {
  const { core, ta, clock, bus } = await setup();
  const [a, b, c] = [await core.devices.create(ta, { name: 'a' }), await core.devices.create(ta, { name: 'b' }), await core.devices.create(ta, { name: 'c' })];
  await core.connectivity.connected(a.id);
  clock.advance(1000);
  core.connectivity.activity(b.id);
  await new Promise((r) => setImmediate(r));
  const got = await core.devices.get(ta, a.id);
  assert.deepEqual([got.connected, got.active, got.lastConnectAt, got.lastActivityAt], [true, true, clock.now() - 1000, clock.now() - 1000]);
  assert.equal((await core.devices.get(ta, b.id)).lastActivityAt, clock.now(), 'activity not written yet is shown');
  const names = async (q: Parameters<typeof core.devices.list>[1]) => (await core.devices.list(ta, q)).items.map((d) => d.name);
  assert.deepEqual(await names({ connected: true }), ['a']);
  assert.deepEqual(await names({ connected: false }), ['b', 'c']);
  assert.deepEqual(await names({ active: true }), ['a', 'b'], 'the waiting activity is written before the query');
  assert.deepEqual(await names({ active: false }), ['c']);
  assert.deepEqual(await names({ sort: 'lastActivityAt', order: 'desc' }), ['b', 'a', 'c']);
  const listed = (await core.devices.list(ta, { connected: true })).items[0];
  assert.deepEqual(listed, await core.devices.get(ta, a.id));
  await assert.rejects(core.devices.list(ta, { sort: 'lastConnectAt' }), rejectsWith('VALIDATION'));
  // 600 s is the default profile's timeout.
  clock.advance(600_000);
  assert.deepEqual(await names({ active: true }), []);
  assert.equal((await core.devices.get(ta, c.id)).active, false);
  const moved = await core.devices.update(ta, c.id, { label: 'x' });
  assert.equal(moved.lastActivityAt, null);
  assert.deepEqual(bus.of('device.updated'), [{ deviceId: c.id, tenantId: c.tenantId, profileId: c.profileId }]);
});

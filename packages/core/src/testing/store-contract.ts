/**
 * The storage contract: every Store adapter runs this suite (STYLE.md "Contract suites", DESIGN.md invariant 4),
 * from `@thingstead/core/testing`: the SQLite adapter (server/src/storage/sqlite/sqlite-store.test.ts) and the
 * memory store (./memory-store.test.ts); a PostgreSQL adapter package imports it the same way.
 *
 * A deviation is explicit: the adapter passes `{ skip: { 'case name': 'reason' } }`; each listed case is
 * reported as skipped with its reason (`# SKIP deviation: ...` in the test output), and a listed name that is no
 * case of the suite fails, so the list cannot go stale.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Tenant, User } from '../accounts/model';
import type { Device, DeviceProfile } from '../devices/model';
import { isThingsteadError, type ErrorName } from '../errors';
import type { DeviceListQuery, Store } from '../store';
import { alarmContract } from './alarm-contract';
import { attributeContract } from './attribute-contract';
import { notificationContract } from './notification-contract';
import { rpcContract } from './rpc-contract';
import { ruleContract } from './rule-contract';

export interface StoreFactory {
  /** Opens the store under test; a second call after close() opens the same data again where the adapter keeps any. */
  open(): Promise<Store>;
  /** Removes what open() created (files, schemas). */
  destroy(): Promise<void>;
}

export interface StoreContractOptions {
  /** Cases this adapter does not pass, by case name, each with the reason it deviates. */
  skip?: Readonly<Record<string, string>>;
}

const page = { limit: 50, offset: 0, sort: 'name', order: 'asc' as const };

/** A predicate for assert.rejects: a ThingsteadError of this kind. */
export const rejectsWith =
  (kind: ErrorName) =>
  (e: unknown): boolean => {
    assert.ok(isThingsteadError(e), `expected THINGSTEAD_ERR_${kind}, got ${String(e)}`);
    assert.equal(e.kind, kind);
    return true;
  };

export function storeContract(name: string, factory: StoreFactory, options: StoreContractOptions = {}): void {
  const skip = options.skip ?? {};
  const skipped = new Set<string>();
  describe(`Store contract: ${name}`, () => {
    const it = (caseName: string, fn: () => Promise<void>) => {
      const reason = skip[caseName];
      if (reason === undefined) {
        test(caseName, fn);
        return;
      }
      skipped.add(caseName);
      test(caseName, { skip: `deviation: ${reason}` }, fn);
    };
    let store: Store;
    let tenant: Tenant;
    let other: Tenant;
    let prof: DeviceProfile;
    let user: User;
    const t0 = 1_700_000_000_000;

    const newTenant = async (n: string): Promise<Tenant> => {
      const t = { id: randomUUID(), name: n, createdAt: t0 };
      await store.tenants.insert(t);
      return t;
    };
    const newDevice = async (n: string, tenantId = tenant.id, token = `tok-${randomUUID()}`, profileId = prof.id): Promise<Device> => {
      const d: Device = {
        id: randomUUID(),
        tenantId,
        profileId,
        name: n,
        label: '',
        metadata: { a: 1 },
        createdAt: t0,
        gateway: false,
        gatewayId: null,
      };
      await store.devices.insert(d, { deviceId: d.id, type: 'access-token', accessToken: token });
      return d;
    };

    before(async () => {
      store = await factory.open();
      tenant = await newTenant('Acme');
      other = await newTenant('Other');
      prof = {
        id: randomUUID(),
        tenantId: tenant.id,
        name: 'default',
        description: '',
        defaultSettings: { x: [1] },
        inactivityTimeoutSec: 600,
        isDefault: true,
        createdAt: t0,
      };
      await store.profiles.insert(prof);
      await store.profiles.insert({ ...prof, id: randomUUID(), tenantId: other.id });
      user = { id: randomUUID(), tenantId: tenant.id, email: 'a@example.com', role: 'tenant-admin', passwordHash: 'h', disabled: false, createdAt: t0 };
      await store.users.insert(user);
    });
    after(async () => {
      await store.close();
      await factory.destroy();
    });

    it('tenants: get, find by name, list with search, update', async () => {
      assert.deepEqual(await store.tenants.get(tenant.id), tenant);
      assert.equal((await store.tenants.findByName('Other'))?.id, other.id);
      assert.equal(await store.tenants.get(randomUUID()), undefined);
      const list = await store.tenants.list({ ...page, search: 'acm' });
      assert.deepEqual(
        list.items.map((t) => t.name),
        ['Acme'],
      );
      assert.equal(list.total, 1);
      await store.tenants.update(other.id, { name: 'Other Co' });
      assert.equal((await store.tenants.get(other.id))?.name, 'Other Co');
      await assert.rejects(store.tenants.insert({ id: randomUUID(), name: 'Acme', createdAt: t0 }), rejectsWith('TENANT_NAME_TAKEN'));
    });

    it('users: email unique, list by tenant, count by role and tenant, update', async () => {
      assert.deepEqual(await store.users.findByEmail('a@example.com'), user);
      await assert.rejects(store.users.insert({ ...user, id: randomUUID() }), rejectsWith('EMAIL_TAKEN'));
      const u2 = { ...user, id: randomUUID(), email: 'b@example.com', tenantId: other.id, role: 'viewer' as const };
      await store.users.insert(u2);
      assert.deepEqual(
        (await store.users.list({ ...page, sort: 'email', tenantId: other.id })).items.map((u) => u.email),
        ['b@example.com'],
      );
      assert.equal(await store.users.count({ role: 'viewer' }), 1);
      assert.equal(await store.users.count({ tenantId: tenant.id }), 1);
      await store.users.update(u2.id, { role: 'tenant-admin', passwordHash: 'h2' });
      const got = await store.users.get(u2.id);
      assert.equal(got?.role, 'tenant-admin');
      assert.equal(got.passwordHash, 'h2');
      assert.equal(got.disabled, false);
      await store.users.update(u2.id, { disabled: true });
      assert.equal((await store.users.get(u2.id))?.disabled, true);
      assert.equal(await store.users.count({ role: 'tenant-admin', disabled: false }), 1);
      assert.equal(await store.users.count({ role: 'tenant-admin', disabled: true }), 1);
      await store.users.delete(u2.id);
      assert.equal(await store.users.get(u2.id), undefined);
    });

    it('api keys and refresh tokens: insert, list, revoke, touch, expire', async () => {
      const k = {
        id: randomUUID().replaceAll('-', ''),
        tenantId: tenant.id,
        userId: user.id,
        name: 'ci',
        prefix: 'tsk_abc',
        secretHash: 'x',
        createdAt: t0,
        lastUsedAt: null,
        revokedAt: null,
      };
      await store.apiKeys.insert(k);
      assert.deepEqual(await store.apiKeys.list({ tenantId: tenant.id }), [k]);
      assert.deepEqual(await store.apiKeys.list({ tenantId: tenant.id, userId: randomUUID() }), []);
      await store.apiKeys.touch(k.id, t0 + 1);
      await store.apiKeys.revoke(k.id, t0 + 2);
      assert.deepEqual(await store.apiKeys.get(k.id), { ...k, lastUsedAt: t0 + 1, revokedAt: t0 + 2 });
      const rid = randomUUID();
      const r = { id: rid, userId: user.id, familyId: rid, secretHash: 's', expiresAt: t0 + 10, revokedAt: null };
      await store.refreshTokens.insert(r);
      await store.refreshTokens.insert({ ...r, id: randomUUID(), expiresAt: t0 + 1000 });
      assert.deepEqual(await store.refreshTokens.get(r.id), r);
      await store.refreshTokens.revokeAllOfUser(user.id, t0 + 5);
      assert.equal((await store.refreshTokens.get(r.id))?.revokedAt, t0 + 5);
      assert.equal(await store.refreshTokens.deleteExpired(t0 + 20), 1, 'the expired one; the revoked one stays until it expires');
      assert.equal(await store.refreshTokens.get(r.id), undefined);
    });

    it('refresh tokens: revoke is atomic (true once); revokeFamily revokes the family only', async () => {
      const family = randomUUID();
      const tok = (id: string, familyId: string) => ({ id, userId: user.id, familyId, secretHash: 's', expiresAt: t0 + 10_000, revokedAt: null });
      const [a, b, c] = [tok(family, family), tok(randomUUID(), family), tok(randomUUID(), randomUUID())];
      for (const t of [a, b, c]) await store.refreshTokens.insert(t);
      assert.equal(await store.refreshTokens.revoke(a.id, t0 + 1), true);
      assert.equal(await store.refreshTokens.revoke(a.id, t0 + 2), false, 'already revoked');
      assert.equal((await store.refreshTokens.get(a.id))?.revokedAt, t0 + 1, 'the first revocation time stays');
      await store.refreshTokens.revokeFamily(family, t0 + 3);
      assert.equal((await store.refreshTokens.get(b.id))?.revokedAt, t0 + 3);
      assert.equal((await store.refreshTokens.get(c.id))?.revokedAt, null, 'another family is untouched');
    });

    it('profiles: unique per tenant, default, count devices, update', async () => {
      assert.equal((await store.profiles.findDefault(tenant.id))?.id, prof.id);
      assert.deepEqual(await store.profiles.get(prof.id), prof);
      await assert.rejects(store.profiles.insert({ ...prof, id: randomUUID() }), rejectsWith('PROFILE_NAME_TAKEN'));
      const p2 = { ...prof, id: randomUUID(), name: 'sensors', isDefault: false };
      await store.profiles.insert(p2);
      await store.profiles.update(p2.id, { description: 'd', defaultSettings: { k: 'v' } });
      assert.deepEqual(await store.profiles.get(p2.id), { ...p2, description: 'd', defaultSettings: { k: 'v' } });
      await store.profiles.update(p2.id, { inactivityTimeoutSec: 90 });
      assert.deepEqual(await store.profiles.get(p2.id), { ...p2, description: 'd', defaultSettings: { k: 'v' }, inactivityTimeoutSec: 90 });
      assert.equal(await store.profiles.countDevices(p2.id), 0);
      assert.deepEqual(
        (await store.profiles.list({ ...page, tenantId: tenant.id })).items.map((p) => p.name),
        ['default', 'sensors'],
      );
      await store.profiles.delete(p2.id);
      assert.equal(await store.profiles.get(p2.id), undefined);
    });

    it('devices: unique name per tenant, paging, sorting, search treats % and _ literally', async () => {
      for (const n of ['b-2', 'a-1', 'c_3', 'd%4']) await newDevice(`pg ${n}`);
      await newDevice('pg a-1', other.id, `tok-${randomUUID()}`);
      await assert.rejects(newDevice('pg a-1'), rejectsWith('DEVICE_NAME_TAKEN'));
      const q = { ...page, tenantId: tenant.id, search: 'pg ' };
      const all = await store.devices.list(q);
      assert.deepEqual(
        all.items.map((d) => d.name),
        ['pg a-1', 'pg b-2', 'pg c_3', 'pg d%4'],
      );
      assert.equal(all.total, 4);
      const second = await store.devices.list({ ...q, limit: 2, offset: 2, order: 'desc' });
      assert.deepEqual(
        second.items.map((d) => d.name),
        ['pg b-2', 'pg a-1'],
      );
      assert.equal(second.total, 4);
      assert.deepEqual(
        (await store.devices.list({ ...q, search: '_' })).items.map((d) => d.name),
        ['pg c_3'],
      );
      assert.deepEqual(
        (await store.devices.list({ ...q, search: '%' })).items.map((d) => d.name),
        ['pg d%4'],
      );
      assert.equal((await store.devices.list({ ...q, search: 'PG A' })).total, 1, 'search ignores case');
    });

    it('devices: credentials by token, MQTT username and client id; SQL-looking text is data', async () => {
      const evil = "x'); DROP TABLE devices; --";
      const d = await newDevice(evil, tenant.id, 'token-aaaaaaaaaaaaaaaaaaaa');
      assert.equal((await store.devices.findByName(tenant.id, evil))?.id, d.id);
      assert.equal((await store.devices.findByAccessToken('token-aaaaaaaaaaaaaaaaaaaa'))?.id, d.id);
      await store.devices.setCredentials({ deviceId: d.id, type: 'mqtt-basic', clientId: 'c1', username: 'u1', passwordHash: 'ph' });
      assert.equal(await store.devices.findByAccessToken('token-aaaaaaaaaaaaaaaaaaaa'), undefined);
      assert.deepEqual(await store.devices.getCredentials(d.id), { deviceId: d.id, type: 'mqtt-basic', clientId: 'c1', username: 'u1', passwordHash: 'ph' });
      assert.equal((await store.devices.findByMqttUsername('u1'))?.device.id, d.id);
      assert.equal((await store.devices.findByMqttClientId('c1'))?.device.id, d.id);
      await store.devices.update(d.id, { label: 'L', metadata: { m: true } });
      assert.deepEqual(await store.devices.get(d.id), { ...d, label: 'L', metadata: { m: true } });
    });

    it('devices: gateway flag and children; deleting a gateway leaves its children unlinked', async () => {
      const gw = await newDevice('gw-1');
      assert.equal(gw.gateway, false);
      await store.devices.update(gw.id, { gateway: true });
      assert.deepEqual(await store.devices.get(gw.id), { ...gw, gateway: true });
      const child = (n: string, gatewayId: string): Device => ({ ...gw, id: randomUUID(), name: n, gateway: false, gatewayId });
      const c1 = child('gw-1 child b', gw.id);
      const c2 = child('gw-1 child a', gw.id);
      await store.devices.insert(c1, { deviceId: c1.id, type: 'access-token', accessToken: `tok-${randomUUID()}` });
      await store.devices.insert(c2, { deviceId: c2.id, type: 'access-token', accessToken: `tok-${randomUUID()}` });
      assert.deepEqual(await store.devices.get(c1.id), c1);
      assert.deepEqual(await store.devices.findByName(tenant.id, 'gw-1 child a'), c2);
      const children = await store.devices.list({ ...page, tenantId: tenant.id, gatewayId: gw.id });
      assert.deepEqual(
        children.items.map((d) => d.name),
        ['gw-1 child a', 'gw-1 child b'],
      );
      assert.equal(children.total, 2);
      assert.equal((await store.devices.list({ ...page, tenantId: other.id, gatewayId: gw.id })).total, 0);
      await store.devices.update(gw.id, { label: 'still a gateway' });
      assert.equal((await store.devices.get(gw.id))?.gateway, true, 'a patch without gateway keeps it');
      await store.devices.delete(gw.id);
      assert.equal((await store.devices.get(c1.id))?.gatewayId, null);
      assert.equal((await store.devices.get(c2.id))?.gatewayId, null);
      assert.equal((await store.devices.list({ ...page, tenantId: tenant.id, gatewayId: gw.id })).total, 0);
    });

    it('telemetry: typed values round-trip, raw ranges are [from, to), latest and keys', async () => {
      const d = await newDevice('tele-1');
      const obj = { nested: { a: [1, 2] } };
      await store.telemetry.append([
        { deviceId: d.id, key: 'temp', ts: t0, value: 20.5 },
        { deviceId: d.id, key: 'temp', ts: t0 + 1000, value: 21 },
        { deviceId: d.id, key: 'temp', ts: t0 + 2000, value: 22 },
        { deviceId: d.id, key: 'name', ts: t0, value: "Robert'); --" },
        { deviceId: d.id, key: 'on', ts: t0, value: false },
        { deviceId: d.id, key: 'cfg', ts: t0, value: obj },
      ]);
      const raw = await store.telemetry.query({
        deviceId: d.id,
        keys: ['temp', 'name', 'on', 'cfg', 'missing'],
        from: t0,
        to: t0 + 2000,
        limit: 10,
        order: 'asc',
      });
      assert.deepEqual(raw, {
        temp: [
          { ts: t0, value: 20.5 },
          { ts: t0 + 1000, value: 21 },
        ],
        name: [{ ts: t0, value: "Robert'); --" }],
        on: [{ ts: t0, value: false }],
        cfg: [{ ts: t0, value: obj }],
      });
      const desc = await store.telemetry.query({ deviceId: d.id, keys: ['temp'], from: 0, to: t0 + 5000, limit: 2, order: 'desc' });
      assert.deepEqual(
        desc.temp?.map((p) => p.ts),
        [t0 + 2000, t0 + 1000],
      );
      assert.deepEqual(await store.telemetry.latest(d.id, ['temp']), { temp: { ts: t0 + 2000, value: 22 } });
      assert.deepEqual(await store.telemetry.keys(d.id), ['cfg', 'name', 'on', 'temp']);
    });

    it('telemetry: same ts overwrites; an older point does not replace latest', async () => {
      const d = await newDevice('tele-2');
      assert.equal((await store.telemetry.append([{ deviceId: d.id, key: 'v', ts: t0 + 10, value: 1 }])).replaced, 0);
      const second = await store.telemetry.append([
        { deviceId: d.id, key: 'v', ts: t0 + 10, value: 2 },
        { deviceId: d.id, key: 'v', ts: t0 + 5, value: 'old' },
      ]);
      assert.equal(second.replaced, 1, 'one point replaced a stored value');
      assert.equal(
        (
          await store.telemetry.append([
            { deviceId: d.id, key: 'w', ts: t0, value: 1 },
            { deviceId: d.id, key: 'w', ts: t0, value: 2 },
          ])
        ).replaced,
        1,
        'a collision within one batch counts too',
      );
      assert.deepEqual((await store.telemetry.latest(d.id)).w, { ts: t0, value: 2 }, 'the later of the batch is kept');
      const all = await store.telemetry.query({ deviceId: d.id, keys: ['v'], from: 0, to: t0 + 100, limit: 10, order: 'asc' });
      assert.deepEqual(all.v, [
        { ts: t0 + 5, value: 'old' },
        { ts: t0 + 10, value: 2 },
      ]);
      assert.deepEqual((await store.telemetry.latest(d.id)).v, { ts: t0 + 10, value: 2 });
    });

    it('telemetry: in one batch the newest point of a series becomes latest, whatever the order', async () => {
      const d = await newDevice('tele-batch');
      await store.telemetry.append([
        { deviceId: d.id, key: 'b', ts: t0 + 10, value: 1 },
        { deviceId: d.id, key: 'b', ts: t0 + 30, value: 3 },
        { deviceId: d.id, key: 'b', ts: t0 + 20, value: 2 },
        { deviceId: d.id, key: 'c', ts: t0 + 5, value: 'x' },
        { deviceId: d.id, key: 'c', ts: t0 + 5, value: 'y' },
      ]);
      assert.deepEqual(await store.telemetry.latest(d.id), { b: { ts: t0 + 30, value: 3 }, c: { ts: t0 + 5, value: 'y' } });
    });

    it('telemetry: aggregation per interval bucket (min, max, avg, sum, count)', async () => {
      const d = await newDevice('tele-agg');
      const values = [1, 2, 3, 10, 20];
      await store.telemetry.append([
        ...values.map((v, i) => ({ deviceId: d.id, key: 'x', ts: t0 + (i < 3 ? i * 100 : 1000 + i * 100), value: v })),
        { deviceId: d.id, key: 'x', ts: t0 + 2500, value: 'not a number' },
      ]);
      const q = { deviceId: d.id, keys: ['x'], from: t0, to: t0 + 3000, intervalMs: 1000, limit: 100 };
      const expect = {
        min: [
          { ts: t0, value: 1 },
          { ts: t0 + 1000, value: 10 },
        ],
        max: [
          { ts: t0, value: 3 },
          { ts: t0 + 1000, value: 20 },
        ],
        avg: [
          { ts: t0, value: 2 },
          { ts: t0 + 1000, value: 15 },
        ],
        sum: [
          { ts: t0, value: 6 },
          { ts: t0 + 1000, value: 30 },
        ],
        count: [
          { ts: t0, value: 3 },
          { ts: t0 + 1000, value: 2 },
          { ts: t0 + 2000, value: 1 },
        ],
      } as const;
      for (const agg of ['min', 'max', 'avg', 'sum', 'count'] as const) {
        assert.deepEqual((await store.telemetry.aggregate({ ...q, agg })).x, expect[agg], agg);
      }
      assert.deepEqual((await store.telemetry.aggregate({ ...q, agg: 'count', limit: 1 })).x, [{ ts: t0, value: 3 }]);
    });

    it('telemetry: points of an unknown device are ignored; retention deletes what is older than the cutoff in steps until a pass is done', async () => {
      const d = await newDevice('tele-ret');
      const d2 = await newDevice('tele-ret-2');
      const ghost = randomUUID();
      const appended = await store.telemetry.append([
        { deviceId: ghost, key: 'x', ts: t0, value: 1 },
        { deviceId: d.id, key: 'y', ts: t0, value: 1 },
      ]);
      assert.deepEqual([...appended.unknownDevices], [ghost], 'the points of an unknown device are reported, not stored');
      // A store may delete whole days only (a partitioned one drops a day's partition once all of it is older
      // than the cutoff), so the cutoff here is a UTC midnight: a day-granular and an exact store agree.
      const day = 86_400_000;
      const old = 11_574 * day; // 2001-09-09T00:00Z
      await store.telemetry.append([
        ...Array.from({ length: 20 }, (_, i) => ({ deviceId: d.id, key: 'r', ts: old + i * 3_600_000, value: i })),
        ...Array.from({ length: 5 }, (_, i) => ({ deviceId: d.id, key: 'r', ts: old + day + i, value: 20 + i })),
        ...Array.from({ length: 9 }, (_, i) => ({ deviceId: d2.id, key: 'r', ts: old - day + i, value: i })),
        ...Array.from({ length: 9 }, (_, i) => ({ deviceId: d2.id, key: 's', ts: old + i, value: i })),
      ]);
      let total = 0;
      let steps = 0;
      for (let done = false; !done; steps++) {
        const step = await store.telemetry.deleteExpired(old + day, 7);
        total += step.deleted;
        done = step.done;
        assert.ok(steps < 100, 'the pass ends');
      }
      assert.equal(total, 20 + 9 + 9);
      const left = await store.telemetry.query({ deviceId: d.id, keys: ['r'], from: 0, to: 2e12, limit: 100, order: 'asc' });
      assert.deepEqual(
        left.r?.map((p) => p.value),
        [20, 21, 22, 23, 24],
      );
      assert.deepEqual(await store.telemetry.query({ deviceId: d2.id, keys: ['r', 's'], from: 0, to: 2e12, limit: 100, order: 'asc' }), { r: [], s: [] });
      assert.deepEqual((await store.telemetry.latest(d.id)).r, { ts: old + day + 4, value: 24 }, 'latest is kept');
      const again = await store.telemetry.deleteExpired(old + day, 7);
      assert.equal(again.deleted, 0, 'a new pass finds nothing more');
    });

    it('deleting a device removes its telemetry and credentials; deleting a tenant removes everything it owns', async () => {
      const t = await newTenant('Doomed');
      const p = { ...prof, id: randomUUID(), tenantId: t.id };
      await store.profiles.insert(p);
      const d: Device = {
        id: randomUUID(),
        tenantId: t.id,
        profileId: p.id,
        name: 'x',
        label: '',
        metadata: {},
        createdAt: t0,
        gateway: false,
        gatewayId: null,
      };
      await store.devices.insert(d, { deviceId: d.id, type: 'access-token', accessToken: 'doomed-token-0000000000' });
      await store.telemetry.append([{ deviceId: d.id, key: 'k', ts: t0, value: 1 }]);
      const d2 = await newDevice('to-delete');
      await store.telemetry.append([{ deviceId: d2.id, key: 'k', ts: t0, value: 1 }]);
      await store.devices.delete(d2.id);
      assert.equal(await store.devices.get(d2.id), undefined);
      assert.deepEqual(await store.telemetry.latest(d2.id), {});
      await store.tenants.delete(t.id);
      assert.equal(await store.tenants.get(t.id), undefined);
      assert.equal(await store.devices.get(d.id), undefined);
      assert.equal(await store.devices.findByAccessToken('doomed-token-0000000000'), undefined);
      assert.equal(await store.profiles.get(p.id), undefined);
      assert.deepEqual(await store.telemetry.keys(d.id), []);
    });

    it("telemetry: tenantKeys lists the distinct keys of a tenant's devices; a deleted device's keys go, and can come back", async () => {
      const t = await newTenant('Keys');
      const p = { ...prof, id: randomUUID(), tenantId: t.id };
      await store.profiles.insert(p);
      const mk = (n: string) => newDevice(n, t.id, `keys-${randomUUID()}`, p.id);
      const [a, b] = [await mk('ka'), await mk('kb')];
      assert.deepEqual(await store.telemetry.tenantKeys(t.id), []);
      await store.telemetry.append([
        { deviceId: a.id, key: 'shared', ts: t0, value: 1 },
        { deviceId: a.id, key: 'only-a', ts: t0, value: 1 },
        { deviceId: b.id, key: 'shared', ts: t0, value: 2 },
      ]);
      assert.deepEqual((await store.telemetry.tenantKeys(t.id)).sort(), ['only-a', 'shared']);
      assert.deepEqual(await store.telemetry.tenantKeys(tenant.id).then((k) => k.includes('only-a')), false, 'other tenants are not mixed in');
      await store.devices.delete(a.id);
      assert.deepEqual(await store.telemetry.tenantKeys(t.id), ['shared']);
      await store.telemetry.append([{ deviceId: b.id, key: 'only-a', ts: t0 + 1, value: 'back' }]);
      assert.deepEqual(await store.telemetry.latest(b.id), { 'only-a': { ts: t0 + 1, value: 'back' }, shared: { ts: t0, value: 2 } });
      await store.tenants.delete(t.id);
    });

    it('device connectivity: fields are set independently', async () => {
      const d = await newDevice('conn-1');
      assert.equal(await store.devices.getConnectivity(d.id), undefined);
      await store.devices.setConnectivity(d.id, { lastConnectAt: 1, lastActivityAt: 1 });
      await store.devices.setConnectivity(d.id, { lastActivityAt: 5 });
      await store.devices.setConnectivity(d.id, { lastDisconnectAt: 9 });
      assert.deepEqual(await store.devices.getConnectivity(d.id), { connected: false, lastConnectAt: 1, lastDisconnectAt: 9, lastActivityAt: 5 });
      await store.devices.setConnectivity(d.id, { connected: true, lastConnectAt: 11 });
      await store.devices.setConnectivity(d.id, { lastActivityAt: 12 });
      assert.deepEqual(await store.devices.getConnectivity(d.id), { connected: true, lastConnectAt: 11, lastDisconnectAt: 9, lastActivityAt: 12 });
      await store.devices.setConnectivity(d.id, { connected: false, lastDisconnectAt: 13 });
      assert.equal((await store.devices.getConnectivity(d.id))?.connected, false, 'false is written, not taken for "not given"');
      await store.devices.setConnectivity(randomUUID(), { lastConnectAt: 1 });
    });

    it('device connectivity: clearConnected clears every connected flag and answers whose it was', async () => {
      const t = await newTenant('Clear');
      const [a, b, c] = [await newDevice('clr-a', t.id), await newDevice('clr-b', t.id), await newDevice('clr-c', t.id)];
      await store.devices.setConnectivity(a.id, { connected: true, lastConnectAt: 5, lastActivityAt: 5 });
      await store.devices.setConnectivity(b.id, { connected: true, lastConnectAt: 6 });
      await store.devices.setConnectivity(c.id, { connected: false, lastConnectAt: 7 });
      const was = await store.devices.clearConnected();
      assert.deepEqual(
        was.filter((w) => w.tenantId === t.id).sort((x, y) => (x.deviceId < y.deviceId ? -1 : 1)),
        [a.id, b.id].sort().map((deviceId) => ({ deviceId, tenantId: t.id })),
      );
      assert.deepEqual(
        await store.devices.getConnectivity(a.id),
        { connected: false, lastConnectAt: 5, lastDisconnectAt: null, lastActivityAt: 5 },
        'times are kept',
      );
      assert.deepEqual(await store.devices.clearConnected(), [], 'nothing is connected any more');
      await store.tenants.delete(t.id);
    });

    it("device connectivity: listActive answers the devices whose last activity is within their profile's timeout", async () => {
      const t = await newTenant('Active');
      const fast = { ...prof, id: randomUUID(), tenantId: t.id, name: 'fast', isDefault: false, inactivityTimeoutSec: 10 };
      const slow = { ...fast, id: randomUUID(), name: 'slow', inactivityTimeoutSec: 100 };
      await store.profiles.insert(fast);
      await store.profiles.insert(slow);
      const mk = async (n: string, profileId: string, at: number | null) => {
        const d = await newDevice(n, t.id);
        await store.devices.update(d.id, { profileId });
        if (at !== null) await store.devices.setActivity(new Map([[d.id, at]]));
        return d.id;
      };
      const now = t0 + 1_000_000;
      const fastRecent = await mk('fast-recent', fast.id, now - 9_000);
      await mk('fast-old', fast.id, now - 10_000);
      const slowOld = await mk('slow-old', slow.id, now - 10_000);
      await mk('slow-never', slow.id, null);
      const active = (await store.devices.listActive(now)).filter((a) => a.tenantId === t.id).sort((x, y) => x.lastActivityAt - y.lastActivityAt);
      assert.deepEqual(active, [
        { deviceId: slowOld, tenantId: t.id, profileId: slow.id, lastActivityAt: now - 10_000, inactivityTimeoutSec: 100 },
        { deviceId: fastRecent, tenantId: t.id, profileId: fast.id, lastActivityAt: now - 9_000, inactivityTimeoutSec: 10 },
      ]);
      assert.deepEqual(
        (await store.devices.listActive(now, { profileId: slow.id })).map((a) => a.deviceId),
        [slowOld],
        'of one profile',
      );
      await store.tenants.delete(t.id);
    });

    it('devices: the list carries connectivity, filters by connected and by activity, sorts by lastActivityAt', async () => {
      const t = await newTenant('Listed');
      const p = { ...prof, id: randomUUID(), tenantId: t.id, name: 'p', inactivityTimeoutSec: 60 };
      await store.profiles.insert(p);
      const now = t0 + 1_000_000;
      const ids: Record<string, string> = {};
      for (const n of ['a-on', 'b-idle', 'c-never', 'd-off']) {
        const d = await newDevice(n, t.id);
        await store.devices.update(d.id, { profileId: p.id });
        ids[n] = d.id;
      }
      const id = (n: string) => ids[n] ?? '';
      await store.devices.setConnectivity(id('a-on'), { connected: true, lastConnectAt: now - 5000, lastActivityAt: now - 5000 });
      await store.devices.setActivity(new Map([[id('a-on'), now - 1000]]));
      await store.devices.setConnectivity(id('b-idle'), { connected: true, lastConnectAt: now - 120_000, lastActivityAt: now - 120_000 });
      await store.devices.setConnectivity(id('d-off'), {
        connected: false,
        lastConnectAt: now - 9000,
        lastDisconnectAt: now - 2000,
        lastActivityAt: now - 2000,
      });
      const q = { ...page, tenantId: t.id };
      const names = async (extra: Partial<DeviceListQuery>) => (await store.devices.list({ ...q, ...extra })).items.map((d) => d.name);
      const all = await store.devices.list(q);
      assert.deepEqual(all.items[0], {
        ...(await store.devices.get(id('a-on'))),
        connected: true,
        lastConnectAt: now - 5000,
        lastDisconnectAt: null,
        lastActivityAt: now - 1000,
      });
      assert.deepEqual(
        all.items.find((d) => d.name === 'c-never'),
        { ...(await store.devices.get(id('c-never'))), connected: false, lastConnectAt: null, lastDisconnectAt: null, lastActivityAt: null },
        'a device that never connected nor sent',
      );
      assert.deepEqual(await names({ connected: true }), ['a-on', 'b-idle']);
      assert.deepEqual(await names({ connected: false }), ['c-never', 'd-off']);
      assert.deepEqual(await names({ activity: { active: true, now } }), ['a-on', 'd-off']);
      assert.deepEqual(await names({ activity: { active: false, now } }), ['b-idle', 'c-never'], 'silent too long, or never sent');
      assert.deepEqual(await names({ connected: true, activity: { active: false, now } }), ['b-idle']);
      assert.equal((await store.devices.list({ ...q, connected: false, limit: 1 })).total, 2, 'the total counts the filtered devices');
      assert.deepEqual(await names({ sort: 'lastActivityAt' }), ['c-never', 'b-idle', 'd-off', 'a-on'], 'never sent first');
      assert.deepEqual(await names({ sort: 'lastActivityAt', order: 'desc' }), ['a-on', 'd-off', 'b-idle', 'c-never']);
      await store.tenants.delete(t.id);
    });

    it('device connectivity: setActivity writes a batch of activity times at once; unknown devices are skipped', async () => {
      const [a, b] = [await newDevice('act-a'), await newDevice('act-b')];
      await store.devices.setConnectivity(a.id, { lastConnectAt: 3, lastActivityAt: 3 });
      await store.devices.setActivity(
        new Map([
          [a.id, 10],
          [b.id, 20],
          [randomUUID(), 30],
        ]),
      );
      assert.deepEqual(await store.devices.getConnectivity(a.id), { connected: false, lastConnectAt: 3, lastDisconnectAt: null, lastActivityAt: 10 });
      assert.deepEqual(await store.devices.getConnectivity(b.id), { connected: false, lastConnectAt: null, lastDisconnectAt: null, lastActivityAt: 20 });
      await store.devices.setActivity(new Map());
    });

    it('uniqueness: a taken tenant name, email, profile name or device name is refused on update with its specific code', async () => {
      const t = await newTenant('Uniq');
      await assert.rejects(store.tenants.update(t.id, { name: 'Acme' }), rejectsWith('TENANT_NAME_TAKEN'));
      const u = { ...user, id: randomUUID(), email: 'uniq@example.com' };
      await store.users.insert(u);
      await assert.rejects(store.users.update(u.id, { email: user.email }), rejectsWith('EMAIL_TAKEN'));
      const p = { ...prof, id: randomUUID(), name: 'uniq', isDefault: false };
      await store.profiles.insert(p);
      await assert.rejects(store.profiles.update(p.id, { name: prof.name }), rejectsWith('PROFILE_NAME_TAKEN'));
      const [d1, d2] = [await newDevice('uniq-1'), await newDevice('uniq-2')];
      await assert.rejects(store.devices.update(d2.id, { name: d1.name }), rejectsWith('DEVICE_NAME_TAKEN'));
      assert.equal((await store.devices.get(d2.id))?.name, 'uniq-2', 'a refused update changes nothing');
      await assert.rejects(store.tenants.insert({ ...t, name: 'Uniq 2' }), rejectsWith('CONFLICT'), 'a taken id is the generic conflict');
      // The same names in another tenant are fine: profile and device names are unique per tenant.
      await store.profiles.insert({ ...p, id: randomUUID(), tenantId: t.id });
      await newDevice('uniq-1', t.id);
      await store.tenants.delete(t.id);
      await store.users.delete(u.id);
    });

    it('uniqueness: concurrent inserts of one name: one is stored, every other is refused with the specific code', async () => {
      const tries = Array.from({ length: 5 }, () => newDevice('race'));
      const results = await Promise.allSettled(tries);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') rejectsWith('DEVICE_NAME_TAKEN')(r.reason);
      const emails = await Promise.allSettled(Array.from({ length: 5 }, () => store.users.insert({ ...user, id: randomUUID(), email: 'race@example.com' })));
      assert.equal(emails.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of emails) if (r.status === 'rejected') rejectsWith('EMAIL_TAKEN')(r.reason);
    });

    it('credentials: an access token or MQTT username another device holds is refused, and the holder keeps its credentials', async () => {
      const a = await newDevice('cred-a', tenant.id, 'token-held-by-a-0000000000');
      await assert.rejects(newDevice('cred-b', tenant.id, 'token-held-by-a-0000000000'), rejectsWith('ACCESS_TOKEN_TAKEN'));
      assert.equal(await store.devices.findByName(tenant.id, 'cred-b'), undefined, 'the refused device is not stored either');
      const b = await newDevice('cred-b');
      await assert.rejects(
        store.devices.setCredentials({ deviceId: b.id, type: 'access-token', accessToken: 'token-held-by-a-0000000000' }),
        rejectsWith('ACCESS_TOKEN_TAKEN'),
      );
      assert.equal((await store.devices.findByAccessToken('token-held-by-a-0000000000'))?.id, a.id);
      await store.devices.setCredentials({ deviceId: a.id, type: 'mqtt-basic', clientId: null, username: 'held-user', passwordHash: null });
      await assert.rejects(
        store.devices.setCredentials({ deviceId: b.id, type: 'mqtt-basic', clientId: 'x', username: 'held-user', passwordHash: null }),
        rejectsWith('MQTT_USERNAME_TAKEN'),
      );
      assert.equal((await store.devices.findByMqttUsername('held-user'))?.device.id, a.id);
      await store.devices.setCredentials({ deviceId: a.id, type: 'mqtt-basic', clientId: 'own', username: 'held-user', passwordHash: 'ph' });
      assert.deepEqual(
        await store.devices.getCredentials(a.id),
        { deviceId: a.id, type: 'mqtt-basic', clientId: 'own', username: 'held-user', passwordHash: 'ph' },
        'a device may set its own value again',
      );
    });

    attributeContract({
      it,
      store: () => store,
      newDevice: (n, tenantId) => newDevice(n, tenantId),
      newTenant,
      newDeviceIn: async (t, n) => {
        const p = { ...prof, id: randomUUID(), tenantId: t.id };
        await store.profiles.insert(p);
        return newDevice(n, t.id, `attr-${randomUUID()}`, p.id);
      },
      t0,
    });

    rpcContract({ it, store: () => store, newDevice: (n) => newDevice(n), t0 });
    ruleContract({ it, store: () => store, newTenant, t0 });

    alarmContract({ it, store: () => store, newDevice: (n, tenantId) => newDevice(n, tenantId), newTenant, t0 });

    notificationContract({ it, store: () => store, newTenant, t0 });

    it('ping answers', async () => {
      await store.ping();
    });

    // Last: it closes the store and opens it again.
    it('what was committed is there after close and open', async () => {
      await store.close();
      store = await factory.open();
      assert.deepEqual(await store.tenants.get(tenant.id), tenant);
      assert.deepEqual((await store.telemetry.latest((await store.devices.findByName(tenant.id, 'tele-1'))?.id ?? '', ['temp'])).temp, {
        ts: t0 + 2000,
        value: 22,
      });
      const attributes = await store.attributes.read((await store.devices.findByName(tenant.id, 'attr-1'))?.id ?? '');
      assert.equal(attributes.version, 4);
      assert.deepEqual(attributes.client.on, { value: false, updatedAt: t0 });
    });

    // Registered after every case, so `skipped` is complete.
    test('every deviation the adapter lists names a case of this suite', () => {
      assert.deepEqual(
        Object.keys(skip).filter((n) => !skipped.has(n)),
        [],
      );
    });
  });
}

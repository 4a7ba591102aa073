/**
 * The attribute cases of the storage contract (store-contract.ts runs them inside its suite, with its skip list
 * and fixtures), kept in their own file so each stays readable.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AttributeStoreLimits, AttributeWrite } from '../attributes/model';
import type { Tenant } from '../accounts/model';
import type { Device } from '../devices/model';
import type { Store } from '../store';

export interface AttributeContractContext {
  it: (caseName: string, fn: () => Promise<void>) => void;
  store: () => Store;
  newDevice: (name: string, tenantId?: string) => Promise<Device>;
  newTenant: (name: string) => Promise<Tenant>;
  newDeviceIn: (tenant: Tenant, name: string) => Promise<Device>;
  t0: number;
}

const roomy: AttributeStoreLimits = { maxKeysPerDevice: 1000, maxScopeBytes: 1_000_000 };

export function attributeContract({ it, store, newDevice, newTenant, newDeviceIn, t0 }: AttributeContractContext): void {
  const write = (w: Partial<AttributeWrite> & Pick<AttributeWrite, 'deviceId' | 'scope'>) =>
    store().attributes.write({ set: {}, delete: [], at: t0, limits: roomy, ...w });

  it('attributes: typed values per scope with their update time; the version counts the writes that change something', async () => {
    const d = await newDevice('attr-1');
    const other = await newDevice('attr-1-other');
    assert.deepEqual(await store().attributes.read(d.id), { version: 0, client: {}, server: {}, shared: {} });
    const obj = { nested: { list: [1, 'two', null] } };
    const evil = "x'); DROP TABLE attributes; --";
    assert.deepEqual(await write({ deviceId: d.id, scope: 'client', set: { a: 1.5, s: evil, on: false, obj, list: [1, 2] } }), {
      status: 'written',
      version: 1,
      changed: true,
      deleted: [],
    });
    assert.equal((await write({ deviceId: d.id, scope: 'shared', set: { a: 'desired' }, at: t0 + 1 })).status, 'written');
    await write({ deviceId: d.id, scope: 'client', set: { a: 2 }, at: t0 + 2 });
    await write({ deviceId: other.id, scope: 'server', set: { a: 'theirs' } });
    assert.deepEqual(await store().attributes.read(d.id), {
      version: 3,
      client: {
        a: { value: 2, updatedAt: t0 + 2 },
        s: { value: evil, updatedAt: t0 },
        on: { value: false, updatedAt: t0 },
        obj: { value: obj, updatedAt: t0 },
        list: { value: [1, 2], updatedAt: t0 },
      },
      server: {},
      shared: { a: { value: 'desired', updatedAt: t0 + 1 } },
    });
    assert.deepEqual(await write({ deviceId: d.id, scope: 'client', delete: ['a', 'missing', 'obj'] }), {
      status: 'written',
      version: 4,
      changed: true,
      deleted: ['a', 'obj'],
    });
    assert.deepEqual(
      await write({ deviceId: d.id, scope: 'client', delete: ['missing'] }),
      { status: 'written', version: 4, changed: false, deleted: [] },
      'deleting only absent keys changes nothing',
    );
    assert.deepEqual(Object.keys((await store().attributes.read(d.id)).client).sort(), ['list', 'on', 's']);
    assert.deepEqual(await store().attributes.read(other.id), { version: 1, client: {}, server: { a: { value: 'theirs', updatedAt: t0 } }, shared: {} });
    // Keys are data: one named like an Object.prototype property reads back as an own key.
    await write({ deviceId: other.id, scope: 'client', set: Object.fromEntries([['__proto__', 'p']]) });
    assert.deepEqual(Object.entries((await store().attributes.read(other.id)).client), [['__proto__', { value: 'p', updatedAt: t0 }]]);
  });

  it('attributes: a write with expectedVersion happens only at that version, and of concurrent ones exactly one does', async () => {
    const d = await newDevice('attr-cas');
    assert.equal((await write({ deviceId: d.id, scope: 'shared', set: { x: 1 }, expectedVersion: 0 })).status, 'written');
    assert.deepEqual(await write({ deviceId: d.id, scope: 'shared', set: { x: 2 }, expectedVersion: 0 }), { status: 'version-mismatch', version: 1 });
    assert.deepEqual((await store().attributes.read(d.id)).shared, { x: { value: 1, updatedAt: t0 } }, 'a refused write changes nothing');
    const results = await Promise.all([2, 3, 4, 5, 6].map((x) => write({ deviceId: d.id, scope: 'shared', set: { x }, expectedVersion: 1 })));
    assert.equal(results.filter((r) => r.status === 'written').length, 1);
    assert.equal(results.filter((r) => r.status === 'version-mismatch').length, 4);
    assert.equal((await store().attributes.read(d.id)).version, 2);
  });

  it('attributes: keys per device (all scopes) and bytes per scope are bounded with what is stored; a refused write changes nothing', async () => {
    const limits = { maxKeysPerDevice: 3, maxScopeBytes: 20 };
    const d = await newDevice('attr-limits');
    assert.equal((await write({ deviceId: d.id, scope: 'client', set: { a: 1, b: 2 }, limits })).status, 'written');
    assert.equal((await write({ deviceId: d.id, scope: 'shared', set: { c: 3 }, limits })).status, 'written');
    assert.deepEqual(await write({ deviceId: d.id, scope: 'shared', set: { d: 4 }, limits }), { status: 'too-many-keys', keys: 4 });
    assert.equal((await write({ deviceId: d.id, scope: 'shared', set: { c: 'replaced' }, limits })).status, 'written', 'replacing a key adds none');
    assert.equal((await write({ deviceId: d.id, scope: 'client', delete: ['b'], set: { e: 5 }, limits })).status, 'written', 'deletes count first');
    // Size: the UTF-8 bytes of each key and of its value's JSON: "é" is 2 bytes, "x".repeat(15) as JSON 17.
    const s = await newDevice('attr-bytes');
    assert.equal((await write({ deviceId: s.id, scope: 'server', set: { é: 'x'.repeat(15) }, limits })).status, 'written');
    assert.deepEqual(await write({ deviceId: s.id, scope: 'server', set: { k: 1 }, limits }), { status: 'too-large', bytes: 21 });
    assert.equal((await write({ deviceId: s.id, scope: 'shared', set: { k: 'x'.repeat(17) }, limits })).status, 'written', 'each scope has its own size');
    const race = await newDevice('attr-race');
    const both = await Promise.all(['p', 'q'].map((k) => write({ deviceId: race.id, scope: 'client', set: { [k]: 'x'.repeat(10) }, limits })));
    assert.deepEqual(
      both.map((r) => r.status),
      ['written', 'too-large'],
      'two concurrent writes cannot together pass a limit',
    );
    assert.equal((await store().attributes.read(race.id)).version, 1);
    assert.deepEqual(await write({ deviceId: randomUUID(), scope: 'client', set: { a: 1 } }), { status: 'unknown-device' });
  });

  it('attributes: deleted with their device and with their tenant', async () => {
    const d = await newDevice('attr-doomed');
    await write({ deviceId: d.id, scope: 'shared', set: { a: 1 } });
    await store().devices.delete(d.id);
    assert.deepEqual(await store().attributes.read(d.id), { version: 0, client: {}, server: {}, shared: {} });
    assert.deepEqual(await write({ deviceId: d.id, scope: 'shared', set: { a: 1 } }), { status: 'unknown-device' });
    const t = await newTenant('Attr doomed');
    const td = await newDeviceIn(t, 'attr-tenant');
    await write({ deviceId: td.id, scope: 'client', set: { a: 1 } });
    await store().tenants.delete(t.id);
    assert.deepEqual(await store().attributes.read(td.id), { version: 0, client: {}, server: {}, shared: {} });
  });
}

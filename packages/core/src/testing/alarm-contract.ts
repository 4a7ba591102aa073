/**
 * The alarm cases of the storage contract (store-contract.ts runs them inside its suite), kept in their own
 * file so each stays readable.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Tenant } from '../accounts/model';
import type { Alarm, AlarmComment } from '../alarms/model';
import type { Device } from '../devices/model';
import { isThingsteadError } from '../errors';
import type { Store } from '../store';

export interface AlarmContractContext {
  it: (caseName: string, fn: () => Promise<void>) => void;
  store: () => Store;
  newDevice: (name: string, tenantId?: string) => Promise<Device>;
  newTenant: (name: string) => Promise<Tenant>;
  t0: number;
}

export function alarmContract({ it, store, newDevice, newTenant, t0 }: AlarmContractContext): void {
  const alarm = (d: Device, o: Partial<Alarm> = {}): Alarm => {
    const a: Alarm = {
      id: randomUUID(),
      tenantId: d.tenantId,
      deviceId: d.id,
      type: "High temperature'); DROP TABLE alarms; --",
      severity: 'MAJOR',
      acknowledged: false,
      cleared: false,
      status: 'ACTIVE_UNACK',
      startTs: t0,
      endTs: t0,
      ackTs: null,
      clearTs: null,
      createdAt: t0,
      updatedAt: t0,
      details: { value: 81.5, nested: { list: [1, 'two', null] } },
      ruleId: null,
      ackBy: null,
      clearedBy: null,
      ...o,
    };
    return { ...a, status: `${a.cleared ? 'CLEARED' : 'ACTIVE'}_${a.acknowledged ? 'ACK' : 'UNACK'}` };
  };
  const comment = (a: Alarm, o: Partial<AlarmComment> = {}): AlarmComment => ({
    id: randomUUID(),
    alarmId: a.id,
    tenantId: a.tenantId,
    userId: 'user-1',
    text: 'looking into it',
    createdAt: t0,
    ...o,
  });

  it('alarms: stored as given and read back; one not cleared per device and type; findActive finds it', async () => {
    const d = await newDevice('alarm-store');
    const a = alarm(d, { ruleId: 'rule-1' });
    await store().alarms.insert(a);
    assert.deepEqual(await store().alarms.get(a.id), a);
    assert.deepEqual(await store().alarms.findActive(d.id, a.type), a);
    assert.equal(await store().alarms.findActive(d.id, 'Other'), undefined);
    assert.equal(await store().alarms.get(randomUUID()), undefined);
    await assert.rejects(
      store().alarms.insert(alarm(d)),
      (e: unknown) => isThingsteadError(e) && e.kind === 'CONFLICT',
      'a second active alarm of one device and type',
    );
    const other = alarm(d, { type: 'Low battery' });
    await store().alarms.insert(other);
    // Once cleared, the type is free again; the cleared one stays.
    assert.equal(await store().alarms.update(a.id, { cleared: true, clearTs: t0 + 5, clearedBy: 'rule:rule-1', updatedAt: t0 + 5 }, { cleared: false }), true);
    const next = alarm(d, { startTs: t0 + 10 });
    await store().alarms.insert(next);
    assert.equal((await store().alarms.findActive(d.id, a.type))?.id, next.id);
    assert.deepEqual(await store().alarms.get(a.id), {
      ...a,
      cleared: true,
      status: 'CLEARED_UNACK',
      clearTs: t0 + 5,
      clearedBy: 'rule:rule-1',
      updatedAt: t0 + 5,
    });
    const stray = alarm({ ...d, id: randomUUID() });
    await store().alarms.insert(stray);
    assert.equal(await store().alarms.get(stray.id), undefined, 'an alarm of an unknown device is not stored');
  });

  it('alarms: an update applies only while the flags are as expected; its patch is kept', async () => {
    const d = await newDevice('alarm-update');
    const a = alarm(d);
    await store().alarms.insert(a);
    const patch = { endTs: t0 + 100, severity: 'CRITICAL' as const, details: { value: 99 }, updatedAt: t0 + 100 };
    assert.equal(await store().alarms.update(a.id, patch, { cleared: false }), true);
    assert.equal(await store().alarms.update(a.id, { acknowledged: true, ackTs: t0 + 200, ackBy: 'u', updatedAt: t0 + 200 }, { acknowledged: false }), true);
    assert.equal(await store().alarms.update(a.id, { ackTs: t0 + 300 }, { acknowledged: false }), false, 'two acknowledgements: one applies');
    assert.deepEqual(await store().alarms.get(a.id), {
      ...a,
      ...patch,
      acknowledged: true,
      status: 'ACTIVE_ACK',
      ackTs: t0 + 200,
      ackBy: 'u',
      updatedAt: t0 + 200,
    });
    assert.equal(await store().alarms.update(a.id, { cleared: true, clearTs: t0 + 400 }, { cleared: false }), true);
    assert.equal(await store().alarms.update(a.id, { endTs: t0 + 500 }, { cleared: false }), false, 'a raise does not extend a cleared alarm');
    assert.equal((await store().alarms.get(a.id))?.status, 'CLEARED_ACK');
    assert.equal(await store().alarms.update(randomUUID(), { endTs: 1 }, {}), false);
  });

  it('alarms: listed newest first with a total, by device, type, status, severities and start range, paged; counted per severity', async () => {
    const tenant = await newTenant('alarm-list-tenant');
    const d1 = await newDevice('alarm-list-1', tenant.id);
    const d2 = await newDevice('alarm-list-2', tenant.id);
    const elsewhere = await newDevice('alarm-list-elsewhere');
    const a = alarm(d1, { type: 'A', startTs: t0 + 1, severity: 'CRITICAL' });
    const b = alarm(d1, { type: 'B', startTs: t0 + 2, severity: 'MINOR', acknowledged: true, ackTs: t0 + 3 });
    const c = alarm(d2, { type: 'A', startTs: t0 + 2, severity: 'CRITICAL', cleared: true, clearTs: t0 + 4 });
    const e = alarm(d2, { type: 'C', startTs: t0 + 3, severity: 'WARNING', cleared: true, acknowledged: true });
    for (const x of [a, b, c, e, alarm(elsewhere)]) await store().alarms.insert(x);
    const ids = async (q: Partial<Parameters<Store['alarms']['list']>[0]>) => {
      const r = await store().alarms.list({ tenantId: tenant.id, limit: 100, offset: 0, ...q });
      return [r.items.map((x) => x.id), r.total];
    };
    assert.deepEqual(await ids({}), [[e.id, c.id, b.id, a.id], 4], 'of one start the last stored first');
    assert.deepEqual(await ids({ limit: 2, offset: 1 }), [[c.id, b.id], 4]);
    assert.deepEqual(await ids({ deviceId: d1.id }), [[b.id, a.id], 2]);
    assert.deepEqual(await ids({ type: 'A' }), [[c.id, a.id], 2]);
    assert.deepEqual(await ids({ status: 'ACTIVE' }), [[b.id, a.id], 2]);
    assert.deepEqual(await ids({ status: 'CLEARED' }), [[e.id, c.id], 2]);
    assert.deepEqual(await ids({ status: 'UNACK' }), [[c.id, a.id], 2]);
    assert.deepEqual(await ids({ status: 'ACTIVE_ACK' }), [[b.id], 1]);
    assert.deepEqual(await ids({ status: 'CLEARED_UNACK' }), [[c.id], 1]);
    assert.deepEqual(await ids({ status: 'CLEARED_ACK' }), [[e.id], 1]);
    assert.deepEqual(await ids({ status: 'ACTIVE_UNACK' }), [[a.id], 1]);
    assert.deepEqual(await ids({ severities: ['CRITICAL', 'WARNING'] }), [[e.id, c.id, a.id], 3]);
    assert.deepEqual(await ids({ from: t0 + 2, to: t0 + 2 }), [[c.id, b.id], 2]);
    assert.deepEqual((await store().alarms.list({ tenantId: tenant.id, limit: 1, offset: 0 })).items, [e]);
    assert.deepEqual(await store().alarms.counts({ tenantId: tenant.id }), {
      active: { CRITICAL: 1, MAJOR: 0, MINOR: 1, WARNING: 0, INDETERMINATE: 0 },
      activeTotal: 2,
      unacknowledged: 2,
      activeUnacknowledged: 1,
    });
    assert.deepEqual(await store().alarms.counts({ tenantId: tenant.id, deviceId: d2.id }), {
      active: { CRITICAL: 0, MAJOR: 0, MINOR: 0, WARNING: 0, INDETERMINATE: 0 },
      activeTotal: 0,
      unacknowledged: 1,
      activeUnacknowledged: 0,
    });
  });

  it('alarms: comments oldest first, paged; deleted with their alarm; alarms and comments go with their device and tenant', async () => {
    const d = await newDevice('alarm-comments');
    const a = alarm(d);
    await store().alarms.insert(a);
    const c2 = comment(a, { createdAt: t0 + 2, text: 'second' });
    const c1 = comment(a, { createdAt: t0 + 1, userId: null, text: 'Severity escalated from MAJOR to CRITICAL.' });
    const c3 = comment(a, { createdAt: t0 + 2, text: 'third, same time as the second' });
    for (const c of [c2, c1, c3]) await store().alarms.addComment(c);
    assert.deepEqual(await store().alarms.comments(a.id, { limit: 10, offset: 0 }), { items: [c1, c2, c3], total: 3 });
    assert.deepEqual(await store().alarms.comments(a.id, { limit: 1, offset: 1 }), { items: [c2], total: 3 });
    await store().alarms.addComment(comment({ ...a, id: randomUUID() }));
    assert.equal(await store().alarms.delete(a.id), true);
    assert.equal(await store().alarms.delete(a.id), false);
    assert.deepEqual(await store().alarms.comments(a.id, { limit: 10, offset: 0 }), { items: [], total: 0 });
    const b = alarm(d);
    await store().alarms.insert(b);
    await store().alarms.addComment(comment(b));
    await store().devices.delete(d.id);
    assert.equal(await store().alarms.get(b.id), undefined);
    assert.deepEqual(await store().alarms.comments(b.id, { limit: 10, offset: 0 }), { items: [], total: 0 });
    const t = await newTenant('alarm-tenant-gone');
    const td = await newDevice('alarm-tenant-device', t.id);
    const ta = alarm(td);
    await store().alarms.insert(ta);
    await store().tenants.delete(t.id);
    assert.equal(await store().alarms.get(ta.id), undefined);
    assert.equal((await store().alarms.counts({ tenantId: t.id })).unacknowledged, 0);
  });
}

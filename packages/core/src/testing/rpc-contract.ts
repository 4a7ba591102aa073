/**
 * The persistent-RPC cases of the storage contract (store-contract.ts runs them inside its suite), kept in their
 * own file so each stays readable.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Device } from '../devices/model';
import type { StoredRpc } from '../rpc/model';
import type { Store } from '../store';

export interface RpcContractContext {
  it: (caseName: string, fn: () => Promise<void>) => void;
  store: () => Store;
  newDevice: (name: string) => Promise<Device>;
  t0: number;
}

export function rpcContract({ it, store, newDevice, t0 }: RpcContractContext): void {
  let nextRpcId = 1;
  const rpc = (d: Device, o: Partial<StoredRpc> = {}): StoredRpc => ({
    id: randomUUID(),
    tenantId: d.tenantId,
    deviceId: d.id,
    rpcId: nextRpcId++,
    method: 'setValve',
    params: { open: true, note: "x'); DROP TABLE rpcs; --" },
    oneway: false,
    status: 'QUEUED',
    createdAt: t0,
    updatedAt: t0,
    expiresAt: t0 + 60_000,
    timeoutMs: 5000,
    attempts: 0,
    maxAttempts: 3,
    sentAt: null,
    error: null,
    ...o,
  });

  it('rpcs: stored as given and read back; listed newest first with a total, by status, paged', async () => {
    const d = await newDevice('rpc-list');
    const other = await newDevice('rpc-list-other');
    const a = rpc(d, { createdAt: t0 });
    const b = rpc(d, { createdAt: t0 + 1, status: 'SUCCESSFUL', attempts: 1, sentAt: t0 + 1, response: { ok: [1, 'two', null] } });
    const c = rpc(d, { createdAt: t0 + 2, oneway: true });
    for (const r of [a, b, c, rpc(other)]) await store().rpcs.insert(r);
    assert.deepEqual(await store().rpcs.get(b.id), b);
    assert.deepEqual(await store().rpcs.get(a.id), a);
    assert.equal(await store().rpcs.get(randomUUID()), undefined);
    assert.deepEqual(await store().rpcs.list({ deviceId: d.id, limit: 10, offset: 0 }), { items: [c, b, a], total: 3 });
    assert.deepEqual(await store().rpcs.list({ deviceId: d.id, limit: 1, offset: 1 }), { items: [b], total: 3 });
    assert.deepEqual(await store().rpcs.list({ deviceId: d.id, status: 'QUEUED', limit: 10, offset: 0 }), { items: [c, a], total: 2 });
  });

  it('rpcs: open calls oldest first; findOpen sees open calls only; a call for an unknown device is not stored', async () => {
    const d = await newDevice('rpc-open');
    const q1 = rpc(d, { createdAt: t0 + 5 });
    const sent = rpc(d, { createdAt: t0 + 6, status: 'SENT', attempts: 1, sentAt: t0 + 6 });
    const done = rpc(d, { createdAt: t0 + 1, status: 'EXPIRED', error: 'not answered before it expired' });
    const q2 = rpc(d, { createdAt: t0 + 5, id: `0-${randomUUID()}` });
    for (const r of [sent, done, q1, q2]) await store().rpcs.insert(r);
    assert.deepEqual(
      (await store().rpcs.open(d.id)).map((r) => r.id),
      [q1.id, q2.id, sent.id],
      'of one creation time, in the order stored',
    );
    assert.equal(await store().rpcs.countOpen(d.id), 3);
    assert.equal((await store().rpcs.findOpen(d.id, sent.rpcId))?.id, sent.id);
    assert.equal(await store().rpcs.findOpen(d.id, done.rpcId), undefined, 'a final call is not open');
    const stray = rpc({ ...d, id: randomUUID() });
    await store().rpcs.insert(stray);
    assert.equal(await store().rpcs.get(stray.id), undefined);
  });

  it('rpcs: due are the open calls whose expiry (queued) or attempt end (sent, delivered) has come, earliest first', async () => {
    const d = await newDevice('rpc-due');
    const base = t0 + 10_000_000;
    const queued = rpc(d, { expiresAt: base + 100 });
    const sent = rpc(d, { status: 'SENT', attempts: 1, sentAt: base, timeoutMs: 50, expiresAt: base + 10_000 });
    const delivered = rpc(d, { status: 'DELIVERED', attempts: 1, sentAt: base, timeoutMs: 500, expiresAt: base + 10_000 });
    const final = rpc(d, { status: 'TIMEOUT', attempts: 3, sentAt: base, expiresAt: base });
    for (const r of [queued, sent, delivered, final]) await store().rpcs.insert(r);
    const dueIds = async (now: number) => (await store().rpcs.due(now, 100)).filter((r) => r.deviceId === d.id).map((r) => r.id);
    assert.deepEqual(await dueIds(base + 49), []);
    assert.deepEqual(await dueIds(base + 50), [sent.id]);
    assert.deepEqual(await dueIds(base + 500), [sent.id, queued.id, delivered.id]);
  });

  it('rpcs: a transition applies only from the statuses given; its patch and the new due time are kept', async () => {
    const d = await newDevice('rpc-transition');
    const r = rpc(d);
    await store().rpcs.insert(r);
    assert.equal(await store().rpcs.transition(r.id, ['SENT'], { status: 'SUCCESSFUL' }), false);
    assert.equal((await store().rpcs.get(r.id))?.status, 'QUEUED');
    assert.equal(await store().rpcs.transition(r.id, ['QUEUED'], { status: 'SENT', attempts: 1, sentAt: t0 + 10, updatedAt: t0 + 10 }), true);
    assert.equal(await store().rpcs.transition(r.id, ['QUEUED'], { status: 'SENT', attempts: 2 }), false, 'two nodes cannot both send it');
    assert.deepEqual((await store().rpcs.due(t0 + r.timeoutMs + 10, 1000)).find((x) => x.id === r.id)?.attempts, 1);
    assert.equal(await store().rpcs.transition(r.id, ['SENT', 'DELIVERED'], { status: 'SUCCESSFUL', response: 'plain text', updatedAt: t0 + 20 }), true);
    assert.deepEqual(await store().rpcs.get(r.id), { ...r, status: 'SUCCESSFUL', attempts: 1, sentAt: t0 + 10, updatedAt: t0 + 20, response: 'plain text' });
    assert.equal(
      (await store().rpcs.due(t0 + 10_000_000_000, 1000)).find((x) => x.id === r.id),
      undefined,
      'a final call is never due',
    );
    assert.equal(await store().rpcs.transition(randomUUID(), ['QUEUED'], { status: 'SENT' }), false);
  });

  it('rpcs: deleted one by one, and with their device', async () => {
    const d = await newDevice('rpc-delete');
    const a = rpc(d);
    const b = rpc(d);
    await store().rpcs.insert(a);
    await store().rpcs.insert(b);
    assert.equal(await store().rpcs.delete(a.id), true);
    assert.equal(await store().rpcs.delete(a.id), false);
    assert.equal(await store().rpcs.get(a.id), undefined);
    await store().devices.delete(d.id);
    assert.equal(await store().rpcs.get(b.id), undefined);
  });
}

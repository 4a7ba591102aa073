import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorName } from '../errors';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore, principal } from '../testing/test-core';

const refused = (p: Promise<unknown>, kind: ErrorName) => assert.rejects(p, rejectsWith(kind));

async function setup() {
  let unmatched = 0;
  const t = await createTestCore({ onUnmatchedRpcResponse: () => unmatched++ });
  const d = await t.core.devices.create(t.asAdmin, { name: 'valve-1' });
  const device = { deviceId: d.id, tenantId: d.tenantId };
  /** Lets the memory store's and the bus's microtasks and immediates run. */
  const settled = async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      await t.bus.drain();
    }
  };
  /** Moves the clock (the sweeper runs every second) and lets what it started finish. */
  const tick = async (ms: number) => {
    for (let left = ms; left > 0; left -= 1000) {
      t.clock.advance(Math.min(1000, left));
      await settled();
    }
  };
  const statuses = (id: string) =>
    t.bus
      .of('rpc.lifecycle')
      .filter((e) => e.id === id)
      .map((e) => e.status);
  const requests = () => t.bus.of('rpc.request').filter((r) => r.deviceId === d.id);
  return { ...t, d, device, settled, tick, statuses, requests, unmatched: () => unmatched };
}

test('a persistent call to an offline device is stored QUEUED, sent when the device is ready, and completes with its answer', async () => {
  const { core, asAdmin, d, device, settled, statuses, requests, unmatched } = await setup();
  const queued = await core.rpc.call(asAdmin, d.id, { method: 'setValve', params: { open: true }, persistent: true });
  assert.ok('persistent' in queued);
  assert.equal(queued.status, 'QUEUED');
  await settled();
  assert.equal(requests().length, 0, 'nothing is sent while nobody can take it');

  await core.connectivity.connected(d.id);
  await core.rpc.ready(d.id);
  await settled();
  const [req] = requests();
  assert.ok(req);
  assert.deepEqual([req.method, req.params, req.rpcId, req.persistent], ['setValve', { open: true }, queued.rpcId, true]);
  await core.rpc.delivered(d.id, req.rpcId);
  await core.rpc.respond(device, String(req.rpcId), Buffer.from('{"open":true}'));
  await settled();
  const stored = await core.rpc.get(asAdmin, queued.id);
  assert.equal(stored.status, 'SUCCESSFUL');
  assert.deepEqual(stored.response, { open: true });
  assert.equal(stored.attempts, 1);
  assert.deepEqual(statuses(queued.id), ['QUEUED', 'SENT', 'DELIVERED', 'SUCCESSFUL']);
  assert.equal(unmatched(), 0, 'the answer to a persistent call is not counted unmatched');
  // A second answer to the same id finds no open call: ignored and counted.
  await core.rpc.respond(device, String(req.rpcId), '{}');
  await settled();
  assert.equal(unmatched(), 1);
  assert.equal((await core.rpc.get(asAdmin, queued.id)).status, 'SUCCESSFUL');
});

test('a persistent call to a reachable device is sent at once; one-way ends SUCCESSFUL on delivery', async () => {
  const { core, asAdmin, d, settled, statuses, requests } = await setup();
  await core.connectivity.connected(d.id);
  const r = await core.rpc.call(asAdmin, d.id, { method: 'blink', oneway: true, persistent: true });
  assert.ok('persistent' in r);
  assert.equal(r.status, 'SENT');
  await settled();
  await core.rpc.delivered(d.id, r.rpcId);
  assert.equal(requests().length, 1);
  assert.deepEqual(statuses(r.id), ['QUEUED', 'SENT', 'SUCCESSFUL']);
});

test('an unanswered attempt is sent again while attempts are left, then ends TIMEOUT; a late answer to an earlier attempt still counts', async () => {
  const { core, asAdmin, d, device, tick, statuses, requests } = await setup();
  await core.connectivity.connected(d.id);
  const r = await core.rpc.call(asAdmin, d.id, { method: 'reboot', timeoutMs: 2000, persistent: true });
  assert.ok('persistent' in r);
  await tick(2000);
  await tick(2000);
  await tick(2000);
  assert.equal(requests().length, 3, 'three attempts, the same id each time');
  assert.ok(requests().every((x) => x.rpcId === r.rpcId));
  const timedOut = await core.rpc.get(asAdmin, r.id);
  assert.equal(timedOut.status, 'TIMEOUT');
  assert.match(timedOut.error ?? '', /3 attempts/);
  assert.deepEqual(statuses(r.id), ['QUEUED', 'SENT', 'QUEUED', 'SENT', 'QUEUED', 'SENT', 'TIMEOUT']);

  const late = await core.rpc.call(asAdmin, d.id, { method: 'reboot', timeoutMs: 1000, persistent: true });
  assert.ok('persistent' in late);
  await core.connectivity.disconnected(d.id);
  await tick(1000);
  assert.equal((await core.rpc.get(asAdmin, late.id)).status, 'QUEUED', 'back in the queue, not sent while offline');
  await core.rpc.respond(device, String(late.rpcId), '"done"');
  assert.equal((await core.rpc.get(asAdmin, late.id)).status, 'SUCCESSFUL');
  assert.equal((await core.rpc.get(asAdmin, late.id)).response, 'done');
});

test('a call not answered before it expires ends EXPIRED; an answer over the size limit ends FAILED', async () => {
  const { core, asAdmin, d, device, tick, requests } = await setup();
  const r = await core.rpc.call(asAdmin, d.id, { method: 'm', persistent: true, expiresInMs: 1500 });
  assert.ok('persistent' in r);
  await tick(2000);
  const expired = await core.rpc.get(asAdmin, r.id);
  assert.equal(expired.status, 'EXPIRED');
  await core.connectivity.connected(d.id);
  await core.rpc.ready(d.id);
  assert.equal(requests().length, 0, 'an expired call is never sent');
  await refused(core.rpc.call(asAdmin, d.id, { method: 'm', persistent: true, expiresInMs: 0 }), 'RPC_INVALID');
  await refused(core.rpc.call(asAdmin, d.id, { method: 'm', persistent: true, expiresInMs: 2_592_000_001 }), 'RPC_INVALID');

  const big = await core.rpc.call(asAdmin, d.id, { method: 'dump', persistent: true });
  assert.ok('persistent' in big);
  await core.rpc.respond(device, String(big.rpcId), JSON.stringify({ x: 'y'.repeat(70_000) }));
  const failed = await core.rpc.get(asAdmin, big.id);
  assert.equal(failed.status, 'FAILED');
  assert.match(failed.error ?? '', /bytes/);
  assert.equal(failed.response, undefined);
});

test('an HTTP device gets one queued call per long-poll, oldest first', async () => {
  const { core, asAdmin, d, device, settled } = await setup();
  const first = await core.rpc.call(asAdmin, d.id, { method: 'first', persistent: true });
  const second = await core.rpc.call(asAdmin, d.id, { method: 'second', persistent: true });
  assert.ok('persistent' in first && 'persistent' in second);
  const got = await core.rpc.poll(device, 5000);
  assert.equal(got?.method, 'first');
  await settled();
  assert.equal((await core.rpc.get(asAdmin, first.id)).status, 'DELIVERED');
  assert.equal((await core.rpc.get(asAdmin, second.id)).status, 'QUEUED', 'no poller took it: still queued');
  assert.equal((await core.rpc.poll(device, 5000))?.method, 'second');
});

test('persistent calls are listed and cancelled by their tenant; a cancelled call is not sent; viewers read, other tenants see nothing', async () => {
  const { core, asAdmin, d, home, settled, statuses, requests } = await setup();
  const a = await core.rpc.call(asAdmin, d.id, { method: 'a', persistent: true });
  const b = await core.rpc.call(asAdmin, d.id, { method: 'b', persistent: true });
  assert.ok('persistent' in a && 'persistent' in b);
  const page = await core.rpc.list(asAdmin, d.id, { limit: 10, offset: 0 });
  assert.deepEqual(
    page.items.map((x) => x.method),
    ['b', 'a'],
  );
  const viewer = principal(home.id, 'viewer');
  assert.equal((await core.rpc.get(viewer, a.id)).method, 'a');
  await refused(core.rpc.cancel(viewer, a.id), 'FORBIDDEN');
  const stranger = principal('another-tenant', 'tenant-admin');
  await refused(core.rpc.get(stranger, a.id), 'NOT_FOUND');
  await refused(core.rpc.cancel(stranger, a.id), 'NOT_FOUND');
  await refused(core.rpc.list(stranger, d.id, { limit: 10, offset: 0 }), 'NOT_FOUND');

  await core.rpc.cancel(asAdmin, a.id);
  await refused(core.rpc.get(asAdmin, a.id), 'NOT_FOUND');
  await core.connectivity.connected(d.id);
  await core.rpc.ready(d.id);
  await settled();
  assert.deepEqual(
    requests().map((r) => r.method),
    ['b'],
  );
  assert.deepEqual(statuses(a.id), ['QUEUED', 'DELETED']);
});

test('at most maxOpenPersistentPerDevice open calls per device (LIMIT_REACHED); one that ends frees a place', async () => {
  const t = await createTestCore({ rpc: { maxOpenPersistentPerDevice: 2 } });
  const d = await t.core.devices.create(t.asAdmin, { name: 'busy' });
  const a = await t.core.rpc.call(t.asAdmin, d.id, { method: 'a', persistent: true });
  await t.core.rpc.call(t.asAdmin, d.id, { method: 'b', persistent: true });
  await refused(t.core.rpc.call(t.asAdmin, d.id, { method: 'c', persistent: true }), 'LIMIT_REACHED');
  assert.ok('persistent' in a);
  await t.core.rpc.cancel(t.asAdmin, a.id);
  const c = await t.core.rpc.call(t.asAdmin, d.id, { method: 'c', persistent: true });
  assert.ok('persistent' in c);
  assert.equal(c.status, 'QUEUED');
});

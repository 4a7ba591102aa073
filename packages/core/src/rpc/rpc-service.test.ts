import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorName } from '../errors';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore, principal } from '../testing/test-core';

const refused = (p: Promise<unknown>, kind: ErrorName) => assert.rejects(p, rejectsWith(kind));
/** Lets calls reach their timers (the memory store answers in microtasks) before the clock moves. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

async function setup() {
  const t = await createTestCore();
  const d = await t.core.devices.create(t.asAdmin, { name: 'pump-1' });
  const device = { deviceId: d.id, tenantId: d.tenantId };
  // Online: one MQTT session, as the transport reports it.
  await t.core.connectivity.connected(d.id);
  return { ...t, d, device };
}

test('a two-way call is published as rpc.request and resolves with the answer of the same device and id', async () => {
  const { core, bus, asAdmin, d, device } = await setup();
  const call = core.rpc.call(asAdmin, d.id, { method: 'setValve', params: { open: true } });
  await bus.drain();
  const [req] = bus.of('rpc.request');
  assert.ok(req);
  assert.equal(req.method, 'setValve');
  assert.deepEqual(req.params, { open: true });
  assert.equal(req.oneway, false);
  // Another device's answer with the same id does not settle it.
  const other = await core.devices.create(asAdmin, { name: 'pump-2' });
  await core.rpc.respond({ deviceId: other.id, tenantId: other.tenantId }, String(req.rpcId), '{"forged":1}');
  await core.rpc.respond(device, String(req.rpcId), Buffer.from('{"ok":true}'));
  assert.deepEqual(await call, { rpcId: req.rpcId, oneway: false, response: { ok: true } });
});

test('timeouts, offline devices, bad input, viewers and tenants are refused with their errors', async () => {
  const { core, clock, asAdmin, d, home } = await setup();
  const waiting = core.rpc.call(asAdmin, d.id, { method: 'reboot', timeoutMs: 1000 });
  await settled();
  clock.advance(1000);
  await refused(waiting, 'RPC_TIMEOUT');
  await core.connectivity.disconnected(d.id);
  await refused(core.rpc.call(asAdmin, d.id, { method: 'reboot' }), 'DEVICE_OFFLINE');
  await core.connectivity.connected(d.id);
  await refused(core.rpc.call(asAdmin, d.id, { method: 'bad\nname' }), 'RPC_INVALID');
  await refused(core.rpc.call(asAdmin, d.id, { method: 'm', timeoutMs: 600_001 }), 'RPC_INVALID');
  await refused(core.rpc.call(asAdmin, d.id, { method: 'm', params: { x: 'y'.repeat(70_000) } }), 'RPC_INVALID');
  await refused(core.rpc.call(principal(home.id, 'viewer'), d.id, { method: 'm' }), 'FORBIDDEN');
  await refused(core.rpc.call(principal('another-tenant', 'tenant-admin'), d.id, { method: 'm' }), 'NOT_FOUND');
});

test('at most maxPendingPerDevice calls wait per device; answers to unknown ids are ignored', async () => {
  const { core, bus, clock, asAdmin, d, device } = await setup();
  const calls = Array.from({ length: 100 }, () => core.rpc.call(asAdmin, d.id, { method: 'm', timeoutMs: 5000 }).catch((e: unknown) => e));
  await bus.drain();
  await refused(core.rpc.call(asAdmin, d.id, { method: 'm' }), 'UNAVAILABLE');
  await settled();
  clock.advance(5000);
  await Promise.all(calls);
  // After the timeouts, the slots are free again.
  const again = core.rpc.call(asAdmin, d.id, { method: 'm', timeoutMs: 10 });
  await settled();
  clock.advance(10);
  await refused(again, 'RPC_TIMEOUT');
  // Answers nobody waits for are ignored (the server counts them).
  await core.rpc.respond(device, '12345', '{}');
  await core.rpc.respond(device, 'abc', '{}');
});

test('an HTTP device long-polls: the next command, or undefined after the timeout; a poller makes the device reachable', async () => {
  const { core, clock, asAdmin, d, device } = await setup();
  await core.connectivity.disconnected(d.id);
  const idle = core.rpc.poll(device, 100);
  clock.advance(100);
  assert.equal(await idle, undefined);
  const poll = core.rpc.poll(device, 5000);
  const call = core.rpc.call(asAdmin, d.id, { method: 'setLight', params: { on: true }, timeoutMs: 5000 });
  const got = await poll;
  assert.ok(got);
  assert.equal(got.method, 'setLight');
  await core.rpc.respond(device, String(got.rpcId), { done: true });
  const answered = await call;
  assert.equal(answered.oneway, false);
  assert.deepEqual('response' in answered ? answered.response : undefined, { done: true });
});

test('device-to-server: the platform methods, unknown methods and malformed requests', async () => {
  const { core, clock, asAdmin, d, device } = await setup();
  assert.deepEqual(await core.rpc.serve(device, Buffer.from('{"method":"getCurrentTime"}')), { time: clock.now() });
  await core.attributes.set(asAdmin, d.id, 'shared', { interval: 30, mode: 'eco' });
  assert.deepEqual(await core.rpc.serve(device, { method: 'getSharedAttributes', params: { keys: ['mode'] } }), { mode: 'eco' });
  await refused(core.rpc.serve(device, { method: 'selfDestruct' }), 'RPC_METHOD_UNKNOWN');
  await refused(core.rpc.serve(device, Buffer.from('not json')), 'RPC_INVALID');
  await refused(core.rpc.serve(device, [1, 2]), 'RPC_INVALID');
  await refused(core.rpc.serve(device, { method: 'getSharedAttributes', params: { keys: 'mode' } }), 'RPC_INVALID');
});

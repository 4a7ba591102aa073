import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorName } from '../errors';
import type { DeviceIdentity } from '../ingress/ingress-service';
import { rejectsWith } from '../testing/store-contract';
import { createTestCore } from '../testing/test-core';

const refused = (p: Promise<unknown>, kind: ErrorName) => assert.rejects(p, rejectsWith(kind));
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

async function setup(o: Parameters<typeof createTestCore>[0] = {}) {
  const t = await createTestCore(o);
  const gw = await t.core.devices.create(t.asAdmin, { name: 'gw', gateway: true });
  const identity: DeviceIdentity = { kind: 'device', deviceId: gw.id, tenantId: gw.tenantId, gateway: true };
  return { ...t, gw, identity, session: t.core.gateway.open(identity) };
}

test('connect creates the child on first sight, linked to the gateway, with the profile its type names; again it is the same child', async () => {
  const { core, asAdmin, gw, session, store } = await setup();
  const child = await session.connect(json({ device: 'Device A', type: 'thermostat' }));
  const d = await core.devices.get(asAdmin, child.deviceId);
  assert.equal(d.name, 'Device A');
  assert.equal(d.gatewayId, gw.id);
  assert.equal(d.gateway, false);
  assert.equal((await store.profiles.get(d.profileId))?.name, 'thermostat');
  assert.equal((await session.connect(json({ device: 'Device A', type: 'other' }))).deviceId, child.deviceId);
  const untyped = await session.connect(json({ device: 'Device B' }));
  assert.equal((await core.devices.get(asAdmin, untyped.deviceId)).profileId, (await store.profiles.findDefault(gw.tenantId))?.id);
  assert.equal(core.connectivity.online(child.deviceId), true);
  assert.deepEqual(core.gateway.holderOf(child.deviceId), { gateway: session.gateway, name: 'Device A' });
  assert.equal((await core.devices.list(asAdmin, { gatewayId: gw.id })).total, 2);
});

test('disconnect, and the end of the connection, take the children offline', async () => {
  const { core, session } = await setup();
  const a = await session.connect(json({ device: 'A' }));
  const b = await session.connect(json({ device: 'B' }));
  await session.disconnect(json({ device: 'A' }));
  assert.equal(core.connectivity.online(a.deviceId), false);
  assert.equal(core.gateway.holderOf(a.deviceId), undefined);
  await session.disconnect(json({ device: 'never connected' }));
  assert.equal(core.connectivity.online(b.deviceId), true);
  await session.close();
  assert.equal(core.connectivity.online(b.deviceId), false);
  await refused(session.connect(json({ device: 'C' })), 'UNAVAILABLE');
});

test('telemetry of several children is stored under each; a bad part refuses the whole message with nothing stored', async () => {
  const { core, asAdmin, session } = await setup();
  const r = await session.telemetry(
    json({
      'Device A': [
        { ts: 1483228800000, values: { temperature: 42 } },
        { ts: 1483228801000, values: { temperature: 43 } },
      ],
      'Device B': { humidity: 50 },
    }),
    'mqtt',
  );
  assert.equal(r.points, 3);
  const a = await core.devices.list(asAdmin, { search: 'Device A' });
  const id = a.items[0]?.id ?? '';
  const q = await core.telemetry.query(asAdmin, id, { keys: ['temperature'], from: 0, to: 2e12, order: 'asc' });
  assert.deepEqual(q.data.temperature, [
    { ts: 1483228800000, value: 42 },
    { ts: 1483228801000, value: 43 },
  ]);
  await refused(session.telemetry(json({ 'Device C': { ok: 1 }, 'Device D': [{ ts: 'soon', values: { x: 1 } }] }), 'mqtt'), 'TELEMETRY_INVALID');
  assert.equal((await core.devices.list(asAdmin, { search: 'Device C' })).total, 0, 'not even the good part created its child');
});

test('attributes, attribute requests and RPC answers for children', async () => {
  const { core, asAdmin, bus, session } = await setup();
  await session.attributes(json({ 'Device A': { fw: '1.0', battery: 87 } }));
  const a = await session.connect(json({ device: 'Device A' }));
  assert.deepEqual((await core.attributes.forDevice(a, { sharedKeys: [] })).client, { fw: '1.0', battery: 87 });
  await core.attributes.set(asAdmin, a.deviceId, 'shared', { interval: 30, mode: 'eco' });
  assert.deepEqual(await session.attributeRequest(json({ id: 1, device: 'Device A', client: true, key: 'fw' })), { id: 1, device: 'Device A', value: '1.0' });
  assert.deepEqual(await session.attributeRequest(json({ id: 2, device: 'Device A', client: true, key: 'none' })), { id: 2, device: 'Device A' });
  assert.deepEqual(await session.attributeRequest(json({ id: 3, device: 'Device A', client: false, keys: ['interval', 'x'] })), {
    id: 3,
    device: 'Device A',
    values: { interval: 30 },
  });
  assert.deepEqual(await session.attributeRequest(json({ id: 4, device: 'Device A', client: false })), {
    id: 4,
    device: 'Device A',
    values: { interval: 30, mode: 'eco' },
  });

  const call = core.rpc.call(asAdmin, a.deviceId, { method: 'toggle_gpio', params: { pin: 1 } });
  await bus.drain();
  const [req] = bus.of('rpc.request');
  assert.ok(req);
  assert.equal(req.deviceId, a.deviceId);
  await session.rpcResponse(json({ device: 'Device A', id: req.rpcId, data: { success: true } }));
  assert.deepEqual(await call, { rpcId: req.rpcId, oneway: false, response: { success: true } });
  await refused(session.rpcResponse(json({ device: 'Device Z', id: 1, data: {} })), 'GATEWAY_CHILD_REFUSED');
});

test('a gateway reaches only its own children: another gateway child, a device on its own and itself are refused', async () => {
  const { core, asAdmin, session, home } = await setup();
  const other = await core.devices.create(asAdmin, { name: 'gw-2', gateway: true });
  const otherSession = core.gateway.open({ kind: 'device', deviceId: other.id, tenantId: other.tenantId, gateway: true });
  const theirs = await otherSession.connect(json({ device: 'Theirs' }));
  await core.devices.create(asAdmin, { name: 'Standalone' });
  for (const device of ['Theirs', 'Standalone', 'gw', ' Standalone ']) {
    await refused(session.connect(json({ device })), 'GATEWAY_CHILD_REFUSED');
    await refused(session.telemetry(json({ [device]: { x: 1 } }), 'mqtt'), 'GATEWAY_CHILD_REFUSED');
    await refused(session.attributes(json({ [device]: { x: 1 } })), 'GATEWAY_CHILD_REFUSED');
    await refused(session.attributeRequest(json({ id: 1, device, client: true })), 'GATEWAY_CHILD_REFUSED');
    await refused(session.rpcResponse(json({ device, id: 1, data: {} })), 'GATEWAY_CHILD_REFUSED');
  }
  await session.disconnect(json({ device: 'Theirs' }));
  assert.equal(core.connectivity.online(theirs.deviceId), true, "another gateway's child stays connected");
  // A device of another tenant by name: the name is looked up in the gateway's own tenant only, so it is a new child there.
  const t2 = await core.tenants.create(asAdmin, { name: 'Other tenant' });
  const foreign = await core.devices.create(asAdmin, { name: 'Foreign', tenantId: t2.id });
  const mine = await session.connect(json({ device: 'Foreign' }));
  assert.notEqual(mine.deviceId, foreign.id);
  assert.equal(mine.tenantId, home.id);
});

test('limits: children per gateway and new children per minute (GATEWAY_LIMIT); a device that is no gateway creates none', async () => {
  const { core, asAdmin, clock, session } = await setup({ gateway: { maxChildrenPerGateway: 3, maxNewChildrenPerMinute: 2 } });
  await session.connect(json({ device: 'c1' }));
  await session.connect(json({ device: 'c2' }));
  await refused(session.connect(json({ device: 'c3' })), 'GATEWAY_LIMIT');
  clock.advance(30_000);
  await session.connect(json({ device: 'c3' }));
  clock.advance(60_000);
  await refused(session.connect(json({ device: 'c4' })), 'GATEWAY_LIMIT');
  await session.connect(json({ device: 'c1' }));
  const plain = await core.devices.create(asAdmin, { name: 'plain' });
  const s = core.gateway.open({ kind: 'device', deviceId: plain.id, tenantId: plain.tenantId });
  await refused(s.connect(json({ device: 'x' })), 'GATEWAY_CHILD_REFUSED');
  await refused(session.connect(json({ device: 'bad\u0001name' })), 'GATEWAY_INVALID');
});

test('the gateway flag: set on create and update; a change is published so connections are authorized again', async () => {
  const { core, asAdmin, bus, gw } = await setup();
  assert.equal(gw.gateway, true);
  assert.equal((await core.devices.update(asAdmin, gw.id, { label: 'x' })).gateway, true);
  assert.deepEqual(bus.of('device.gateway'), []);
  assert.equal((await core.devices.update(asAdmin, gw.id, { gateway: false })).gateway, false);
  assert.deepEqual(bus.of('device.gateway'), [{ deviceId: gw.id, tenantId: gw.tenantId, gateway: false }]);
  const credentials = await core.devices.getCredentials(asAdmin, gw.id);
  assert.ok(credentials.type === 'access-token');
  const ingress = await core.ingress.authenticate({ clientId: 'c', username: credentials.accessToken });
  assert.deepEqual(ingress, { ok: true, who: { kind: 'device', deviceId: gw.id, tenantId: gw.tenantId } });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LiveMessage } from './model';
import { conflationKey } from './match';
import { Outbox } from './outbox';

const tel = (id: string, deviceId: string, values: Record<string, [number, unknown]>): LiveMessage => ({
  type: 'telemetry',
  id,
  deviceId,
  values: Object.fromEntries(Object.entries(values).map(([k, [ts, value]]) => [k, { ts, value: value as number }])),
});
const push = (o: Outbox, m: LiveMessage) => o.push(m, conflationKey(m));
const drain = (o: Outbox): LiveMessage[] => {
  const out: LiveMessage[] = [];
  for (let m = o.shift(); m; m = o.shift()) out.push(m);
  return out;
};

describe('live outbox', () => {
  test('below the bound every update is queued on its own, in order', () => {
    const o = new Outbox(10);
    for (let i = 0; i < 5; i++) assert.equal(push(o, tel('s', 'd', { t: [i, i] })), true);
    assert.equal(o.size, 5);
    assert.deepEqual(
      drain(o).map((m) => (m.type === 'telemetry' ? m.values.t?.value : undefined)),
      [0, 1, 2, 3, 4],
    );
    assert.equal(o.conflated, 0);
  });

  test('at the bound, updates merge into the waiting one of the same subscription and device, keeping the latest per key, and are counted', () => {
    const o = new Outbox(2);
    push(o, tel('s', 'd1', { t: [1, 1], h: [1, 50] }));
    push(o, tel('s', 'd2', { t: [1, 100] }));
    // Behind: three more updates of d1 and one of d2.
    assert.equal(push(o, tel('s', 'd1', { t: [2, 2] })), true);
    assert.equal(push(o, tel('s', 'd1', { t: [3, 3], p: [3, 7] })), true);
    assert.equal(push(o, tel('s', 'd2', { t: [2, 200] })), true);
    // An out-of-order value (older ts) does not replace the latest, but is conflated all the same.
    assert.equal(push(o, tel('s', 'd1', { t: [0, -1] })), true);
    assert.equal(o.size, 2, 'the queue did not grow');
    assert.equal(o.conflated, 4);
    const [a, b] = drain(o);
    assert.deepEqual(a, {
      type: 'telemetry',
      id: 's',
      deviceId: 'd1',
      values: { t: { ts: 3, value: 3 }, h: { ts: 1, value: 50 }, p: { ts: 3, value: 7 } },
      conflated: 3,
    });
    assert.deepEqual(b, { type: 'telemetry', id: 's', deviceId: 'd2', values: { t: { ts: 2, value: 200 } }, conflated: 1 });
  });

  test('an update that cannot be merged overflows: a series value, an event, or a key with nothing waiting', () => {
    const o = new Outbox(1);
    push(o, tel('s', 'd1', { t: [1, 1] }));
    assert.equal(push(o, tel('s', 'd2', { t: [1, 1] })), false, 'nothing of d2 waits');
    assert.equal(push(o, tel('other', 'd1', { t: [1, 1] })), false, 'another subscription');
    assert.equal(push(o, { type: 'series', id: 's', deviceId: 'd1', history: false, data: { t: [{ ts: 2, value: 2 }] } }), false);
    assert.equal(push(o, { type: 'event', id: 'e', deviceId: 'd1', event: 'device.deleted', at: 1 }), false);
    assert.equal(o.size, 1);
  });

  test('a taken message is no longer merged into: the next update waits behind on its own', () => {
    const o = new Outbox(1);
    push(o, tel('s', 'd', { t: [1, 1] }));
    assert.ok(o.shift());
    assert.equal(push(o, tel('s', 'd', { t: [2, 2] })), true);
    assert.equal(push(o, tel('s', 'd', { t: [3, 3] })), true, 'merged into the new waiting one');
    assert.deepEqual(drain(o), [{ type: 'telemetry', id: 's', deviceId: 'd', values: { t: { ts: 3, value: 3 } }, conflated: 1 }]);
  });

  test('attributes merge per key (a set after a delete undeletes it, a delete after a set drops it) per scope; connectivity keeps the last state', () => {
    const o = new Outbox(3);
    const attrs = (scope: 'shared' | 'server', updated: Record<string, number>, deleted: string[], version: number): LiveMessage => ({
      type: 'attributes',
      id: 'a',
      deviceId: 'd',
      scope,
      updated: Object.fromEntries(Object.entries(updated).map(([k, value]) => [k, { value, updatedAt: version }])),
      deleted,
      version,
    });
    push(o, attrs('shared', { x: 1, y: 1 }, ['z'], 1));
    push(o, attrs('server', { s: 1 }, [], 2));
    push(o, { type: 'connectivity', id: 'c', deviceId: 'd', change: 'connected', at: 1, connected: true, active: true });
    push(o, attrs('shared', { z: 3 }, ['y'], 3));
    push(o, { type: 'connectivity', id: 'c', deviceId: 'd', change: 'disconnected', at: 2, connected: false, active: true });
    assert.equal(o.size, 3);
    const [shared, server, conn] = drain(o);
    assert.deepEqual(shared, {
      type: 'attributes',
      id: 'a',
      deviceId: 'd',
      scope: 'shared',
      updated: { x: { value: 1, updatedAt: 1 }, z: { value: 3, updatedAt: 3 } },
      deleted: ['y'],
      version: 3,
      conflated: 2,
    });
    assert.equal(server?.type === 'attributes' && server.version, 2);
    assert.deepEqual(conn, { type: 'connectivity', id: 'c', deviceId: 'd', change: 'disconnected', at: 2, connected: false, active: true, conflated: 1 });
    assert.equal(o.conflated, 3);
  });

  test('a long-lived queue does not keep what was taken', () => {
    const o = new Outbox(5000);
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 3000; i++) push(o, { type: 'event', id: 'e', deviceId: 'd', event: 'rpc.request', at: i });
      assert.equal(drain(o).length, 3000);
    }
    assert.equal(o.size, 0);
    assert.ok((o as unknown as { queue: unknown[] }).queue.length <= 3000);
  });
});

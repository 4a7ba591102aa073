import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '../accounts/model';
import { ManualClock } from '../clock';
import type { Store } from '../store';
import { ConnectivityService, type ConnectivityRecord } from './connectivity';

function fakeStore() {
  const rows = new Map<string, Partial<ConnectivityRecord>>();
  const writes: string[] = [];
  const store = {
    devices: {
      get: async (id: string) => ({ id, tenantId: 't1' }),
      setConnectivity: async (id: string, patch: Partial<ConnectivityRecord>) => {
        writes.push(Object.keys(patch).join(','));
        rows.set(id, { ...rows.get(id), ...patch });
      },
      getConnectivity: async (id: string) => rows.get(id),
    },
  } as unknown as Store;
  return { store, rows, writes };
}

const p: Principal = { userId: 'u', tenantId: 't1', role: 'viewer', via: 'jwt' };

test('activity is batched; a disconnect writes the pending activity with it', async () => {
  const clock = new ManualClock(1000);
  const { store, writes } = fakeStore();
  const c = new ConnectivityService(store, clock, 5000);
  await c.connected('d1');
  clock.advance(10);
  c.activity('d1');
  clock.advance(10);
  c.activity('d1');
  assert.equal(writes.length, 1, 'activity waits for the batch');
  assert.deepEqual(await c.get(p, 'd1'), { connected: true, sessions: 1, lastConnectAt: 1000, lastDisconnectAt: null, lastActivityAt: 1020 });
  clock.advance(10);
  await c.disconnected('d1');
  assert.deepEqual(await c.get(p, 'd1'), { connected: false, sessions: 0, lastConnectAt: 1000, lastDisconnectAt: 1030, lastActivityAt: 1020 });
  assert.deepEqual(writes, ['lastConnectAt,lastActivityAt', 'lastDisconnectAt,lastActivityAt']);
});

test('two sessions of one device: connected until both are gone; the timer flushes activity', async () => {
  const clock = new ManualClock(0);
  const { store, rows } = fakeStore();
  const c = new ConnectivityService(store, clock, 5000);
  await c.connected('d1');
  await c.connected('d1');
  await c.disconnected('d1');
  assert.equal((await c.get(p, 'd1')).connected, true);
  await c.disconnected('d1');
  assert.equal((await c.get(p, 'd1')).connected, false);
  c.activity('d2');
  clock.advance(5000);
  await new Promise((r) => setImmediate(r));
  assert.equal(rows.get('d2')?.lastActivityAt, 0);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock';
import type { Store } from '../store';
import { RetentionJob } from './retention';

test('deletes in batches until a short batch, with the cutoff from the clock', async () => {
  const clock = new ManualClock(100 * 86_400_000);
  const calls: [number, number][] = [];
  let left = 25;
  const store = {
    refreshTokens: { deleteExpired: async () => 0 },
    telemetry: {
      deleteOlderThan: async (before: number, limit: number) => {
        calls.push([before, limit]);
        const n = Math.min(left, limit);
        left -= n;
        return n;
      },
    },
  } as unknown as Store;
  const job = new RetentionJob(store, clock, { retentionDays: 30, batchRows: 10 });
  const run = job.runOnce();
  // Between batches the job yields through the clock.
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(0);
  }
  assert.deepEqual(await run, { deletedPoints: 25 });
  assert.deepEqual(calls, [[70 * 86_400_000, 10], [70 * 86_400_000, 10], [70 * 86_400_000, 10]]);
  const off = new RetentionJob(store, clock, { retentionDays: 0, batchRows: 10 });
  assert.deepEqual(await off.runOnce(), { deletedPoints: 0 });
  assert.equal(calls.length, 3, 'retentionDays 0 keeps everything');
});

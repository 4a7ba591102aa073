import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock';
import type { Store } from '../store';
import { RetentionJob } from './retention';

test('deletes in bounded steps until a pass is done, with the cutoff from the clock', async () => {
  const clock = new ManualClock(100 * 86_400_000);
  const calls: [number, number][] = [];
  let left = 25;
  const store = {
    refreshTokens: { deleteExpired: async () => 0 },
    telemetry: {
      deleteExpired: async (before: number, budget: number) => {
        calls.push([before, budget]);
        const deleted = Math.min(left, budget);
        left -= deleted;
        return { deleted, done: left === 0 && deleted < budget };
      },
    },
  } as unknown as Store;
  const job = new RetentionJob(store, clock, { retentionDays: 30, retentionBatchRows: 10 });
  const run = job.runOnce();
  // Between batches the job yields through the clock.
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(0);
  }
  assert.deepEqual(await run, { deletedPoints: 25 });
  assert.deepEqual(calls, [
    [70 * 86_400_000, 10],
    [70 * 86_400_000, 10],
    [70 * 86_400_000, 10],
  ]);
  const off = new RetentionJob(store, clock, { retentionDays: 0, retentionBatchRows: 10 });
  assert.deepEqual(await off.runOnce(), { deletedPoints: 0 });
  assert.equal(calls.length, 3, 'retentionDays 0 keeps everything');
});

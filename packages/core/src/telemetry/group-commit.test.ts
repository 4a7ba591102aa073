import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock';
import { GroupCommitter } from './group-commit';

const tick = () => new Promise((r) => setImmediate(r));

test('items within the delay share one commit; promises settle only after it', async () => {
  const clock = new ManualClock();
  const batches: number[][] = [];
  const gc = new GroupCommitter<number>(async (items) => {
    batches.push(items);
  }, clock, { maxBatch: 100, maxDelayMs: 5, maxPending: 1000 });
  let settled = 0;
  const a = gc.submit([1, 2]).then(() => settled++);
  const b = gc.submit([3]).then(() => settled++);
  await tick();
  assert.equal(settled, 0, 'nothing settles before the commit');
  assert.deepEqual(batches, []);
  clock.advance(5);
  await Promise.all([a, b]);
  assert.deepEqual(batches, [[1, 2, 3]]);
  assert.equal(settled, 2);
});

test('a full batch commits at once; what arrives during a commit goes in the next one', async () => {
  const clock = new ManualClock();
  const batches: number[][] = [];
  let release!: () => void;
  const gc = new GroupCommitter<number>((items) => {
    batches.push(items);
    return batches.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  }, clock, { maxBatch: 3, maxDelayMs: 1000, maxPending: 1000 });
  const first = gc.submit([1, 2, 3]);
  const second = gc.submit([4]);
  await tick();
  assert.deepEqual(batches, [[1, 2, 3]]);
  release();
  await first;
  await second;
  assert.deepEqual(batches, [[1, 2, 3], [4]], 'the waiting item follows without waiting for the timer');
});

test('a failed commit rejects every waiter of that batch; later batches proceed', async () => {
  const clock = new ManualClock();
  let fail = true;
  const gc = new GroupCommitter<number>(async () => {
    if (fail) throw new Error('disk full');
  }, clock, { maxBatch: 2, maxDelayMs: 1, maxPending: 1000 });
  const results = await Promise.allSettled([gc.submit([1]), gc.submit([2])]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  fail = false;
  const ok = gc.submit([3]);
  clock.advance(1);
  await ok;
});

test('over maxPending new items are refused with UNAVAILABLE; close commits what waits and refuses more', async () => {
  const clock = new ManualClock();
  const committed: number[] = [];
  const gc = new GroupCommitter<number>(async (items) => {
    committed.push(...items);
  }, clock, { maxBatch: 100, maxDelayMs: 1000, maxPending: 3 });
  const waiting = gc.submit([1, 2]);
  await assert.rejects(gc.submit([3, 4]), { code: 'THINGSTEAD_ERR_UNAVAILABLE' });
  await gc.close();
  await waiting;
  assert.deepEqual(committed, [1, 2]);
  await assert.rejects(gc.submit([5]), { code: 'THINGSTEAD_ERR_UNAVAILABLE' });
});

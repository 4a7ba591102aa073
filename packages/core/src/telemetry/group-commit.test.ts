import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock';
import { GroupCommitter } from './group-commit';

const tick = () => new Promise((r) => setImmediate(r));

test('items within the delay share one commit; promises settle only after it', async () => {
  const clock = new ManualClock();
  const batches: number[][] = [];
  const gc = new GroupCommitter<number>(
    async (items) => {
      batches.push(items);
    },
    clock,
    { groupCommitMaxRows: 100, groupCommitMaxDelayMs: 5, maxPendingPoints: 1000 },
  );
  let settled = 0;
  const a = gc.submit('d', [1, 2]).then(() => settled++);
  const b = gc.submit('d', [3]).then(() => settled++);
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
  const gc = new GroupCommitter<number>(
    (items) => {
      batches.push(items);
      return batches.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
    },
    clock,
    { groupCommitMaxRows: 3, groupCommitMaxDelayMs: 1000, maxPendingPoints: 1000 },
  );
  const first = gc.submit('d', [1, 2, 3]);
  const second = gc.submit('d', [4]);
  await tick();
  assert.deepEqual(batches, [[1, 2, 3]]);
  release();
  await first;
  await tick();
  clock.advance(0);
  await second;
  assert.deepEqual(batches, [[1, 2, 3], [4]], 'the waiting item follows at once (a 0 ms yield), not after groupCommitMaxDelayMs');
});

test('a failed commit rejects every waiter of that batch; later batches proceed', async () => {
  const clock = new ManualClock();
  let fail = true;
  const gc = new GroupCommitter<number>(
    async () => {
      if (fail) throw new Error('disk full');
    },
    clock,
    { groupCommitMaxRows: 2, groupCommitMaxDelayMs: 1, maxPendingPoints: 1000 },
  );
  const results = await Promise.allSettled([gc.submit('d', [1]), gc.submit('d', [2])]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  fail = false;
  const ok = gc.submit('d', [3]);
  clock.advance(1);
  await ok;
});

test('over maxPendingPoints new items are refused with UNAVAILABLE; close commits what waits and refuses more', async () => {
  const clock = new ManualClock();
  const committed: number[] = [];
  const gc = new GroupCommitter<number>(
    async (items) => {
      committed.push(...items);
    },
    clock,
    { groupCommitMaxRows: 100, groupCommitMaxDelayMs: 1000, maxPendingPoints: 3 },
  );
  const waiting = gc.submit('d', [1, 2]);
  await assert.rejects(gc.submit('d', [3, 4]), { code: 'THINGSTEAD_ERR_UNAVAILABLE' });
  await gc.close();
  await waiting;
  assert.deepEqual(committed, [1, 2]);
  await assert.rejects(gc.submit('d', [5]), { code: 'THINGSTEAD_ERR_UNAVAILABLE' });
});

/** A committer whose commits wait for release(), recording each batch. */
function gated(o: { groupCommitMaxRows: number; maxPendingPoints?: number; maxPendingPointsPerDevice?: number }) {
  const clock = new ManualClock();
  const batches: string[][] = [];
  const releases: (() => void)[] = [];
  const gc = new GroupCommitter<string>(
    (items) => {
      batches.push(items);
      return new Promise<void>((r) => releases.push(r));
    },
    clock,
    {
      groupCommitMaxDelayMs: 5,
      maxPendingPoints: o.maxPendingPoints ?? 1_000_000,
      groupCommitMaxRows: o.groupCommitMaxRows,
      ...(o.maxPendingPointsPerDevice === undefined ? {} : { maxPendingPointsPerDevice: o.maxPendingPointsPerDevice }),
    },
  );
  /** Lets the running commit finish and the next one start (the 0 ms yield, or the delay timer). */
  const step = async () => {
    releases.shift()?.();
    await tick();
    clock.advance(5);
    await tick();
  };
  return { gc, batches, step, clock };
}

test('a heavy submitter cannot starve a light one: the light item is in the first batch formed after it arrives', async () => {
  const { gc, batches, step } = gated({ groupCommitMaxRows: 10 });
  const acks: string[] = [];
  // The heavy device pipelines 60 messages: the first 10 commit at once, 50 wait (5 batches' worth).
  for (let i = 0; i < 60; i++) void gc.submit('heavy', [`h${i}`]).then(() => acks.push(`h${i}`));
  await tick();
  assert.deepEqual(batches, [['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9']]);
  const light = gc.submit('light', ['L']).then(() => acks.push('L'));
  await step();
  assert.equal(batches.length, 2);
  assert.ok(batches[1]?.includes('L'), `the second batch holds the light item: ${JSON.stringify(batches[1])}`);
  assert.equal(batches[1]?.length, 10, 'and is still full');
  await step();
  await light;
  assert.ok(!acks.includes('h19'), 'the light item is acknowledged before most of the heavy backlog');
  while (gc.pending > 0) await step();
  await step();
  assert.equal(batches.flat().length, 61, 'everything committed once');
});

test("round-robin keeps each device's own order, across batches and with submissions of several items", async () => {
  const { gc, batches, step } = gated({ groupCommitMaxRows: 7 });
  const all: Promise<void>[] = [];
  // Three devices, interleaved, each with numbered items in its own order; b sends 3 at a time.
  for (let i = 0; i < 20; i++) {
    all.push(gc.submit('a', [`a${i}`]));
    if (i % 2 === 0)
      all.push(
        gc.submit(
          'b',
          [0, 1, 2].map((k) => `b${(i / 2) * 3 + k}`),
        ),
      );
    if (i % 5 === 0) all.push(gc.submit('c', [`c${i}`]));
  }
  await tick();
  while (batches.length === 0 || gc.pending > 0) await step();
  await step();
  await Promise.all(all);
  const committed = batches.flat();
  for (const key of ['a', 'b', 'c']) {
    const mine = committed.filter((x) => x.startsWith(key)).map((x) => Number(x.slice(1)));
    assert.deepEqual(
      mine,
      mine.slice().sort((x, y) => x - y),
      `${key} in its own order`,
    );
  }
  assert.equal(committed.length, 20 + 30 + 4, 'everything committed once');
  for (const b of batches.slice(1)) assert.ok(b.length <= 7, 'no batch over groupCommitMaxRows');
});

test('one device over maxPendingPointsPerDevice is refused with UNAVAILABLE and a retry time; other devices still get in', async () => {
  const { gc, batches, step } = gated({ groupCommitMaxRows: 100, maxPendingPointsPerDevice: 5 });
  const first = gc.submit('heavy', ['h1', 'h2', 'h3', 'h4']);
  await assert.rejects(gc.submit('heavy', ['h5', 'h6']), (e: { code: string; details: { retryAfterSec: number; limit: string } }) => {
    assert.equal(e.code, 'THINGSTEAD_ERR_UNAVAILABLE');
    assert.equal(e.details.retryAfterSec, 1);
    assert.equal(e.details.limit, 'telemetry.maxPendingPointsPerDevice');
    return true;
  });
  const other = gc.submit('light', ['l1', 'l2', 'l3', 'l4', 'l5']);
  assert.equal(gc.pendingOf('heavy'), 4);
  assert.equal(gc.pendingOf('light'), 5);
  await step();
  await step();
  await Promise.all([first, other]);
  // A submission larger than the cap is taken when the device has nothing waiting (else it could never get in).
  const big = gc.submit('heavy', ['b1', 'b2', 'b3', 'b4', 'b5', 'b6']);
  await step();
  await step();
  await big;
  assert.deepEqual(batches.flat().sort(), ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'h1', 'h2', 'h3', 'h4', 'l1', 'l2', 'l3', 'l4', 'l5']);
});

test('with a backlog, the next batch starts through defer (after the event loop served I/O), not inside the commit that ended', async () => {
  const clock = new ManualClock();
  const batches: number[][] = [];
  const deferred: (() => void)[] = [];
  const gc = new GroupCommitter<number>(
    async (items) => {
      batches.push(items);
    },
    clock,
    { groupCommitMaxRows: 2, groupCommitMaxDelayMs: 1000, maxPendingPoints: 100, defer: (fn) => deferred.push(fn) },
  );
  const all = [1, 2, 3, 4, 5].map((n) => gc.submit('d', [n]));
  await tick();
  assert.deepEqual(batches, [[1, 2]]);
  assert.equal(deferred.length, 1, 'the next batch is deferred');
  deferred.shift()?.();
  await tick();
  assert.deepEqual(batches, [
    [1, 2],
    [3, 4],
  ]);
  deferred.shift()?.();
  await Promise.all(all);
  assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
});

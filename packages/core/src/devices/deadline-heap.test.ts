import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../testing/random';
import { DeadlineHeap } from './deadline-heap';

test('pops in deadline order, pushes and pops interleaved (seeded), against a sorted list', () => {
  const rand = mulberry32(10);
  const heap = new DeadlineHeap();
  const model: { at: number; key: string }[] = [];
  for (let i = 0; i < 5000; i++) {
    if (rand() < 0.6 || model.length === 0) {
      const at = Math.floor(rand() * 1000);
      heap.push(at, `k${i}`);
      model.push({ at, key: `k${i}` });
    } else {
      model.sort((a, b) => a.at - b.at);
      const popped = heap.pop();
      const expected = model.shift();
      assert.equal(popped?.at, expected?.at);
    }
    assert.equal(heap.size, model.length);
    assert.equal(heap.peek(), model.length === 0 ? undefined : Math.min(...model.map((m) => m.at)));
  }
});

test('empty: peek and pop answer undefined; rebuild replaces every entry', () => {
  const heap = new DeadlineHeap();
  assert.equal(heap.peek(), undefined);
  assert.equal(heap.pop(), undefined);
  heap.push(5, 'old');
  heap.rebuild([
    [30, 'c'],
    [10, 'a'],
    [20, 'b'],
  ]);
  assert.deepEqual([heap.pop(), heap.pop(), heap.pop(), heap.pop()], [{ at: 10, key: 'a' }, { at: 20, key: 'b' }, { at: 30, key: 'c' }, undefined]);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonProblem, maxJsonDepth } from './json';

const nested = (levels: number): unknown => JSON.parse('{"a":'.repeat(levels - 1) + '[1]' + '}'.repeat(levels - 1));

test('depth: the top level is level 1; maxJsonDepth levels pass, one more is refused', () => {
  assert.equal(jsonProblem(nested(maxJsonDepth)), undefined);
  assert.match(jsonProblem(nested(maxJsonDepth + 1)) ?? '', /nested deeper than 32 levels/);
  assert.equal(jsonProblem({ a: 1, b: [1, { c: 'x' }] }, 3), undefined);
  assert.match(jsonProblem({ a: 1, b: [1, { c: [] }] }, 3) ?? '', /deeper than 3/);
});

test('a value nested 5,000 or 100,000 deep is refused without overflowing the stack', () => {
  assert.match(jsonProblem(nested(5000)) ?? '', /deeper/);
  assert.match(jsonProblem(JSON.parse('['.repeat(100_000) + ']'.repeat(100_000))) ?? '', /deeper/);
});

test('numbers JSON.parse made infinite (1e400) are refused wherever they are', () => {
  assert.match(jsonProblem(JSON.parse('1e400')) ?? '', /out of range/);
  assert.match(jsonProblem(JSON.parse('{"big":1e400}')) ?? '', /out of range/);
  assert.match(jsonProblem(JSON.parse('[{"a":[-1e400]}]')) ?? '', /out of range/);
  assert.equal(jsonProblem(JSON.parse('{"max":1.7976931348623157e308,"tiny":1e-400}')), undefined);
  assert.equal(jsonProblem('text'), undefined);
  assert.equal(jsonProblem(null), undefined);
});

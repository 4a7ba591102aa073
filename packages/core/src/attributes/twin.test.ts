import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameJson, twinOf } from './twin';

test('sameJson: equal JSON values whatever the key order; arrays in order; no coercion between types', () => {
  assert.ok(sameJson({ a: 1, b: { c: [1, { d: 'x' }] } }, { b: { c: [1, { d: 'x' }] }, a: 1 }));
  assert.ok(sameJson(1, 1.0));
  for (const [a, b] of [
    [
      [1, 2],
      [2, 1],
    ],
    [{ a: 1 }, { a: 1, b: 2 }],
    [
      { a: 1, b: undefined },
      { a: 1, c: 2 },
    ],
    [1, '1'],
    [true, 1],
    [[], {}],
    [{ 0: 'x' }, ['x']],
    [null, {}],
  ] as [unknown, unknown][])
    assert.ok(!sameJson(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
});

test('twinOf: a desired key is in the delta when reported is missing or differs, with the desired value and time', () => {
  const at = (value: unknown, updatedAt = 1) => ({ value: value as number, updatedAt });
  const twin = twinOf({
    version: 7,
    shared: { same: at(1), differs: at('eco'), missing: at({ a: 1 }) },
    client: { same: at(1, 9), differs: at('normal', 9), extra: at(true, 9) },
    server: { hidden: at(0) },
  });
  assert.deepEqual(twin, {
    version: 7,
    desired: { same: at(1), differs: at('eco'), missing: at({ a: 1 }) },
    reported: { same: at(1, 9), differs: at('normal', 9), extra: at(true, 9) },
    delta: { differs: at('eco'), missing: at({ a: 1 }) },
  });
});

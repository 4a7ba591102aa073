import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileExpression, notFast } from './expressions';

const expressions = [
  'x > 30',
  'x >= y',
  'x < 3 and y != "a"',
  'x = y or z',
  'x * y + 2',
  '(x - y) / 2 > 1',
  'x % 3 = 1',
  '-x < 0',
  '$device.name = "pump" and x > 1',
  '$analytics.score > 3',
  '$shared.limit < x',
  '$device.metadata.room = "hall"',
  'a.b > 1',
  'x',
  'true and x',
  'false or y',
  '$missing.x > 1',
  'x / y',
];
const samples: unknown[] = [undefined, 0, 1, -2.5, 40, 'a', '', 'b', true, false, null, [1, 2], { b: 2 }, 1e308];

function* inputs(): Generator<{ values: Record<string, unknown>; bindings: Record<string, unknown> }> {
  let seed = 7;
  const pick = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return samples[seed % samples.length];
  };
  for (let i = 0; i < 300; i++) {
    const values: Record<string, unknown> = {};
    for (const k of ['x', 'y', 'z', 'a']) {
      const v = pick();
      if (v !== undefined) values[k] = v;
    }
    yield {
      values,
      bindings: {
        device: { name: i % 2 ? 'pump' : 'fan', metadata: i % 3 ? { room: 'hall' } : {} },
        analytics: { score: pick() },
        shared: { limit: pick() },
      },
    };
  }
}

describe('rule expressions: the fast path', () => {
  it('answers exactly as the JSONata interpreter whenever it answers, over mixed types (else it steps aside)', async () => {
    let fastAnswers = 0;
    for (const source of expressions) {
      const e = compileExpression(source);
      for (const { values, bindings } of inputs()) {
        const fast = e.tryFast(values, bindings);
        if (fast === notFast) continue;
        fastAnswers++;
        const slow = await e.evaluate(values, bindings, 0).then(
          (v) => ({ v }),
          (err: unknown) => ({ err: (err as Error).message }),
        );
        assert.deepEqual({ v: fast }, slow, `${source} with ${JSON.stringify(values)} ${JSON.stringify(bindings)}`);
      }
    }
    assert.ok(fastAnswers > 2000, `the fast path answered ${fastAnswers} times`);
  });

  it('covers the common forms and leaves functions, predicates and bindings to the interpreter', () => {
    const v = { x: 40, y: 2 };
    const b = { device: { name: 'pump' } };
    assert.equal(compileExpression('x > 30 and $device.name != "x"').tryFast(v, b), true);
    assert.equal(compileExpression('x * y').tryFast(v, b), 80);
    for (const s of ['$sum([x, y])', 'x[0]', '($a := 1; x)', '$now() > 0', 'x in [1, 2]', 'x & "a"', '$', '$string(x)']) {
      assert.equal(compileExpression(s).tryFast(v, b), notFast, s);
    }
  });
});

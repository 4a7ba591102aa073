import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../testing/random';
import { encodeFloats } from './float-codec';
import { analyticTypes, createAnalyser, warmupMs, type AnalyserSnapshot, type AnalyticSpec } from './index';
import { stream } from './naive-reference';

const specs: AnalyticSpec[] = [
  ...(['avg', 'min', 'max', 'sum', 'count', 'delta', 'first', 'last', 'stddev'] as const).map((fn): AnalyticSpec => ({
    type: 'window',
    key: 't',
    windowMs: 60_000,
    fn,
  })),
  { type: 'ewma', key: 't', halfLifeMs: 30_000 },
  { type: 'ewma-anomaly', key: 't', halfLifeMs: 30_000 },
  { type: 'zscore', key: 't', windowMs: 60_000 },
  { type: 'rate', key: 't', windowMs: 60_000, perMs: 1000 },
  { type: 'forecast', key: 't', windowMs: 60_000, horizonMs: 600_000 },
  { type: 'until', key: 't', windowMs: 60_000, threshold: 25 },
];

test('every type has a spec here', () => {
  assert.deepEqual(new Set(specs.map((s) => s.type)), new Set(analyticTypes));
});

test('snapshot -> JSON -> restore answers exactly as the original for every further point', () => {
  const rand = mulberry32(21);
  const points = stream(rand, 4000, 60_000);
  for (const spec of specs) {
    const original = createAnalyser(spec);
    points.slice(0, 2000).forEach((p) => {
      original.update(p.ts, p.x);
    });
    const restored = createAnalyser(spec, JSON.parse(JSON.stringify(original.snapshot())) as AnalyserSnapshot);
    assert.deepEqual(restored.snapshot(), original.snapshot(), spec.type);
    for (const p of points.slice(2000)) {
      original.update(p.ts, p.x);
      restored.update(p.ts, p.x);
      for (const now of [p.ts, p.ts + 45_000]) assert.equal(restored.value(now), original.value(now), `${JSON.stringify(spec)} at ${now}`);
    }
  }
});

test('a snapshot of another type, version, window, half-life or fn, or a damaged one, is ignored: the analyser starts empty', () => {
  const avg = createAnalyser({ type: 'window', key: 't', windowMs: 60_000, fn: 'avg' });
  const ewma = createAnalyser({ type: 'ewma', key: 't', halfLifeMs: 30_000 });
  for (let ts = 0; ts < 10_000; ts += 100) {
    avg.update(ts, 3);
    ewma.update(ts, 3);
  }
  const good = avg.snapshot();
  const state = good.state as Record<string, unknown>;
  const cases: [AnalyticSpec, unknown][] = [
    [{ type: 'zscore', key: 't', windowMs: 60_000 }, good],
    [
      { type: 'window', key: 't', windowMs: 60_000, fn: 'avg' },
      { ...good, v: 2 },
    ],
    [{ type: 'window', key: 't', windowMs: 120_000, fn: 'avg' }, good],
    [{ type: 'window', key: 't', windowMs: 60_000, fn: 'stddev' }, good],
    [
      { type: 'window', key: 't', windowMs: 60_000, fn: 'avg' },
      { ...good, state: { ...state, data: 'AAAA' } },
    ],
    [
      { type: 'window', key: 't', windowMs: 60_000, fn: 'avg' },
      { ...good, state: { ...state, data: encodeFloats([Infinity, 0, 0, ...new Array<number>(120).fill(1)]) } },
    ],
    [
      { type: 'window', key: 't', windowMs: 60_000, fn: 'avg' },
      { ...good, state: null },
    ],
    [{ type: 'window', key: 't', windowMs: 60_000, fn: 'avg' }, 'nonsense'],
    [{ type: 'ewma', key: 't', halfLifeMs: 60_000 }, ewma.snapshot()],
    [
      { type: 'ewma', key: 't', halfLifeMs: 30_000 },
      { ...ewma.snapshot(), state: { ...(ewma.snapshot().state as object), mean: 'x' } },
    ],
  ];
  for (const [spec, snapshot] of cases) {
    const a = createAnalyser(spec, snapshot as AnalyserSnapshot);
    assert.equal(a.value(10_000), null, JSON.stringify(snapshot));
    // and works as a fresh one
    const fresh = createAnalyser(spec);
    for (const x of [a, fresh]) {
      x.update(10_000, 5);
      x.update(11_000, 7);
      x.update(12_000, 4);
    }
    assert.equal(a.value(12_000), fresh.value(12_000), JSON.stringify(snapshot));
  }
  assert.equal(createAnalyser({ type: 'window', key: 't', windowMs: 60_000, fn: 'avg' }, good).value(10_000), 3, 'the good one restores');
});

test('bounded memory: a window fed 1,000,000 points keeps a snapshot of constant size, under 4 KB', () => {
  const rand = mulberry32(4);
  for (const spec of [
    { type: 'until', key: 't', windowMs: 60_000, threshold: 100 },
    { type: 'window', key: 't', windowMs: 60_000, fn: 'stddev' },
  ] satisfies AnalyticSpec[]) {
    const a = createAnalyser(spec);
    const sizes = new Set<number>();
    let ts = 1_700_000_000_000;
    for (let i = 1; i <= 1_000_000; i++) {
      ts += Math.floor(rand() * 20);
      a.update(ts, rand() * 100);
      if (i % 100_000 === 0) sizes.add(JSON.stringify(a.snapshot()).length);
    }
    const [size = Infinity, ...others] = sizes;
    assert.deepEqual(others, [], `sizes ${[...sizes].join(', ')}`);
    assert.ok(size < 4096, `${size} characters`);
    assert.equal(JSON.stringify(createAnalyser(spec).snapshot()).length, size, 'as large empty as full');
  }
});

test('warmupMs: a window its windowMs, an EWMA 5 half-lives', () => {
  assert.equal(warmupMs({ type: 'window', key: 't', windowMs: 60_000, fn: 'avg' }), 60_000);
  assert.equal(warmupMs({ type: 'until', key: 't', windowMs: 3_600_000, threshold: 1 }), 3_600_000);
  assert.equal(warmupMs({ type: 'ewma', key: 't', halfLifeMs: 10_000 }), 50_000);
  assert.equal(warmupMs({ type: 'ewma-anomaly', key: 't', halfLifeMs: 10_000 }), 50_000);
});

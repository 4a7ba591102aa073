import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../testing/random';
import { createAnalyser, type AnalyticSpec } from './index';
import { assertClose, close, naiveWindowOutput, stream, type Point } from './naive-reference';

type WindowSpec = Extract<AnalyticSpec, { windowMs: number }>;

const fns = ['avg', 'min', 'max', 'sum', 'count', 'delta', 'first', 'last', 'stddev'] as const;

function specsFor(windowMs: number, threshold: number): WindowSpec[] {
  return [
    ...fns.map((fn): WindowSpec => ({ type: 'window', key: 't', windowMs, fn })),
    { type: 'zscore', key: 't', windowMs },
    { type: 'rate', key: 't', windowMs },
    { type: 'rate', key: 't', windowMs, perMs: 1000 },
    { type: 'forecast', key: 't', windowMs, horizonMs: windowMs / 2 },
    { type: 'until', key: 't', windowMs, threshold },
  ];
}

/** Feeds `points` and compares with the reference every few points, and at times past the newest one. */
function compare(spec: WindowSpec, points: readonly Point[], rand: () => number): number {
  const a = createAnalyser(spec);
  const rel = spec.type === 'window' ? 1e-9 : 1e-6;
  let checks = 0;
  points.forEach((p, i) => {
    a.update(p.ts, p.x);
    if (rand() > 0.1) return;
    const seen = points.slice(0, i + 1);
    for (const now of [p.ts, p.ts + Math.floor(rand() * spec.windowMs * 1.2)]) {
      const expected = naiveWindowOutput(spec, seen, now);
      const actual = a.value(now);
      assert.ok(close(actual, expected, rel), `${JSON.stringify(spec)} at point ${i}, now ${now}: ${actual} != ${expected}`);
      checks++;
    }
  });
  return checks;
}

test('every window output equals the naive reference over the same bucket-aligned window (seeded streams with bursts and gaps)', () => {
  for (const [seed, windowMs] of [
    [1, 1000],
    [2, 60_000],
    [3, 3_600_000],
    [4, 7_000],
  ] as const) {
    const rand = mulberry32(seed);
    const points = stream(rand, 2000, windowMs);
    for (const spec of specsFor(windowMs, 20 + (rand() - 0.5) * 10)) assert.ok(compare(spec, points, rand) > 300, 'enough checks');
  }
});

test('the window is the 60 buckets ending with the one holding now: (now - windowMs, now] rounded to bucket edges', () => {
  const count = createAnalyser({ type: 'window', key: 't', windowMs: 60_000, fn: 'count' });
  for (let ts = 0; ts < 120_000; ts += 100) count.update(ts, 1);
  // buckets of 1 s: at now = 119 950 the window is [60 000, 120 000), 600 points.
  assert.equal(count.value(119_950), 600);
  // one bucket later the points of [60 000, 61 000) have expired, none came.
  assert.equal(count.value(120_000), 590);
  assert.equal(count.value(179_999), 0);
  const first = createAnalyser({ type: 'window', key: 't', windowMs: 60_000, fn: 'first' });
  first.update(1000, 7);
  first.update(30_500, 8);
  assert.equal(first.value(60_999), 7);
  assert.equal(first.value(61_000), 8);
  assert.equal(first.value(200_000), null, 'an empty window is null');
});

test('a point older than the newest seen, or not finite, is ignored', () => {
  const sum = createAnalyser({ type: 'window', key: 't', windowMs: 60_000, fn: 'sum' });
  sum.update(10_000, 1);
  sum.update(9_999, 100);
  sum.update(10_000, 2);
  sum.update(11_000, Number.NaN);
  sum.update(Number.POSITIVE_INFINITY, 5);
  sum.update(12_000, Number.POSITIVE_INFINITY);
  assert.equal(sum.value(12_000), 3);
});

test('values around 1e9 with a tiny spread keep their stddev, z-score and slope', () => {
  const rand = mulberry32(7);
  const base = 1e9;
  const points: Point[] = [];
  for (let i = 0, ts = 1_700_000_000_000; i < 5000; i++, ts += 1 + Math.floor(rand() * 20)) {
    points.push({ ts, x: base + (rand() - 0.5) * 1e-3 + i * 1e-7 });
  }
  const now = points[points.length - 1]?.ts ?? 0;
  // The reference on offsets from 1e9: exact to the digits that are left.
  const offsets = points.map((p) => ({ ts: p.ts, x: p.x - base }));
  for (const spec of [
    { type: 'window', key: 't', windowMs: 60_000, fn: 'stddev' },
    { type: 'zscore', key: 't', windowMs: 60_000 },
    { type: 'rate', key: 't', windowMs: 60_000 },
  ] satisfies WindowSpec[]) {
    const a = createAnalyser(spec);
    for (const p of points) a.update(p.ts, p.x);
    const expected = naiveWindowOutput(spec, offsets, now);
    assert.ok(expected !== null && expected !== 0, 'a defined reference');
    assert.ok(close(a.value(now), expected, 1e-4), `${spec.type}: ${a.value(now)} != ${expected}`);
  }
});

function fed(spec: WindowSpec, points: readonly Point[]): ReturnType<typeof createAnalyser> {
  const a = createAnalyser(spec);
  for (const p of points) a.update(p.ts, p.x);
  return a;
}

test('rate, forecast and until on an exact linear series are exact', () => {
  const t0 = 1_700_000_000_000;
  const rand = mulberry32(11);
  const points: Point[] = [];
  for (let ts = t0; ts < t0 + 50_000; ts += 1 + Math.floor(rand() * 900)) points.push({ ts, x: 1e6 + 0.002 * (ts - t0) });
  const now = (points[points.length - 1]?.ts ?? 0) + 300;
  const at = (t: number): number => 1e6 + 0.002 * (t - t0);
  const w = 60_000;
  assertClose(fed({ type: 'rate', key: 'x', windowMs: w }, points).value(now), 120, 1e-9, 'rate per minute');
  assertClose(fed({ type: 'rate', key: 'x', windowMs: w, perMs: 1 }, points).value(now), 0.002, 1e-9, 'rate per ms');
  assertClose(fed({ type: 'forecast', key: 'x', windowMs: w, horizonMs: 3_600_000 }, points).value(now), at(now + 3_600_000), 1e-12, 'forecast an hour ahead');
  assertClose(fed({ type: 'forecast', key: 'x', windowMs: w, horizonMs: 0 }, points).value(now), at(now), 1e-12, 'forecast at now');
  const threshold = at(now) + 500;
  assertClose(fed({ type: 'until', key: 'x', windowMs: w, threshold }, points).value(now), 250_000, 1e-9, 'until, rising');
  // Rising and already above the threshold: the line moves away from it.
  assert.equal(fed({ type: 'until', key: 'x', windowMs: w, threshold: 1e6 }, points).value(now), null);
  const falling = points.map((p) => ({ ts: p.ts, x: -p.x }));
  assertClose(fed({ type: 'until', key: 'x', windowMs: w, threshold: -threshold }, falling).value(now), 250_000, 1e-9, 'until, falling');
  assert.equal(fed({ type: 'until', key: 'x', windowMs: w, threshold: -1e6 }, falling).value(now), null);
});

test('until is 0 when the newest point is already past the threshold the line still approaches', () => {
  const a = createAnalyser({ type: 'until', key: 'x', windowMs: 60_000, threshold: 10 });
  for (let i = 0; i < 10; i++) a.update(i * 1000, i);
  assertClose(a.value(9000), 1000, 1e-9, 'until before the spike');
  a.update(9200, 10.5); // a spike past 10; the fitted line is still below it at now
  assert.equal(a.value(9200), 0);
  a.update(9300, 9.3); // back under it: the line's time again
  assert.ok((a.value(9300) ?? 0) > 0, 'a time again');
});

test('noisy linear series: rate and forecast close to the true line; a flat series: until null, rate 0', () => {
  const rand = mulberry32(5);
  const points: Point[] = [];
  for (let ts = 0; ts < 600_000; ts += 500) points.push({ ts, x: 50 + 0.0001 * ts + (rand() - 0.5) * 2 });
  const now = 599_500;
  const rate = fed({ type: 'rate', key: 'x', windowMs: 600_000 }, points).value(now) ?? Number.NaN;
  assert.ok(Math.abs(rate - 6) < 0.1, `rate ${rate}`);
  const forecast = fed({ type: 'forecast', key: 'x', windowMs: 600_000, horizonMs: 60_000 }, points).value(now) ?? Number.NaN;
  assert.ok(Math.abs(forecast - (50 + 0.0001 * (now + 60_000))) < 0.5, `forecast ${forecast}`);
  const until = fed({ type: 'until', key: 'x', windowMs: 600_000, threshold: 130 }, points).value(now) ?? Number.NaN;
  assert.ok(Math.abs(until - 200_500) < 10_000, `until ${until}`);

  const flat = points.map((p) => ({ ts: p.ts, x: 42 }));
  assert.equal(fed({ type: 'until', key: 'x', windowMs: 600_000, threshold: 50 }, flat).value(now), null);
  assert.equal(fed({ type: 'rate', key: 'x', windowMs: 600_000 }, flat).value(now), 0);
  assert.equal(fed({ type: 'zscore', key: 'x', windowMs: 600_000 }, flat).value(now), null, 'stddev 0');
  assert.equal(fed({ type: 'window', key: 'x', windowMs: 600_000, fn: 'stddev' }, flat).value(now), null);
});

test('a line needs 2 points at different times', () => {
  const a = createAnalyser({ type: 'forecast', key: 'x', windowMs: 60_000, horizonMs: 1000 });
  assert.equal(a.value(0), null);
  a.update(1000, 1);
  assert.equal(a.value(1000), null);
  a.update(1000, 2);
  assert.equal(a.value(1000), null, 'two points at one ms have no slope');
  a.update(2000, 3);
  assert.notEqual(a.value(2000), null);
});

test('a window answers with the same bits whether it was queried after every point or never before (replay and live agree)', () => {
  const rand = mulberry32(11);
  for (const windowMs of [60_000, 300_000]) {
    // A point every 0.5-20 s: runs within one bucket, buckets skipped, blocks of 60 buckets crossed.
    const points: Point[] = [];
    for (let i = 0, ts = 1_700_000_000_000; i < 3000; i++, ts += 500 + Math.floor(rand() * 19_500)) points.push({ ts, x: 20 + rand() * 5 });
    for (const spec of specsFor(windowMs, 22)) {
      const often = createAnalyser(spec);
      const seldom = createAnalyser(spec);
      points.forEach((p, i) => {
        often.update(p.ts, p.x);
        seldom.update(p.ts, p.x);
        often.value(p.ts);
        if (i % 7 === 0) often.value(p.ts + windowMs / 3);
        if (i % 97 === 0 || i === points.length - 1) {
          for (const now of [p.ts, p.ts + 1000, p.ts + windowMs / 2]) {
            assert.equal(seldom.value(now), often.value(now), `${JSON.stringify(spec)} at point ${i}, now ${now}`);
          }
        }
      });
    }
  }
});

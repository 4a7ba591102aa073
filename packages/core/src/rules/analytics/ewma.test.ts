import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../testing/random';
import { createAnalyser } from './index';
import { close, naiveEwm, naiveEwmaAnomaly, stream, type Point } from './naive-reference';

test('ewma and ewma-anomaly equal their closed forms over seeded streams with bursts and gaps', () => {
  for (const [seed, halfLifeMs] of [
    [1, 1000],
    [2, 30_000],
    [3, 3_600_000],
  ] as const) {
    const rand = mulberry32(seed);
    const points = stream(rand, 1500, halfLifeMs);
    const ewma = createAnalyser({ type: 'ewma', key: 't', halfLifeMs });
    const anomaly = createAnalyser({ type: 'ewma-anomaly', key: 't', halfLifeMs });
    let scored = 0;
    points.forEach((p, i) => {
      ewma.update(p.ts, p.x);
      anomaly.update(p.ts, p.x);
      if (i % 7 !== 0) return;
      const seen = points.slice(0, i + 1);
      assert.ok(close(ewma.value(p.ts), naiveEwm(seen, halfLifeMs)?.mean ?? null), `ewma at ${i}`);
      const expected = naiveEwmaAnomaly(seen, halfLifeMs);
      assert.ok(close(anomaly.value(p.ts), expected, 1e-6), `anomaly at ${i}: ${anomaly.value(p.ts)} != ${expected}`);
      if (expected !== null) scored++;
    });
    assert.ok(scored > 150, `${scored} scores checked`);
  }
});

test('alpha is time-aware: one half-life after the previous point, a new value moves the average half-way', () => {
  const a = createAnalyser({ type: 'ewma', key: 't', halfLifeMs: 10_000 });
  assert.equal(a.value(0), null);
  a.update(0, 10);
  assert.equal(a.value(0), 10);
  a.update(10_000, 20);
  assert.equal(a.value(10_000), 15);
  a.update(30_000, 35);
  assert.equal(a.value(99_000), 15 + 0.75 * 20, 'two half-lives: alpha 3/4; no decay between points');
  a.update(30_000, 1000);
  assert.equal(a.value(30_000), 30, 'a point at the same ms has dt = 0, no weight');
  a.update(29_999, 1000);
  assert.equal(a.value(30_000), 30, 'a late point is ignored');
});

test('ewma-anomaly scores a spike high and steady noise low; null before the history has a spread', () => {
  const rand = mulberry32(3);
  const a = createAnalyser({ type: 'ewma-anomaly', key: 't', halfLifeMs: 60_000 });
  a.update(0, 5);
  assert.equal(a.value(0), null);
  a.update(1000, 5);
  assert.equal(a.value(1000), null, 'no variance yet');
  let ts = 2000;
  for (let i = 0; i < 500; i++, ts += 1000) a.update(ts, 5 + (rand() - 0.5));
  assert.ok((a.value(ts) ?? Infinity) < 3, `noise score ${a.value(ts)}`);
  a.update(ts, 15);
  assert.ok((a.value(ts) ?? 0) > 10, `score ${a.value(ts)}`);
});

test('values around 1e9 with a tiny spread: the EWM variance keeps its digits', () => {
  const rand = mulberry32(9);
  const base = 1e9;
  const points: Point[] = [];
  for (let i = 0, ts = 1_700_000_000_000; i < 3000; i++, ts += 1 + Math.floor(rand() * 2000)) points.push({ ts, x: base + (rand() - 0.5) * 1e-3 });
  const anomaly = createAnalyser({ type: 'ewma-anomaly', key: 't', halfLifeMs: 60_000 });
  const ewma = createAnalyser({ type: 'ewma', key: 't', halfLifeMs: 60_000 });
  for (const p of points) {
    anomaly.update(p.ts, p.x);
    ewma.update(p.ts, p.x);
  }
  const offsets = points.map((p) => ({ ts: p.ts, x: p.x - base }));
  const expected = naiveEwmaAnomaly(offsets, 60_000);
  assert.ok(expected !== null, 'a defined reference');
  assert.ok(close(anomaly.value(0), expected, 1e-3), `${anomaly.value(0)} != ${expected}`);
  // The mean itself is held to the spacing of doubles at 1e9 (1.2e-7).
  const error = Math.abs((ewma.value(0) ?? 0) - base - (naiveEwm(offsets, 60_000)?.mean ?? Infinity));
  assert.ok(error < 3e-7, `mean off by ${error}`);
});

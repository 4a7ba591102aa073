// The console's logic that needs no browser: the live latest-values reducer, hash routes, relative times.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ago, valueText } from './format';
import { foldLatest } from './latest';
import { href, parseRoute } from './route';

test('foldLatest keeps each key newest value: a newer or equal ts replaces, an older one is ignored, nothing new keeps the object', () => {
  const a = { t: { ts: 100, value: 1 } };
  const b = foldLatest(a, { t: { ts: 200, value: 2 }, h: { ts: 50, value: 'x' } });
  assert.deepEqual(b, { t: { ts: 200, value: 2 }, h: { ts: 50, value: 'x' } });
  assert.deepEqual(a, { t: { ts: 100, value: 1 } }, 'the input is not changed');
  const c = foldLatest(b, { t: { ts: 150, value: 9 } });
  assert.equal(c, b, 'an older value changes nothing, and the same object comes back');
  assert.deepEqual(foldLatest(b, { t: { ts: 200, value: 3 } }).t, { ts: 200, value: 3 }, 'the same ts: the later message wins, as in the store');
});

test('routes: #/devices and #/devices/<id> round-trip, anything else is the device list', () => {
  assert.deepEqual(parseRoute(''), { screen: 'devices' });
  assert.deepEqual(parseRoute('#/nowhere/x'), { screen: 'devices' });
  const id = 'a b/ü';
  assert.deepEqual(parseRoute(href({ screen: 'device', id })), { screen: 'device', id });
  assert.equal(href({ screen: 'devices' }), '#/devices');
});

test('ago and valueText', () => {
  const now = 1_000_000_000;
  assert.equal(ago(null, now), 'never');
  assert.equal(ago(now - 12_000, now), '12 s ago');
  assert.equal(ago(now - 5 * 60_000, now), '5 min ago');
  assert.equal(ago(now - 3 * 3_600_000, now), '3 h ago');
  assert.equal(ago(now + 5000, now), '0 s ago', 'a clock ahead of the browser is not in the future');
  assert.equal(valueText(21.5), '21.5');
  assert.equal(valueText(1 / 3), '0.333333');
  assert.equal(valueText(false), 'false');
  assert.equal(valueText({ a: 1 }), '{"a":1}');
});

// The console's logic that needs no browser: the live latest-values reducer, hash routes, relative times.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ago, valueText } from './format';
import { emptyAttributes, foldAttributes, foldLatest, parseValue } from './latest';
import { href, parseRoute } from './route';
import { appendLive, queryFor, queryString, rawLimit, toColumns } from './series';

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

test('foldAttributes: a scope is set, changed and deleted key by key; the others stay; parseValue reads JSON or keeps the text', () => {
  let a = foldAttributes(emptyAttributes, {
    scope: 'shared',
    updated: { target: { value: 21, updatedAt: 1 }, mode: { value: 'auto', updatedAt: 1 } },
    deleted: [],
  });
  a = foldAttributes(a, { scope: 'client', updated: { fw: { value: '1.2', updatedAt: 2 } }, deleted: [] });
  a = foldAttributes(a, { scope: 'shared', updated: { target: { value: 22, updatedAt: 3 } }, deleted: ['mode'] });
  assert.deepEqual(a.shared, { target: { value: 22, updatedAt: 3 } });
  assert.deepEqual(a.client, { fw: { value: '1.2', updatedAt: 2 } });
  assert.deepEqual(emptyAttributes, { client: {}, server: {}, shared: {} }, 'the empty value is not changed');
  assert.equal(parseValue(' 21 '), 21);
  assert.equal(parseValue('true'), true);
  assert.equal(parseValue('on'), 'on');
  assert.equal(parseValue('"21"'), '21');
  assert.deepEqual(parseValue('{"a":1}'), { a: 1 });
});

test('series: raw values up to an hour, server averages into about 600 buckets beyond; columns share one sorted time axis', () => {
  const now = 1_767_225_600_000;
  assert.deepEqual(queryFor(15 * 60_000, now), { from: now - 900_000, to: now + 1, agg: 'none', interval: null, limit: rawLimit });
  const year = queryFor(365 * 86_400_000, now);
  assert.equal(year.agg, 'avg');
  assert.ok(
    year.interval !== null && (365 * 86_400_000) / year.interval <= 600 && year.interval % 1000 === 0,
    `a year in at most 600 whole-second buckets: ${year.interval}`,
  );
  assert.ok(year.limit >= (365 * 86_400_000) / year.interval, 'the limit covers every bucket');
  assert.equal(queryString('d 1', ['t', 'h'], year).startsWith('/api/devices/d%201/telemetry?keys=t%2Ch&'), true);
  const cols = toColumns(
    {
      t: [
        { ts: 2000, value: 1 },
        { ts: 1000, value: 2 },
      ],
      h: [
        { ts: 1000, value: true },
        { ts: 3000, value: 'x' },
      ],
    },
    ['t', 'h'],
  );
  assert.deepEqual(cols, [
    [1, 2, 3],
    [2, 1, null],
    [1, null, null],
  ]);
  const live = appendLive(
    {
      t: [
        { ts: 1000, value: 1 },
        { ts: 5000, value: 2 },
      ],
    },
    { t: { ts: 6000, value: 3 }, other: { ts: 6000, value: 9 } },
    2000,
  );
  assert.deepEqual(
    live,
    {
      t: [
        { ts: 5000, value: 2 },
        { ts: 6000, value: 3 },
      ],
    },
    'appended, the expired point dropped, an uncharted key ignored',
  );
  const same = { t: [{ ts: 6000, value: 3 }] };
  assert.equal(appendLive(same, { t: { ts: 6000, value: 3 } }, 0), same, 'a value already held changes nothing');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '@thingstead/core';
import { listening, Readiness } from './readiness';

test('ready only when every check says ok; a failing, throwing or hanging check is named with why', async () => {
  const r = new Readiness(systemClock);
  r.add('database', async () => 'ok');
  r.add('http', listening({ listening: true }));
  assert.deepEqual(await r.run(), { ready: true, checks: { database: 'ok', http: 'ok' } });

  r.add('mqtt', listening({ listening: false }));
  r.add('store', () => {
    throw new Error('the database is open read-only');
  });
  r.add('stuck', () => new Promise<string>(() => undefined));
  const started = Date.now();
  const report = await r.run();
  assert.ok(Date.now() - started < 3000, 'a hung check is cut off');
  assert.equal(report.ready, false);
  assert.deepEqual(report.checks, {
    database: 'ok',
    http: 'ok',
    mqtt: 'not listening',
    store: 'the database is open read-only',
    stuck: 'no answer within 2000 ms',
  });
});

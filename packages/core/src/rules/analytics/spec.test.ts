import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyticTypes, validateAnalyticSpec } from './index';

const at = '/analytics/score';

test('valid specs of every type have no problems', () => {
  const valid: unknown[] = [
    { type: 'window', key: 'temperature', windowMs: 60_000, fn: 'avg' },
    { type: 'ewma', key: 't', halfLifeMs: 1000 },
    { type: 'zscore', key: 't', windowMs: 604_800_000 },
    { type: 'ewma-anomaly', key: 't', halfLifeMs: 604_800_000 },
    { type: 'rate', key: 't', windowMs: 1000 },
    { type: 'rate', key: 't', windowMs: 1000, perMs: 1 },
    { type: 'forecast', key: 't', windowMs: 60_000, horizonMs: 0 },
    { type: 'until', key: 't', windowMs: 60_000, threshold: -3.5 },
  ];
  for (const spec of valid) assert.deepEqual(validateAnalyticSpec(spec, at), [], JSON.stringify(spec));
  assert.deepEqual(new Set(valid.map((s) => (s as { type: string }).type)), new Set(analyticTypes));
});

test('each bad field is named with its JSON pointer and what it must be', () => {
  const cases: [unknown, { path: string; message: string }[]][] = [
    [null, [{ path: at, message: 'must be an object' }]],
    [[1], [{ path: at, message: 'must be an object' }]],
    [{ key: 't' }, [{ path: `${at}/type`, message: `must be one of ${analyticTypes.join(', ')}` }]],
    [{ type: 'median', key: 't' }, [{ path: `${at}/type`, message: `must be one of ${analyticTypes.join(', ')}` }]],
    [{ type: 'window', key: 't', windowMs: 999, fn: 'avg' }, [{ path: `${at}/windowMs`, message: 'must be an integer between 1000 and 604800000' }]],
    [{ type: 'window', key: 't', windowMs: 604_800_001, fn: 'avg' }, [{ path: `${at}/windowMs`, message: 'must be an integer between 1000 and 604800000' }]],
    [{ type: 'zscore', key: 't', windowMs: 1500.5 }, [{ path: `${at}/windowMs`, message: 'must be an integer between 1000 and 604800000' }]],
    [{ type: 'window', key: 't', windowMs: '60000', fn: 'avg' }, [{ path: `${at}/windowMs`, message: 'must be an integer between 1000 and 604800000' }]],
    [
      { type: 'window', key: 't', windowMs: 60_000, fn: 'median' },
      [{ path: `${at}/fn`, message: 'must be one of avg, min, max, sum, count, delta, first, last, stddev' }],
    ],
    [{ type: 'window', key: 't', windowMs: 60_000 }, [{ path: `${at}/fn`, message: 'is required for type window' }]],
    [{ type: 'ewma', key: 't', halfLifeMs: 0 }, [{ path: `${at}/halfLifeMs`, message: 'must be an integer between 1000 and 604800000' }]],
    [{ type: 'ewma-anomaly', key: 't' }, [{ path: `${at}/halfLifeMs`, message: 'is required for type ewma-anomaly' }]],
    [{ type: 'rate', key: 't', windowMs: 60_000, perMs: 0 }, [{ path: `${at}/perMs`, message: 'must be an integer between 1 and 604800000' }]],
    [{ type: 'forecast', key: 't', windowMs: 60_000, horizonMs: -1 }, [{ path: `${at}/horizonMs`, message: 'must be an integer between 0 and 604800000' }]],
    [{ type: 'until', key: 't', windowMs: 60_000, threshold: 'high' }, [{ path: `${at}/threshold`, message: 'must be a finite number' }]],
    [{ type: 'until', key: 't', windowMs: 60_000 }, [{ path: `${at}/threshold`, message: 'is required for type until' }]],
    [{ type: 'ewma', key: '', halfLifeMs: 1000 }, [{ path: `${at}/key`, message: 'keys must not be empty' }]],
    [{ type: 'ewma', key: 7, halfLifeMs: 1000 }, [{ path: `${at}/key`, message: 'must be a string (a telemetry key)' }]],
    [{ type: 'ewma', key: 'a\u0001', halfLifeMs: 1000 }, [{ path: `${at}/key`, message: 'keys must not contain control characters' }]],
    [{ type: 'ewma', key: 'x'.repeat(1025), halfLifeMs: 1000 }, [{ path: `${at}/key`, message: 'key is longer than 1024 characters' }]],
    [
      { type: 'ewma', key: 't', halfLifeMs: 1000, windowMs: 60_000, toString: 1 },
      [
        { path: `${at}/windowMs`, message: 'is not a field of type ewma' },
        { path: `${at}/toString`, message: 'is not a field of type ewma' },
      ],
    ],
    [
      { type: 'forecast', windowMs: 10, horizonMs: 1.5 },
      [
        { path: `${at}/key`, message: 'is required for type forecast' },
        { path: `${at}/windowMs`, message: 'must be an integer between 1000 and 604800000' },
        { path: `${at}/horizonMs`, message: 'must be an integer between 0 and 604800000' },
      ],
    ],
  ];
  for (const [spec, problems] of cases) assert.deepEqual(validateAnalyticSpec(spec, at), problems, JSON.stringify(spec));
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderConfigDoc, renderErrorsDoc, renderMetricsDoc } from './reference-docs';

const root = new URL('../../../../', import.meta.url);

test('docs/reference/config.md, errors.md and metrics.md match the schema, the catalogue and the metrics (run `npm run docs`)', () => {
  assert.equal(readFileSync(new URL('docs/reference/config.md', root), 'utf8'), renderConfigDoc());
  assert.equal(readFileSync(new URL('docs/reference/errors.md', root), 'utf8'), renderErrorsDoc());
  assert.equal(readFileSync(new URL('docs/reference/metrics.md', root), 'utf8'), renderMetricsDoc());
});

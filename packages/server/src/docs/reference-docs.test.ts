import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderConfigDoc, renderErrorsDoc } from './reference-docs';

const root = new URL('../../../../', import.meta.url);

test('docs/reference/config.md and errors.md match the schema and the catalogue (run `npm run docs`)', () => {
  assert.equal(readFileSync(new URL('docs/reference/config.md', root), 'utf8'), renderConfigDoc());
  assert.equal(readFileSync(new URL('docs/reference/errors.md', root), 'utf8'), renderErrorsDoc());
});

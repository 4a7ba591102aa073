// Writes the generated reference pages: npm run docs
import { writeFileSync } from 'node:fs';
import { renderConfigDoc, renderErrorsDoc } from '../packages/server/src/docs/reference-docs';

const root = new URL('..', import.meta.url);
writeFileSync(new URL('docs/reference/config.md', root), renderConfigDoc());
writeFileSync(new URL('docs/reference/errors.md', root), renderErrorsDoc());
console.log('wrote docs/reference/config.md and docs/reference/errors.md');

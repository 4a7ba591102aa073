// Writes the generated reference pages: npm run docs
import { writeFileSync } from 'node:fs';
import { renderConfigDoc, renderErrorsDoc, renderMetricsDoc } from '../packages/server/src/docs/reference-docs';

const root = new URL('..', import.meta.url);
writeFileSync(new URL('docs/reference/config.md', root), renderConfigDoc());
writeFileSync(new URL('docs/reference/errors.md', root), renderErrorsDoc());
writeFileSync(new URL('docs/reference/metrics.md', root), renderMetricsDoc());
console.log('wrote docs/reference/config.md, errors.md and metrics.md');
